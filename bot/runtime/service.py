"""The application core: turns one incoming event into one committed transaction and the messages to send.

Every update goes: load the chat (or take it as this process left it, :mod:`~bot.runtime.recent`), hand it
to the unit for the event (a command in :mod:`~bot.runtime.commands`, a button in
:mod:`~bot.runtime.buttons`, anything typed in :mod:`~bot.runtime.typed`, a due reminder in
:mod:`~bot.runtime.due`), commit the unit's result once (state + reminders + update id + outgoing messages
together), and only then return the messages for the
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
from functools import partial
from typing import Protocol, TypeVar

from bot.clock import Clock
from bot.engine.engine import FlowEngine
from bot.flows.languages import Languages
from bot.runtime.buttons import button_pressed
from bot.runtime.chat import LONG_PAUSE, Chat, Result, start_over
from bot.runtime.commands import command_unit
from bot.runtime.commit import to_commit, unstored
from bot.runtime.due import reminder_due
from bot.runtime.events import ButtonPressed, CommandSent, Incoming
from bot.runtime.locks import ChatLocks
from bot.runtime.messages import OutgoingMessage, QueuedMessage
from bot.runtime.outbox import Claimed, Outbox
from bot.runtime.recent import RECENT_CHATS, RecentChats
from bot.runtime.texts import COMMANDS
from bot.runtime.typed import typed_message
from bot.store import (
    ChatChanged,
    ChatRecord,
    ChatStore,
    Commit,
    DuplicateUpdate,
    Reminder,
    ReminderGone,
    ReminderQueue,
    Tickets,
    UserSettings,
)
from bot.store import Outbox as StoredOutbox

__all__ = ["ChatService", "Reply", "ServiceStore", "choose_language"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

CHANGED_ATTEMPTS = 5
"""How many times an event is worked out again when other processes keep changing its chat meanwhile."""

UPDATE_MEMORY = timedelta(days=2)
"""How long processed update ids are remembered: Telegram redelivers for at most 24 hours."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer at once (a toast for a button) and the committed messages to deliver."""

    toast: str | None = None
    messages: tuple[QueuedMessage, ...] = ()
    direct: tuple[OutgoingMessage, ...] = ()
    """Messages sent without the outbox: ones that quote what was typed, and the confirmation that
    everything about the chat is deleted (its outbox went with it)."""
    claimed: Claimed | None = None
    """The chat's outbox as the commit claimed it (several processes only); None: not claimed yet."""


def choose_language(language_code: str | None, languages: Languages) -> str:
    """Picks the bot language from Telegram's ``language_code``, as the languages' meta files say."""
    return languages.choose(language_code)


class ServiceStore(ChatStore, ReminderQueue, Tickets, StoredOutbox, Protocol):
    """What the service and the edge's delivery use of the store: the chats, their reminders and open questions
    (read while handling an event), and the outbox the committed messages wait in."""


