"""The whole bot, run in this process as `esim-bot run` runs it, behind a webhook or polling the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FakeClock
from bot.settings import Settings
from bot.store import SqliteStore
from bot.telegram.app import ALLOWED_UPDATES, TelegramBot, build_bot, load_default_flow
from bot.telegram.kept import InboxCopy
from bot.telegram.lifecycle import UpdateSource, run_application
from bot.telegram.webhook import Webhook, WebhookLimits
from testkit import FakeBotApi
from tests.e2e.process import ROOT, free_port

SECRET = "s3cret-for-the-webhook"
# Noon in Nouméa: outside quiet hours.
NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def settings_for(api: FakeBotApi, folder: Path) -> Settings:
    """Settings as an operator would give them, pointing at the fake API and a fresh database."""
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=folder / "bot.sqlite3",
        BOT_FLOWS_DIR=ROOT / "flows",
        BOT_LOCALES_DIR=ROOT / "locales",
        BOT_WATCH_FILES=False,
    )


@dataclass(frozen=True, slots=True)
class Running:
    """A bot running in this process: its parts, and where its webhook listens (if it has one)."""

    bot: TelegramBot
    port: int
    database: Path

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def kept(self) -> list[dict[str, object]]:
        """Returns what the inbox holds right now, read through a store of its own."""
        async with SqliteStore(self.database) as store:
            return [dict(update.payload) for update in await store.inbox_pending(100)]


@contextlib.asynccontextmanager
async def running(
    api: FakeBotApi, folder: Path, *, webhook: bool = False, limits: WebhookLimits | None = None
) -> AsyncIterator[Running]:
    """Runs the bot until the block ends: polling, or behind a webhook on 127.0.0.1 with SECRET."""
    settings = settings_for(api, folder)
    built = build_bot(settings, load_default_flow(settings), FakeClock(NOON_IN_NOUMEA))
    port = free_port()
    hook = None
    if webhook:
        url = f"http://127.0.0.1:{port}/telegram"
        hook = Webhook(url, "127.0.0.1", port, SECRET, limits or WebhookLimits())
    source = UpdateSource(
        api_url=settings.telegram_api_url,
        store=built.runtime.store,
        holder="test",
        allowed_updates=ALLOWED_UPDATES,
        inbox_copy=InboxCopy(built.application, built.runtime.service),
        webhook=hook,
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(run_application(built.application, source, stopping))
    try:
        await api.wait_for_call("setWebhook" if webhook else "deleteWebhook", timeout=20)
        yield Running(built, port, folder / "bot.sqlite3")
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=40)
