"""Settings from the environment and an optional .env file, validated when they are built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import BotError

__all__ = ["MissingTokenError", "Settings"]


class MissingTokenError(BotError):
    """No bot token was configured."""

    def __init__(self) -> None:
        super().__init__(
            "TELEGRAM_BOT_TOKEN is not set.\n"
            "  1. Open Telegram, talk to @BotFather, send /newbot and follow its questions.\n"
            "  2. Put the token it gives you in a .env file here: TELEGRAM_BOT_TOKEN=123456:ABC...\n"
            "     (or export it in your shell), then run `esim-bot run` again.\n"
            "To try the flow without Telegram, run `esim-bot console`."
        )


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org", validation_alias="TELEGRAM_API_URL")
    database: str = Field(default="data/esim-bot.sqlite3", validation_alias="BOT_DATABASE")
    """``postgresql://user@host/db`` for PostgreSQL; otherwise an SQLite file (a path or ``sqlite:///path``)."""
    flows_dir: Path = Field(default=Path("flows"), validation_alias="BOT_FLOWS_DIR")
    locales_dir: Path = Field(default=Path("locales"), validation_alias="BOT_LOCALES_DIR")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias="BOT_ADMIN_IDS"
    )
    support_chat_id: int | None = Field(default=None, validation_alias="BOT_SUPPORT_CHAT_ID")
    """The operators' group where people's questions go; nothing of asking a person shows without it."""
    support_operator_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias="BOT_SUPPORT_OPERATOR_IDS"
    )
    """Who in the support chat may answer people (by their Telegram user id)."""
    support_language: str | None = Field(default=None, validation_alias="BOT_SUPPORT_LANGUAGE")
    """The language the bot speaks in the support chat (default: the flow's default language)."""
    idle_days: int = Field(default=180, ge=1, validation_alias="BOT_IDLE_DAYS")
    max_messages_per_second: float = Field(default=28.8, ge=0, validation_alias="BOT_MAX_MESSAGES_PER_SECOND")
    concurrent_updates: int = Field(default=64, ge=1, le=4096, validation_alias="BOT_CONCURRENT_UPDATES")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="BOT_WEBHOOK_SECRET")
    """The secret Telegram sends with every webhook call; or ``webhook_secret_file``, never the command line."""
    webhook_secret_file: Path | None = Field(default=None, validation_alias="BOT_WEBHOOK_SECRET_FILE")
    """A file holding the webhook secret (a Docker or systemd secret), read at start."""
    watch_files: bool = Field(default=True, validation_alias="BOT_WATCH_FILES")
    """Reload the flow and texts when their files change (SIGHUP and `esim-bot reload` work either way)."""
    # For tests and benchmarks only: moves a running bot's clock (see bot/fileclock.py).
    clock_file: Path | None = Field(default=None, validation_alias="BOT_CLOCK_FILE")

    @field_validator("telegram_api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("database", mode="before")
    @classmethod
    def _database_text(cls, value: object) -> object:
        # A path stays a string: a URL read as a Path would lose the second slash of "postgresql://".
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("admin_ids", "support_operator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(",", " ").split())
        if isinstance(value, int):
            return frozenset({value})
        return value

    def given(self, name: str) -> bool:
        """Tells whether the setting ``name`` was given (environment or .env) rather than left at its default."""
        return name in self.model_fields_set

    def token(self) -> str:
        """Returns the bot token, or raises MissingTokenError with instructions."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise MissingTokenError
        return self.telegram_bot_token.get_secret_value().strip()
