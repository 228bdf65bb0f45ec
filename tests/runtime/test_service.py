"""The application core on its own: one transaction per update, dedupe, outbox after a crash, purge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.callbacks import ReminderAnswer, ReminderPress, decode, encode
from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.commands import COMMAND_UNITS
from bot.runtime.commit import unstored
from bot.runtime.events import ButtonPressed, CommandSent, MessageSent
from bot.runtime.messages import QueuedMessage
from bot.runtime.service import ChatService, choose_language
from bot.runtime.texts import COMMANDS
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


def first_button(queued: QueuedMessage) -> str:
    """Returns the callback data of the first button of a message."""
    data = queued.message.rows[0][0].data
    assert data is not None
    return data


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
def test_the_language_follows_telegrams_language_code(
    code: str | None, language: str, default_bundle: FlowBundle
) -> None:
    assert choose_language(code, default_bundle.languages) == language


async def test_a_redelivered_update_is_applied_once(service: ChatService, store: SqliteStore) -> None:
    start = await service.handle(CommandSent(1, update_id=10, command="start"))
    data = first_button(start.messages[0])
    press = ButtonPressed(1, update_id=11, data=data, message_id=5)
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
    reply = await service.handle(CommandSent(2, update_id=20, command="start"))
    await store.close()
    async with SqliteStore(tmp_path / "bot.sqlite3") as reopened:
        pending = await reopened.pending_outbox(10)
    assert [m.id for m in pending] == [m.outbox_id for m in reply.messages]


async def test_delivered_messages_leave_the_outbox_and_the_screen_is_remembered(
    service: ChatService, store: SqliteStore
) -> None:
    reply = await service.handle(CommandSent(3, update_id=30, command="start"))
    await service.outbox.delivered(reply.messages[0], 77)
    assert await store.pending_outbox(10) == []
    record = await store.load_chat(3)
    assert record is not None
    assert record.screen_message_id == 77


async def test_a_press_on_the_screen_message_edits_it(service: ChatService) -> None:
    reply = await service.handle(CommandSent(4, command="start"))
    await service.outbox.delivered(reply.messages[0], 90)
    press = await service.handle(ButtonPressed(4, data=first_button(reply.messages[0]), message_id=90))
    assert press.messages[0].message.edit == 90


async def test_typed_text_is_never_stored(service: ChatService, store: SqliteStore, tmp_path: Path) -> None:
    await service.handle(CommandSent(5, command="start"))
    await service.handle(MessageSent(5, update_id=51))
    await service.handle(CommandSent(5, command="timezone", argument="my secret is hunter2"))
    await store.close()
    assert b"hunter2" not in (tmp_path / "bot.sqlite3").read_bytes()


async def test_idle_conversations_are_purged(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await service.handle(CommandSent(6, command="start"))
    clock.advance(timedelta(days=10))
    await service.handle(CommandSent(7, command="start"))
    purged, _expired = await service.housekeeping(timedelta(days=5))
    assert purged == 1
    assert await store.load_chat(6) is None
    assert await store.load_chat(7) is not None


async def press_label(service: ChatService, store: SqliteStore, chat_id: int, label: str) -> None:
    """Presses the button whose label contains ``label`` on the chat's current screen."""
    record = await store.load_chat(chat_id)
    assert record is not None
    assert record.conversation is not None
    screen = service.engine.renderer.render(unstored(record.conversation))
    data = next(encode(b.press) for row in screen.rows for b in row if b.press and label in b.label)
    await service.handle(ButtonPressed(chat_id, data=data))


async def waiting_for_the_email(service: ChatService, store: SqliteStore, chat_id: int) -> None:
    """Walks a chat (home carrier) to the waiting screen, where the first reminder is scheduled."""
    await service.handle(CommandSent(chat_id, command="start", argument="home"))
    for label in ("Let's start", "End the line", "Next", "submitted"):
        await press_label(service, store, chat_id, label)