class ChatService:
    """Drives every private chat through the flow; the messenger edge calls it and delivers its replies."""

    def __init__(
        self,
        engine: FlowEngine,
        store: ServiceStore,
        clock: Clock,
        *,
        on_reminder_scheduled: Callable[[datetime], None] | None = None,
        recent_chats: int = RECENT_CHATS,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.locks = ChatLocks()
        """The one per-chat lock of the process: updates, reminders and the outbox sweep all take it."""
        self.on_reminder_scheduled = on_reminder_scheduled
        self.recent = RecentChats(recent_chats)
        """The chats handled lately, as this process left them: an update of one needs no load (recent.py)."""
        self.outbox = Outbox(store, clock, recent=self.recent)
        """Where the edge claims the committed messages and records their delivery."""
        self.catch_up: Callable[[], Awaitable[None]] | None = None
        """Serves the store's current flow release if another instance published one (bot/runtime/reload.py)."""
        self.handoff = False
        """Whether people can ask a person (a support chat is set): screens the flow marks offer it."""

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
        now = self.clock.now()
        record = self.recent.get(incoming.chat_id)
        if record is None:
            record = await self.store.load_chat(incoming.chat_id)
            self.recent.loaded(incoming.chat_id, record)
        engine = await self._engine_for(
            record
        )  # taken once: a reload meanwhile does not change this update's
        chat, notice = self._chat(
            engine, incoming.chat_id, self._settings(engine, incoming, record), record, now
        )
        result = await self._unit(chat, incoming)
        if notice is not None and not result.forget:
            # The person's step is gone from the flow: say so once, with what they see next.
            result = replace(result, messages=(chat.notice(notice), *result.messages))
        if result.forget:
            self.recent.drop(chat.id)
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
            queued, claimed = await self._commit(record, commit, result, now, claim=True)
        except DuplicateUpdate:
            logger.info("update %s of chat %s was already handled", incoming.update_id, incoming.chat_id)
            return Reply()
        return Reply(result.toast, queued, result.direct, claimed)

    async def _unit(self, chat: Chat, incoming: Incoming) -> Result:
        """Hands the event to its unit."""
        if isinstance(incoming, CommandSent):
            return await command_unit(incoming.command)(chat, incoming.argument)
        if isinstance(incoming, ButtonPressed):
            return await button_pressed(chat, incoming.data, incoming.message_id)
        return await typed_message(chat, incoming.text)

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
                self.recent.drop(chat_id)
                logger.info("chat %s changed in another process meanwhile; working it out again", chat_id)
        return await work()

    async def _reminder_due_once(self, reminder: Reminder) -> tuple[QueuedMessage, ...]:
        now = self.clock.now()
        # Loaded afresh: a reminder found not to be sent any more is dropped without a version to check.
        record = await self.store.load_chat(reminder.chat_id)
        self.recent.loaded(reminder.chat_id, record)
        engine = await self._engine_for(record)
        result = None
        if record is not None:
            chat, _notice = self._chat(engine, reminder.chat_id, record.settings, record, now)
            result = reminder_due(chat, reminder)
        if result is None:
            self.recent.drop(reminder.chat_id)
            with contextlib.suppress(ReminderGone):
                await self.store.commit(Commit(reminder.chat_id, consumed_reminder_id=reminder.id), now)
            return ()
        commit = to_commit(reminder.chat_id, result, now, consumed_reminder_id=reminder.id)
        commit = replace(commit, expected_version=record.version if record else 0)
        try:
            queued, _claimed = await self._commit(record, commit, result, now, claim=False)
            return queued
        except ReminderGone:
            return ()  # cancelled, or claimed by another process, since it was read: nothing to send

    async def _engine_for(self, record: ChatRecord | None) -> FlowEngine:
        """Returns the engine to handle a chat on: never one older than the version the chat is stored on.

        A chat on another version may have been moved by an instance serving a release this one has not
        followed yet; it catches up first, so the chat never goes back to an older version.
        """
        stored = record.conversation if record is not None else None
        if stored is not None and stored.flow_version != self.engine.version and self.catch_up is not None:
            await self.catch_up()
        return self.engine

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
        shown_id = None
        if record is not None:
            shown_id = record.screen_message_id
            if _newer(record.reminder_message_id, than=shown_id):
                # A reminder answered became the screen, or a screen was shown since: its buttons are old.
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
        chat = Chat(
            chat_id,
            settings,
            conversation,
            screen_id,
            now,
            engine,
            reminders,
            reminder_id,
            shown_id,
            self.handoff,
        )
        if self.handoff and record is not None:
            chat = replace(chat, open_question=partial(self._has_open_question, chat_id))
        return chat, notice

    async def _has_open_question(self, chat_id: int) -> bool:
        return await self.store.open_ticket_of(chat_id) is not None

    def _settings(self, engine: FlowEngine, incoming: Incoming, record: ChatRecord | None) -> UserSettings:
        languages = engine.bundle.languages
        if record is None:
            return UserSettings(incoming.chat_id, choose_language(incoming.language_code, languages))
        settings = record.settings
        if settings.language is None:
            settings = replace(settings, language=choose_language(incoming.language_code, languages))
        # The person wrote to us, so they no longer block the bot.
        return replace(settings, blocked=False) if settings.blocked else settings

    async def _commit(
        self, before: ChatRecord | None, commit: Commit, result: Result, now: datetime, *, claim: bool
    ) -> tuple[tuple[QueuedMessage, ...], Claimed | None]:
        """Commits what ``before`` (the chat as loaded) became, and keeps the chat as it now stands."""
        self.recent.drop(commit.chat_id)  # kept again below once committed: a refused commit leaves none
        queued, claimed = await self.outbox.commit(commit, now, result.messages, claim=claim)
        self.recent.committed(before, commit, now)
        if commit.schedule and self.on_reminder_scheduled is not None:
            self.on_reminder_scheduled(min(r.due_at for r in commit.schedule))
        return queued, claimed

    def group_text(self, language_code: str | None, link: str) -> str:
        """Returns the answer to a group chat: a link that opens a private chat with the bot."""
        language = choose_language(language_code, self.engine.bundle.languages)
        return self.engine.renderer.plain(language, "ui.group_chat", {"link": link})

    def command_menu(self, engine: FlowEngine | None = None) -> dict[str, list[tuple[str, str]]]:
        """Returns, per language, the command menu as (command, description) pairs (of ``engine``, or the current)."""
        engine = engine or self.engine
        return {
            language: [
                (command, engine.renderer.plain(language, f"ui.commands.{command}")) for command in COMMANDS
            ]
            for language in engine.bundle.texts.languages
        }

    async def housekeeping(self, idle: timedelta) -> tuple[int, int]:
        """Purges conversations idle for longer than ``idle`` and forgets old update ids."""
        now = self.clock.now()
        purged = await self.store.purge_idle(now - idle)
        expired = await self.store.expire_updates(now - UPDATE_MEMORY)
        return purged, expired


def _newer(message_id: int | None, *, than: int | None) -> bool:
    """Tells whether a message came after another (a chat's message ids grow, as Telegram numbers them)."""
    return message_id is not None and (than is None or message_id > than)


async def _no_reminders() -> list[Reminder]:
    return []
