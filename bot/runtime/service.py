"""The application core: turns one incoming event into one committed transaction and the messages to send.

Every update goes: load the chat, hand it to the unit for the event (a command in
:mod:`~bot.runtime.commands`, a button in :mod:`~bot.runtime.buttons`, anything typed in
:mod:`~bot.runtime.typed`, a due reminder in :mod:`~bot.runtime.due`), commit the unit's result once
(state + reminders + update id + outgoing messages together), and only then return the messages for the
edge to send. A crash between the commit and the send leaves the messages in the outbox, sent at start.

The caller holds the chat's lock (:class:`~bot.runtime.locks.ChatLocks`, one per process) from the call
until the messages are delivered, so one chat never sees two events at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import TypeVar

from bot.clock import Clock
from bot.engine.engine import FlowEngine
from bot.flows.languages import Languages
from bot.runtime.buttons import button_pressed
from bot.runtime.chat import LONG_PAUSE, Chat, Result, start_over
from bot.runtime.commands import command_unit
from bot.runtime.commit import to_commit, unstored
from bot.runtime.due import reminder_due
from bot.runtime.locks import ChatLocks
from bot.runtime.messages import OutgoingMessage, QueuedMessage, from_outbox
from bot.runtime.texts import COMMANDS
from bot.runtime.typed import typed_message
from bot.store import (
    ChatChanged,
    ChatRecord,
    Commit,
    DuplicateUpdate,
    Reminder,
    ReminderGone,
    Store,
    UserSettings,
)

__all__ = ["ChatService", "Incoming", "Kind", "Reply", "choose_language"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

OUTBOX_LEASE = timedelta(seconds=3)
"""How long a process's claim on a chat's unsent messages lasts: it is renewed before each message and every
third of it while one is on its way (bot/telegram/delivery.py); if the process dies while sending, another
process's sweep sends them once it lapses."""

CHANGED_ATTEMPTS = 5
"""How many times an event is worked out again when other processes keep changing its chat meanwhile."""

UPDATE_MEMORY = timedelta(days=2)
"""How long processed update ids are remembered: Telegram redelivers for at most 24 hours."""


