"""The real python-telegram-bot Application against the fake Bot API on 127.0.0.1, with a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling

ROOT = Path(__file__).resolve().parents[2]
# 12:00 in Nouméa: outside quiet hours, so reminders are not shifted unless a test wants them to be.
NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on loopback."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    """The bot's clock, moved only by the test."""
    return FakeClock(NOON_IN_NOUMEA)


@pytest.fixture
def settings(api: FakeBotApi, tmp_path: Path) -> Settings:
    """Settings as an operator would give them, pointing at the fake API and a fresh database."""
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=tmp_path / "bot.sqlite3",
        BOT_FLOWS_DIR=ROOT / "flows",
        BOT_LOCALES_DIR=ROOT / "locales",
    )


@pytest.fixture
async def running_bot(settings: Settings, clock: FakeClock) -> AsyncIterator[None]:
    """The whole bot, long polling the fake API."""
    application = build_bot(settings, load_default_flow(settings), clock).application
    async with polling(application):
        yield


async def nothing_more_happens() -> None:
    """Gives the bot a moment to act on what just happened, for a test that checks it sent nothing."""
    await asyncio.sleep(0.2)