async def test_a_reminder_for_a_conversation_that_moved_on_is_dropped_silently(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await waiting_for_the_email(service, store, 8)
    (reminder,) = await store.reminders_of(8)
    asked = await service.handle(CommandSent(8, command="restart"))
    assert await store.reminders_of(8) != [], "/restart asks before dropping a pending reminder"
    (question,) = [q for q in asked.messages if q.message.rows]
    (yes,) = [
        b.data for row in question.message.rows for b in row if b.data and b.data.startswith("over|new")
    ]
    await service.outbox.delivered(question, 80)
    await service.handle(ButtonPressed(8, data=yes, message_id=80))
    assert await store.reminders_of(8) == []
    clock.advance(timedelta(days=2))
    assert await service.reminder_due(reminder) == ()


async def test_after_a_long_pause_the_next_screen_is_a_new_message(
    service: ChatService, clock: FakeClock
) -> None:
    reply = await service.handle(CommandSent(9, command="start"))
    await service.outbox.delivered(reply.messages[0], 90)
    clock.advance(timedelta(days=2))
    press = await service.handle(ButtonPressed(9, data=first_button(reply.messages[0]), message_id=90))
    (screen,) = [queued.message for queued in press.messages if queued.message.shows_screen]
    assert screen.edit is None
    assert [queued.message.edit for queued in press.messages if queued.message.strip] == [90]


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


def test_every_menu_command_has_its_unit() -> None:
    assert set(COMMAND_UNITS) == set(COMMANDS)


async def test_the_time_zone_prompt_is_understood_by_another_process(
    service: ChatService, default_bundle: FlowBundle, clock: FakeClock, tmp_path: Path
) -> None:
    await service.handle(CommandSent(11, command="start"))
    await service.handle(CommandSent(11, command="timezone"))
    # A second instance on the same database (or this one after a restart) gets the typed answer.
    async with SqliteStore(tmp_path / "bot.sqlite3") as other_store:
        other = ChatService(FlowEngine(default_bundle), other_store, clock)
        reply = await other.handle(MessageSent(11, text="Shanghai"))
        assert "Shanghai time" in reply.messages[-1].message.text
        again = await other.handle(MessageSent(11, text="Paris"))
        assert "Paris time" not in " ".join(m.message.text for m in again.messages)
        record = await other_store.load_chat(11)
    assert record is not None
    assert record.settings.timezone == "Asia/Shanghai"


async def test_a_place_typed_long_after_the_prompt_is_not_read_as_the_answer(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    await service.handle(CommandSent(12, command="timezone"))
    clock.advance(timedelta(minutes=16))
    await service.handle(MessageSent(12, text="Shanghai"))
    record = await store.load_chat(12)
    assert record is not None
    assert record.settings.timezone == "Pacific/Noumea"


async def test_two_processes_firing_the_same_reminder_send_it_once(
    service: ChatService, store: SqliteStore, default_bundle: FlowBundle, clock: FakeClock, tmp_path: Path
) -> None:
    await waiting_for_the_email(service, store, 13)
    (reminder,) = await store.reminders_of(13)
    clock.advance(timedelta(days=1, minutes=1))
    async with SqliteStore(tmp_path / "bot.sqlite3") as other_store:
        other = ChatService(FlowEngine(default_bundle), other_store, clock)
        sent = await asyncio.gather(service.reminder_due(reminder), other.reminder_due(reminder))
    assert sorted(len(messages) for messages in sent) == [0, 1]
    (following,) = await store.reminders_of(13)
    assert following.sequence == reminder.sequence + 1


async def test_a_snooze_into_the_night_says_the_morning_it_is_stored_for(
    service: ChatService, store: SqliteStore, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))  # 20:30 in Nouméa
    await waiting_for_the_email(service, store, 14)
    (reminder,) = await store.reminders_of(14)
    clock.advance(timedelta(days=1))
    (sent,) = await service.reminder_due(reminder)
    await service.outbox.delivered(sent, 5)  # the reminder is message 5: the latest, whose buttons count
    in_an_hour = next(
        button.data
        for row in sent.message.rows
        for button in row
        if button.data
        and decode(button.data)
        == ReminderPress(service.engine.version, reminder.sequence, reminder.name, ReminderAnswer.SNOOZE_HOUR)
    )
    reply = await service.handle(ButtonPressed(14, data=in_an_hour, message_id=5))
    assert reply.toast is not None
    assert "tomorrow at 08:00" in reply.toast
    (snoozed,) = await store.reminders_of(14)
    assert snoozed.due_at == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)  # 08:00 in Nouméa