class Kind(Enum):
    """What a person did."""

    COMMAND = "command"
    BUTTON = "button"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event from a private chat, with nothing of the messenger's types left in it."""

    chat_id: int
    kind: Kind
    update_id: int | None = None
    language_code: str | None = None
    command: str | None = None
    argument: str | None = None
    """A command's argument, or the text of a typed message: read, never stored."""
    data: str | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer at once (a toast for a button) and the committed messages to deliver."""

    toast: str | None = None
    messages: tuple[QueuedMessage, ...] = ()
    direct: tuple[OutgoingMessage, ...] = ()
    """Messages sent without the outbox: ones that quote what was typed, and the confirmation that
    everything about the chat is deleted (its outbox went with it)."""


def choose_language(language_code: str | None, languages: Languages) -> str:
    """Picks the bot language from Telegram's ``language_code``, as the languages' meta files say."""
    return languages.choose(language_code)


class ChatService:
    """Drives every private chat through the flow; the messenger edge calls it and delivers its replies."""

    def __init__(
        self,
        engine: FlowEngine,
        store: Store,
        clock: Clock,
        *,
        on_reminder_scheduled: Callable[[datetime], None] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.locks = ChatLocks()
        """The one per-chat lock of the process: updates, reminders and the outbox sweep all take it."""
        self.on_reminder_scheduled = on_reminder_scheduled

    @property
    def languages(self) -> tuple[str, ...]:
        """Returns the languages the bot speaks now."""
        return self.engine.bundle.texts.languages

    def swap(self, engine: FlowEngine) -> None:
        """Serves ``engine`` from the next event on; events already started finish on the one they took."""
        self.engine = engine

    async def handle(self, incoming: Incoming) -> Reply:
        """Handles one event from a private chat (the caller holds the chat's lock).

        Another process may commit the same chat in between the load and the commit (bot/store/base.py):
        the commit is then refused and the update handled again from a fresh load, so updates apply one
        after another. Nothing was sent before the commit, so doing it again repeats nothing.
        """
        return await self._from_fresh_load(incoming.chat_id, lambda: self._handle_once(incoming))

    async def _handle_once(self, incoming: Incoming) -> Reply:
        engine = self.engine  # taken once: a reload meanwhile does not change this update's version
        now = self.clock.now()
        record = await self.store.load_chat(incoming.chat_id)
        chat, notice = self._chat(
            engine, incoming.chat_id, self._settings(engine, incoming, record), record, now
        )
        result = await self._unit(chat, incoming)
        if notice is not None and not result.forget:
            # The person's step is gone from the flow: say so once, with what they see next.
            result = replace(result, messages=(chat.notice(notice), *result.messages))
        if result.forget:
            await self.store.forget(chat.id)
            return Reply(direct=result.direct)
        if result.conversation is None:
            result = result.then(start_over(chat.after(result)))  # e.g. /help as the very first message
        recorded_screen = record.screen_message_id if record else None
        messages = tuple(
            # Already the screen: nothing to record once it is sent.
            replace(m, shows_screen=False) if m.edit is not None and m.edit == recorded_screen else m
            for m in result.messages
        )
        result = replace(result, messages=messages)
        try:
            commit = to_commit(chat.id, result, now, update_id=incoming.update_id)
            commit = replace(commit, expected_version=record.version if record else 0)
            queued = await self._commit(commit, result, now)
        except DuplicateUpdate:
            logger.info("update %s of chat %s was already handled", incoming.update_id, incoming.chat_id)
            return Reply()
        return Reply(result.toast, queued, result.direct)

    async def _unit(self, chat: Chat, incoming: Incoming) -> Result:
        """Hands the event to its unit."""
        if incoming.kind is Kind.COMMAND:
            return await command_unit(incoming.command or "")(chat, incoming.argument or "")
        if incoming.kind is Kind.BUTTON:
            return await button_pressed(chat, incoming.data or "", incoming.message_id)
        return await typed_message(chat, incoming.argument)

    async def reminder_due(self, reminder: Reminder) -> tuple[QueuedMessage, ...]:
        """Sends a due reminder, schedules the next, or drops it (the caller holds the chat's lock).

        Like an update, it is worked out again from a fresh load if another process changed the chat.
        """
        return await self._from_fresh_load(reminder.chat_id, lambda: self._reminder_due_once(reminder))

    async def _from_fresh_load(self, chat_id: int, work: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``work`` (load, decide, commit) again while other processes change the chat meanwhile."""
        for _ in range(CHANGED_ATTEMPTS - 1):
            try:
                return await work()
            except ChatChanged:
                logger.info("chat %s changed in another process meanwhile; working it out again", chat_id)
        return await work()

    async def _reminder_due_once(self, reminder: Reminder) -> tuple[QueuedMessage, ...]:
        engine = self.engine
        now = self.clock.now()
        record = await self.store.load_chat(reminder.chat_id)
        result = None
        if record is not None:
            chat, _notice = self._chat(engine, reminder.chat_id, record.settings, record, now)
            result = reminder_due(chat, reminder)
        if result is None:
            with contextlib.suppress(ReminderGone):
                await self.store.commit(Commit(reminder.chat_id, consumed_reminder_id=reminder.id), now)
            return ()
        commit = to_commit(reminder.chat_id, result, now, consumed_reminder_id=reminder.id)
        commit = replace(commit, expected_version=record.version if record else 0)
        try:
            return await self._commit(commit, result, now)
        except ReminderGone:
            return ()  # cancelled, or claimed by another process, since it was read: nothing to send

    def _chat(
        self,
        engine: FlowEngine,
        chat_id: int,
        settings: UserSettings,
        record: ChatRecord | None,
        now: datetime,
    ) -> tuple[Chat, str | None]:
        """Returns the event's view of the chat on ``engine``'s version, and the notice its move owes, if any."""
        conversation = None
        notice = None
        screen_id = None
        reminder_id = None
        if record is not None:
            if record.reminder_message_id != record.screen_message_id:
                # A reminder answered with "I got the confirmation" became the screen: no reminder any more.
                reminder_id = record.reminder_message_id
            if record.conversation is not None:
                languages = engine.bundle.texts.languages
                language = settings.language if settings.language in languages else languages[0]
                moved = engine.move(unstored(record.conversation))
                conversation, notice = moved.conversation.with_language(language), moved.notice
            if now - record.updated_at <= LONG_PAUSE:
                # After a long pause a fresh message below beats an edit far up the chat.
                screen_id = record.screen_message_id
        reminders = partial(self.store.reminders_of, chat_id) if record else _no_reminders
        chat = Chat(chat_id, settings, conversation, screen_id, now, engine, reminders, reminder_id)
        return chat, notice

    def _settings(self, engine: FlowEngine, incoming: Incoming, record: ChatRecord | None) -> UserSettings:
        languages = engine.bundle.languages
        if record is None:
            return UserSettings(incoming.chat_id, choose_language(incoming.language_code, languages))
        settings = record.settings
        if settings.language is None:
            settings = replace(settings, language=choose_language(incoming.language_code, languages))
        # The person wrote to us, so they no longer block the bot.
        return replace(settings, blocked=False) if settings.blocked else settings

    async def _commit(self, commit: Commit, result: Result, now: datetime) -> tuple[QueuedMessage, ...]:
        stored = await self.store.commit(commit, now)
        if commit.schedule and self.on_reminder_scheduled is not None:
            self.on_reminder_scheduled(min(r.due_at for r in commit.schedule))
        return tuple(
            QueuedMessage(row.id, message) for row, message in zip(stored, result.messages, strict=True)
        )

    def group_text(self, language_code: str | None, link: str) -> str:
        """Returns the answer to a group chat: a link that opens a private chat with the bot."""
        language = choose_language(language_code, self.engine.bundle.languages)
        return self.engine.plain(language, "ui.group_chat", {"link": link})

    def command_menu(self, engine: FlowEngine | None = None) -> dict[str, list[tuple[str, str]]]:
        """Returns, per language, the command menu as (command, description) pairs (of ``engine``, or the current)."""
        engine = engine or self.engine
        return {
            language: [(command, engine.plain(language, f"ui.commands.{command}")) for command in COMMANDS]
            for language in engine.bundle.texts.languages
        }

    # -- delivery bookkeeping ---------------------------------------------------------------------

    async def delivered(self, queued: QueuedMessage, message_id: int | None) -> None:
        """Records that a message went out; a new screen message becomes the one edited from now on."""
        screen = message_id if queued.message.shows_screen else None
        reminder = message_id if queued.message.shows_reminder else None
        await self.store.record_delivery(queued.outbox_id, queued.message.chat_id, screen, reminder)

    async def undeliverable(self, queued: QueuedMessage) -> None:
        """Drops a message that can never be delivered (the chat is gone or the text was refused)."""
        await self.store.mark_sent([queued.outbox_id])

    async def blocked(self, chat_id: int) -> None:
        """Marks a chat whose person blocked the bot: no reminder goes there any more."""
        await self.store.set_blocked(chat_id, True)

    async def claim_outbox(self, chat_id: int, holder: str) -> list[QueuedMessage] | None:
        """Claims the chat's unsent messages for ``holder`` (this process) and returns them, oldest first;
        None while another process sends them."""
        claimed = await self.store.claim_outbox(chat_id, holder, self.clock.now(), OUTBOX_LEASE)
        return None if claimed is None else [from_outbox(stored) for stored in claimed]

    async def release_outbox(self, chat_id: int, holder: str, *, unless_pending: bool) -> bool:
        """Gives up the claim on the chat's messages; with ``unless_pending``, only if none came in meanwhile."""
        return await self.store.release_outbox(chat_id, holder, unless_pending=unless_pending)

    async def pending(self, limit: int = 500, chat_id: int | None = None) -> list[QueuedMessage]:
        """Returns messages committed but never sent (of one chat, when given), oldest first."""
        return [from_outbox(stored) for stored in await self.store.pending_outbox(limit, chat_id)]

    async def housekeeping(self, idle: timedelta) -> tuple[int, int]:
        """Purges conversations idle for longer than ``idle`` and forgets old update ids."""
        now = self.clock.now()
        purged = await self.store.purge_idle(now - idle)
        expired = await self.store.expire_updates(now - UPDATE_MEMORY)
        return purged, expired


async def _no_reminders() -> list[Reminder]:
    return []
