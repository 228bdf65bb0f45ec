"""Two processes serving one chat at the same time: each update is applied on top of the other's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import ButtonPressed, CommandSent
from bot.runtime.service import ChatService
from bot.store import Commit, OutboxMessage, SqliteStore

NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CHAT = 5


class SlowReader(SqliteStore):
    """A store whose next commit is preceded by ``meanwhile``: another process's update lands between the
    first process's read of the chat (a load, or the record it kept of its own last commit) and its commit."""

    meanwhile: Callable[[], Awaitable[object]] | None = None

    async def commit(self, commit: Commit, now: datetime) -> list[OutboxMessage]:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            await meanwhile()
        return await super().commit(commit, now)


@pytest.fixture
async def processes(
    tmp_path: Path, default_bundle: FlowBundle
) -> AsyncIterator[tuple[ChatService, ChatService, SlowReader]]:
    clock = FakeClock(NOON_IN_NOUMEA)
    async with SlowReader(tmp_path / "bot.sqlite3") as slow, SqliteStore(tmp_path / "bot.sqlite3") as other:
        engine = FlowEngine(default_bundle)
        yield ChatService(engine, slow, clock), ChatService(engine, other, clock), slow


async def test_an_update_landing_between_load_and_commit_is_not_overwritten(
    processes: tuple[ChatService, ChatService, SlowReader],
) -> None:
    first, second, slow_store = processes
    start = await first.handle(CommandSent(CHAT, update_id=1, command="start"))
    lets_start = start.messages[0].message.rows[0][0].data
    assert lets_start is not None
    # The first process reads the chat for /stop (the record it kept of /start); the second applies the
    # button press meanwhile.
    slow_store.meanwhile = lambda: second.handle(
        ButtonPressed(CHAT, update_id=2, data=lets_start, message_id=1)
    )

    stopped = await first.handle(CommandSent(CHAT, update_id=3, command="stop"))

    assert slow_store.meanwhile is None
    assert stopped.messages
    record = await second.store.load_chat(CHAT)
    assert record is not None
    assert record.settings.reminders_stopped
    assert record.conversation is not None
    assert record.conversation.state == "identify"  # the press, applied before /stop, was kept
