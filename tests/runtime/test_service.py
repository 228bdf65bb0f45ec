"""The application core on its own: one transaction per update, dedupe, outbox after a crash, purge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.service import ChatService, Incoming, Kind, choose_language
from bot.store import SqliteStore

NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON_IN_NOUMEA)


@pytest.fixture
def service(default_bundle: FlowBundle, store: SqliteStore, clock: FakeClock) -> ChatService:
    return ChatService(FlowEngine(default_bundle), store, clock)


def first_button(payload: object) -> str:
    assert isinstance(payload, dict) or hasattr(payload, "get")
    rows = payload["rows"]  # type: ignore[index]
    return str(rows[0][0][2])


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("zh-hans", "zh-Hans"),
        ("zh-TW", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("fr-CA", "fr"),
        ("de", "en"),
        (None, "en"),
    ],
)
def test_the_language_follows_telegrams_language_code(code: str | None, language: str) -> None:
    assert choose_language(code, ("en", "fr", "zh-Hans")) == language


async def test_a_redelivered_update_is_applied_once(service: ChatService, store: SqliteStore) -> None:
    start = await service.handle(Incoming(1, Kind.COMMAND, update_id=10, command="start"))
    data = first_button(start.messages[0].payload)
    press = Incoming(1, Kind.BUTTON, update_id=11, data=data, message_id=5)
    first = await service.handle(press)
    again = await service.handle(press)
    assert first.messages
    assert again.messages == ()
    record = await store.load_chat(1)
    assert record is not None
    assert record.conversation is not None
    assert record.conversation.state == "identify"


async def test_a_message_committed_but_not_sent_is_still_there_after_a_crash(
    service: ChatService, store: SqliteStore, tmp_path: Path
) -> None:
    reply = await service.handle(Incoming(2, Kind.COMMAND, update_id=20, command="start"))
    await store.close()
    async with SqliteStore(tmp_path / "bot.sqlite3") as reopened:
        pending = await reopened.pending_outbox(10)
    assert [m.id for m in pending] == [m.id for m in reply.messages]


async def test_delivered_messages_leave_the_outbox_and_the_screen_is_remembered(
    service: ChatService, store: SqliteStore
) -> None:
    reply = await service.handle(Incoming(3, Kind.COMMAND, update_id=30, command="start"))
    await service.delivered(reply.messages[0], 77)
    assert await store.pending_outbox(10) == []
    record = await store.load_chat(3)
    assert record is not None
    assert record.screen_message_id == 77


async def test_a_press_on_the_screen_message_edits_it(service: ChatService) -> None:
    reply = await service.handle(Incoming(4, Kind.COMMAND, command="start"))
    await service.delivered(reply.messages[0], 90)
    press = await service.handle(
        Incoming(4, Kind.BUTTON, data=first_button(reply.messages[0].payload), message_id=90)
    )
    assert press.messages[0].payload["edit"] == 90


async def test_typed_text_is_never_stored(service: ChatService, store: SqliteStore, tmp_path: Path) -> None:
    await service.handle(Incoming(5, Kind.COMMAND, command="start"))
    await service.handle(Incoming(5, Kind.OTHER, update_id=51))
    await service.handle(Incoming(5, Kind.COMMAND, command="timezone", argument="my secret is hunter2"))
    await store.close()
    assert b"hunter2" not in (tmp_path / "bot.sqlite3").read_bytes()


async def test_idle_conversations_are_purged(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await service.handle(Incoming(6, Kind.COMMAND, command="start"))
    clock.advance(timedelta(days=10))
    await service.handle(Incoming(7, Kind.COMMAND, command="start"))
    purged, _expired = await service.housekeeping(timedelta(days=5))
    assert purged == 1
    assert await store.load_chat(6) is None
    assert await store.load_chat(7) is not None


async def press_label(service: ChatService, store: SqliteStore, chat_id: int, label: str) -> None:
    """Presses the button whose label contains ``label`` on the chat's current screen."""
    record = await store.load_chat(chat_id)
    assert record is not None
    assert record.conversation is not None
    screen = service.engine.render(record.conversation)
    data = next(b.data for row in screen.rows for b in row if b.data and label in b.label)
    await service.handle(Incoming(chat_id, Kind.BUTTON, data=data))


async def waiting_for_the_email(service: ChatService, store: SqliteStore, chat_id: int) -> None:
    """Walks a chat (home carrier) to the waiting screen, where the first reminder is scheduled."""
    await service.handle(Incoming(chat_id, Kind.COMMAND, command="start", argument="home"))
    for label in ("Let's start", "End the line", "Next", "submitted"):
        await press_label(service, store, chat_id, label)


async def test_a_reminder_for_a_conversation_that_moved_on_is_dropped_silently(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await waiting_for_the_email(service, store, 8)
    (reminder,) = await store.reminders_of(8)
    await service.handle(Incoming(8, Kind.COMMAND, command="restart"))
    assert await store.reminders_of(8) == []
    clock.advance(timedelta(days=2))
    assert await service.reminder_due(reminder) == ()


async def test_after_a_long_pause_the_next_screen_is_a_new_message(
    service: ChatService, clock: FakeClock
) -> None:
    reply = await service.handle(Incoming(9, Kind.COMMAND, command="start"))
    await service.delivered(reply.messages[0], 90)
    clock.advance(timedelta(days=2))
    press = await service.handle(
        Incoming(9, Kind.BUTTON, data=first_button(reply.messages[0].payload), message_id=90)
    )
    assert "edit" not in press.messages[0].payload


async def test_a_reminder_that_fell_due_overnight_waits_for_the_morning(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await waiting_for_the_email(service, store, 10)
    (reminder,) = await store.reminders_of(10)
    # The bot was down; it comes back at 03:00 in Nouméa (16:00 UTC), long after the reminder fell due.
    clock.set(datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
    assert await service.reminder_due(reminder) == ()
    (postponed,) = await store.reminders_of(10)
    assert postponed.due_at == datetime(2026, 11, 26, 21, 0, tzinfo=UTC)  # 08:00 in Nouméa
    assert postponed.sequence == reminder.sequence
