"""A reminder that falls due for a chat whose reminders are stopped (claimed just before /stop, or by another
instance) is kept as it was, unsent, and does not turn reminders back on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import CommandSent
from bot.runtime.service import ChatService
from bot.store import SqliteStore
from tests.runtime.test_service import NOON_IN_NOUMEA, waiting_for_the_email

CHAT = 21


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def test_a_reminder_falling_due_after_stop_is_kept_unsent_and_reminders_stay_off(
    default_bundle: FlowBundle, store: SqliteStore
) -> None:
    clock = FakeClock(NOON_IN_NOUMEA)
    service = ChatService(FlowEngine(default_bundle), store, clock)
    await waiting_for_the_email(service, store, CHAT)
    (claimed,) = await store.reminders_of(CHAT)
    await service.handle(CommandSent(CHAT, command="stop"))
    clock.advance(timedelta(days=1, minutes=1))

    assert await service.reminder_due(claimed) == (), "nothing sent"

    (kept,) = await store.reminders_of(CHAT)
    assert (kept.name, kept.due_at, kept.sequence) == (claimed.name, claimed.due_at, claimed.sequence)
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.settings.reminders_stopped
