"""The chats a process keeps as it left them (bot/runtime/recent.py): always the stored row, and bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import ButtonPressed, CommandSent, Incoming, MessageSent
from bot.runtime.recent import RecentChats
from bot.runtime.service import ChatService, Reply
from bot.store import ChatRecord, SqliteStore, UserSettings

NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CHAT = 77


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


class Walk:
    """One person's events, each reply delivered as the edge delivers it (a new message gets a new id)."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.update_id = 0
        self.message_id = 100
        self.last = Reply()

    async def send(self, incoming: Incoming) -> Reply:
        self.last = await self.service.handle(incoming)
        for queued in self.last.messages:
            self.message_id += 1
            edited = queued.message.edit
            await self.service.outbox.delivered(queued, self.message_id if edited is None else edited)
        return self.last

    def next_id(self) -> int:
        self.update_id += 1
        return self.update_id

    async def command(self, command: str, argument: str = "") -> Reply:
        return await self.send(CommandSent(CHAT, command, argument, update_id=self.next_id()))

    async def press_first(self) -> Reply:
        for queued in reversed(self.last.messages):
            if queued.message.rows:
                data = queued.message.rows[0][0].data or ""
                return await self.send(ButtonPressed(CHAT, data, self.message_id, update_id=self.next_id()))
        raise AssertionError("no button to press")

    async def typed(self, text: str) -> Reply:
        return await self.send(MessageSent(CHAT, text, update_id=self.next_id()))


async def test_what_the_service_keeps_is_the_stored_row_after_every_kind_of_event(
    default_bundle: FlowBundle, store: SqliteStore
) -> None:
    service = ChatService(FlowEngine(default_bundle), store, FakeClock(NOON_IN_NOUMEA))
    walk = Walk(service)
    steps: list[Callable[[], Awaitable[Reply]]] = [
        lambda: walk.command("start"),
        walk.press_first,
        walk.press_first,
        lambda: walk.typed("hello?"),
        walk.press_first,
        lambda: walk.command("timezone", "Paris"),
        lambda: walk.command("status"),
        lambda: walk.command("stop"),
        lambda: walk.command("language"),
        walk.press_first,
        lambda: walk.command("restart"),
        walk.press_first,
        lambda: walk.command("start"),
    ]
    kept_before_a_step = 0
    for step in steps:
        kept_before_a_step += service.recent.get(CHAT) is not None
        await step()
        kept = service.recent.get(CHAT)
        assert kept is not None, "every event above leaves the chat kept"
        assert kept == await store.load_chat(CHAT)
    assert kept_before_a_step == len(steps) - 1  # each event but the first found the chat kept: no load


async def test_a_forgotten_chat_is_not_kept(default_bundle: FlowBundle, store: SqliteStore) -> None:
    service = ChatService(FlowEngine(default_bundle), store, FakeClock(NOON_IN_NOUMEA))
    walk = Walk(service)
    await walk.command("start")
    await walk.command("forget")
    await walk.press_first()  # "Yes, delete it all"

    assert await store.load_chat(CHAT) is None
    assert service.recent.get(CHAT) is None
    await walk.command("start")
    assert service.recent.get(CHAT) == await store.load_chat(CHAT)


def record(chat_id: int) -> ChatRecord:
    return ChatRecord(UserSettings(chat_id, "en"), None, None, NOON_IN_NOUMEA, None, 1)


def test_the_least_recently_used_chats_go_first() -> None:
    recent = RecentChats(size=2)
    for chat_id in (1, 2):
        recent.loaded(chat_id, record(chat_id))
    assert recent.get(1) is not None  # 1 is now the most recently used
    recent.loaded(3, record(3))

    assert len(recent) == 2
    assert recent.get(2) is None
    assert recent.get(1) == record(1)
    assert recent.get(3) == record(3)


def test_a_size_of_zero_keeps_nothing() -> None:
    recent = RecentChats(size=0)
    recent.loaded(1, record(1))
    assert recent.get(1) is None
    assert len(recent) == 0
