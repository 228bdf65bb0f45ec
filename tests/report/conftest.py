"""A database of the shipped flow with a crowd in it, which the esim-bot command reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.flows import FlowBundle, load_flows
from bot.runtime.texts import UI_TEXTS
from bot.store import Relay, SqliteStore
from bot.telegram.app import TELEGRAM_LIMITS
from tests.report.crowd import crowd_database

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 160


@pytest.fixture(scope="session")
def bundle() -> FlowBundle:
    """The shipped flow and its texts."""
    return load_flows(ROOT / "flows", ROOT / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)[
        "cancel_esim"
    ]


async def questions(path: Path, asked: datetime) -> None:
    """Three people asked a person: one was answered, one is closed, one waits; an older one is closed."""
    async with SqliteStore(path) as store:
        first, second, _waiting = [await store.open_ticket(chat, "fr", asked) for chat in (1, 2, 3)]
        await store.relay(first.id, Relay.ANSWER, 10, asked + timedelta(hours=2))
        await store.close_ticket(second.id, asked + timedelta(hours=5))
        old = await store.open_ticket(4, "en", asked - timedelta(days=60))
        await store.close_ticket(old.id, asked - timedelta(days=59))


@pytest.fixture(scope="session")
def crowded(tmp_path_factory: pytest.TempPathFactory, bundle: FlowBundle) -> Path:
    """A database where a crowd walked the shipped flow over the last three weeks, and asked questions."""
    path = tmp_path_factory.mktemp("crowd") / "bot.sqlite3"
    now = datetime.now(UTC)
    asyncio.run(crowd_database(path, bundle, now - timedelta(days=21), PEOPLE))
    asyncio.run(questions(path, now - timedelta(days=3, hours=4)))
    return path


@pytest.fixture
def database(crowded: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points the esim-bot command at the crowded database and the shipped flow."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("BOT_DATABASE", str(crowded))
    monkeypatch.delenv("BOT_FLOWS_DIR", raising=False)
    monkeypatch.delenv("BOT_LOCALES_DIR", raising=False)
    return crowded
