"""The application core: turns one incoming event into one committed transaction and the messages to send.

Every update goes: lock the chat, load it, advance the engine, commit state + reminders + update id +
outgoing messages together, and only then return the messages for the edge to send. A crash between the
commit and the send leaves the messages in the outbox, sent again at start (``pending``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from enum import Enum
from typing import Any

from bot.clock import Clock
from bot.engine import CancelReminders, Conversation, Effect, EnteredState, ScheduleReminder
from bot.engine.engine import FlowEngine, Outcome, Screen, ScreenButton, StepResult
from bot.localtime import COMMON_TIMEZONES, QuietHours, format_when, parse_timezone, zone_or_default
from bot.runtime.locks import ChatLocks
from bot.runtime.texts import COMMANDS
from bot.store import (
    ChatRecord,
    Commit,
    DuplicateUpdate,
    FlowEvent,
    NewReminder,
    OutboxMessage,
    Reminder,
    ReminderGone,
    Store,
    UserSettings,
)

__all__ = ["ChatService", "Incoming", "Kind", "Reply", "choose_language"]

logger = logging.getLogger(__name__)

UPDATE_MEMORY = timedelta(days=2)
"""How long processed update ids are remembered: Telegram redelivers for at most 24 hours."""

TIMEZONE_ANSWER_WINDOW = timedelta(minutes=15)
"""How long after the /timezone prompt a typed message is read as the answer."""

QUOTED_INPUT_CHARACTERS = 64
"""At most this much of what a person typed is quoted back to them."""

LONG_PAUSE = timedelta(hours=6)
"""After this long without activity, the next screen comes as a new message rather than an edit far up."""


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
    messages: tuple[OutboxMessage, ...] = ()
    direct: tuple[Mapping[str, Any], ...] = ()
    """Messages sent without the outbox: ones that quote what was typed, and the confirmation that
    everything about the chat is deleted (its outbox went with it)."""


def choose_language(language_code: str | None, available: Sequence[str]) -> str:
    """Picks the bot language from Telegram's ``language_code``: zh* -> zh-Hans, fr* -> fr, else en."""
    code = (language_code or "").lower()
    for prefix, language in (("zh", "zh-Hans"), ("fr", "fr")):
        if code.startswith(prefix) and language in available:
            return language
    return "en" if "en" in available else available[0]


def _rows(screen_rows: Sequence[Sequence[ScreenButton]]) -> list[list[list[str]]]:
    return [
        [
            [b.label, "d", b.data]
            if b.data is not None
            else [b.label, "c", b.copy_text]
            if b.copy_text is not None
            else [b.label, "u", b.url or ""]
            for b in row
        ]
        for row in screen_rows
    ]


def message(
    chat_id: int, screen: Screen, *, edit: int | None = None, is_screen: bool = True
) -> dict[str, Any]:
    """Returns the outbox payload that shows ``screen``: edit message ``edit`` in place, or send a new one."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": screen.text, "rows": _rows(screen.rows)}
    if edit is not None:
        payload["edit"] = edit
    if is_screen:
        payload["screen"] = True
    return payload


@dataclass(slots=True)
class _Plan:
    """What one event changes, gathered before the single commit."""

    settings: UserSettings
    conversation: Conversation | None
    outbox: list[dict[str, Any]] = field(default_factory=list)
    direct: list[dict[str, Any]] = field(default_factory=list)
    """Replies that quote what the person typed: sent at once and never stored."""
    effects: list[Effect] = field(default_factory=list)
    toast: str | None = None


class ChatService:
    """Drives every private chat through the flow; the messenger edge calls it and delivers its replies."""

    def __init__(
        self,
        engine: FlowEngine,
        store: Store,
        clock: Clock,
        *,
        on_reminder_scheduled: Callable[[datetime], None] | None = None,
        quiet_hours: QuietHours | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.locks = ChatLocks()
        self.quiet_hours = quiet_hours or QuietHours()
        self.on_reminder_scheduled = on_reminder_scheduled
        self.languages = engine.bundle.texts.languages
        self._timezone_prompted: dict[int, datetime] = {}

    # -- helpers ----------------------------------------------------------------------------------

    def _zone(self, settings: UserSettings) -> tzinfo:
        return zone_or_default(settings.timezone)

    def _settings(self, incoming: Incoming, record: ChatRecord | None) -> UserSettings:
        if record is not None:
            settings = record.settings
            if settings.language is None:
                settings = replace(settings, language=choose_language(incoming.language_code, self.languages))
            # The person wrote to us, so they no longer block the bot.
            return replace(settings, blocked=False) if settings.blocked else settings
        return UserSettings(incoming.chat_id, choose_language(incoming.language_code, self.languages))

    def _language(self, settings: UserSettings) -> str:
        return settings.language if settings.language in self.languages else self.languages[0]

    def _commit(self, chat_id: int, plan: _Plan, now: datetime, **extra: Any) -> Commit:
        cancel_all = False
        cancelled: set[str] = set()
        scheduled: dict[str, NewReminder] = {}
        events: list[FlowEvent] = []
        zone = self._zone(plan.settings)
        for effect in plan.effects:
            if isinstance(effect, CancelReminders):
                if effect.names is None:
                    cancel_all = True
                    scheduled.clear()
                else:
                    cancelled |= effect.names
                    for name in effect.names:
                        scheduled.pop(name, None)
            elif isinstance(effect, ScheduleReminder):
                due = self.quiet_hours_for(plan.settings).shift(now + effect.delay, zone)
                scheduled[effect.name] = NewReminder(effect.name, due, effect.sequence)
            elif isinstance(effect, EnteredState) and plan.conversation is not None:
                conversation = plan.conversation
                events.append(
                    FlowEvent(chat_id, conversation.flow_id, conversation.flow_version, effect.state, now)
                )
        return Commit(
            chat_id=chat_id,
            settings=plan.settings,
            conversation=plan.conversation,
            cancel_reminders=None if cancel_all else frozenset(cancelled),
            schedule=tuple(scheduled.values()),
            outbox=tuple(plan.outbox),
            events=tuple(events),
            **extra,
        )

    def quiet_hours_for(self, settings: UserSettings) -> QuietHours:
        """Returns the chat's quiet hours."""
        return QuietHours(settings.quiet_start, settings.quiet_end)

    async def _apply(self, commit: Commit, now: datetime) -> tuple[OutboxMessage, ...]:
        messages = tuple(await self.store.commit(commit, now))
        if commit.schedule and self.on_reminder_scheduled is not None:
            self.on_reminder_scheduled(min(r.due_at for r in commit.schedule))
        return messages

    # -- incoming events --------------------------------------------------------------------------

    async def handle(self, incoming: Incoming) -> Reply:
        """Handles one event from a private chat under that chat's lock."""
        async with self.locks.hold(incoming.chat_id):
            now = self.clock.now()
            if incoming.kind is Kind.BUTTON and incoming.data == "forget|yes":
                return await self._forget(incoming)
            record = await self.store.load_chat(incoming.chat_id)
            settings = self._settings(incoming, record)
            conversation = record.conversation if record else None
            if conversation is not None:
                conversation = self.engine.adopt(conversation).with_language(self._language(settings))
            plan = _Plan(settings, conversation)
            screen_id = record.screen_message_id if record else None
            if record is not None and now - record.updated_at > LONG_PAUSE:
                screen_id = None  # after a long pause a fresh message below beats an edit far up the chat
            if incoming.kind is Kind.COMMAND and incoming.command == "status":
                pending = await self.store.reminders_of(incoming.chat_id) if record else []
                self._status(incoming.chat_id, plan, pending, now)
            elif incoming.kind is Kind.COMMAND:
                self._command(incoming, plan, now, screen_id)
            elif incoming.kind is Kind.BUTTON:
                self._button(incoming, plan, screen_id)
            elif incoming.argument and self._answers_timezone_prompt(incoming.chat_id, now):
                # The /timezone prompt invites typing a city or zone name; what is typed is never stored.
                self._set_timezone(plan, incoming.chat_id, incoming.argument, now, edit=None)
            else:
                self._show(plan, incoming.chat_id, None, note="ui.off_script")
            if plan.conversation is None:
                self._start(plan, incoming.chat_id, None)
            recorded_screen = record.screen_message_id if record else None
            for payload in plan.outbox:
                if payload.get("screen") and payload.get("edit", -1) == recorded_screen:
                    del payload["screen"]  # already the screen: nothing to record after sending
            if any(isinstance(effect, ScheduleReminder) for effect in plan.effects):
                # Asking for a reminder again (waiting anew, snoozing) undoes an earlier /stop.
                plan.settings = replace(plan.settings, reminders_stopped=False)
            commit = self._commit(incoming.chat_id, plan, now, update_id=incoming.update_id)
            try:
                messages = await self._apply(commit, now)
            except DuplicateUpdate:
                logger.info("update %s of chat %s was already handled", incoming.update_id, incoming.chat_id)
                return Reply()
            return Reply(plan.toast, messages, tuple(plan.direct))

    async def _forget(self, incoming: Incoming) -> Reply:
        """Deletes every row about the chat at once; the confirmation goes out directly, not via the outbox."""
        record = await self.store.load_chat(incoming.chat_id)
        settings = self._settings(incoming, record)
        language = self._language(settings)
        await self.store.forget(incoming.chat_id)
        text = self.engine.plain(language, "ui.forget.done")
        return Reply(
            direct=(message(incoming.chat_id, Screen(text), edit=incoming.message_id, is_screen=False),)
        )

    def _answers_timezone_prompt(self, chat_id: int, now: datetime) -> bool:
        """Tells whether a typed message comes shortly after this chat was asked for its time zone."""
        asked = self._timezone_prompted.pop(chat_id, None)
        for stale in [c for c, at in self._timezone_prompted.items() if now - at > TIMEZONE_ANSWER_WINDOW]:
            del self._timezone_prompted[stale]
        return asked is not None and now - asked <= TIMEZONE_ANSWER_WINDOW

    def _text(self, plan: _Plan, key: str, values: Mapping[str, str] | None = None) -> str:
        return self.engine.plain(self._language(plan.settings), key, values)

    def _notice(
        self,
        plan: _Plan,
        chat_id: int,
        key: str,
        *,
        rows: tuple[tuple[ScreenButton, ...], ...] = (),
        edit: int | None = None,
    ) -> None:
        """Queues a runtime text (not a flow screen), as a new message or in place of ``edit``."""
        plan.outbox.append(message(chat_id, Screen(self._text(plan, key), rows), edit=edit, is_screen=False))

    def _start(self, plan: _Plan, chat_id: int, deep_link: str | None) -> None:
        result = self.engine.start(self._language(plan.settings), deep_link)
        plan.settings = replace(plan.settings, reminders_stopped=False)
        self._step(plan, chat_id, result, edit=None)

    def _step(self, plan: _Plan, chat_id: int, result: StepResult, *, edit: int | None) -> None:
        plan.conversation = result.conversation
        plan.effects.extend(result.effects)
        plan.outbox.append(message(chat_id, result.screen, edit=edit))
        if result.toast:
            plan.toast = result.toast

    def _show(self, plan: _Plan, chat_id: int, edit: int | None, note: str | None = None) -> None:
        """Shows the current screen again (starting a conversation if there is none)."""
        if note is not None:
            self._notice(plan, chat_id, note)
        if plan.conversation is None:
            self._start(plan, chat_id, None)
            return
        plan.outbox.append(message(chat_id, self.engine.render(plan.conversation), edit=edit))

    def _command(self, incoming: Incoming, plan: _Plan, now: datetime, screen_id: int | None) -> None:
        chat_id = incoming.chat_id
        command = incoming.command
        if command == "start":
            payload = (incoming.argument or "").strip().lower()
            if (
                payload in self.engine.flow.deep_links
                or plan.conversation is None
                or plan.conversation.finished
            ):
                self._start(plan, chat_id, payload or None)
            else:
                # The menu says "start or resume": an unfinished conversation carries on where it was.
                self._show(plan, chat_id, None)
        elif command == "restart":
            self._notice(plan, chat_id, "ui.restarted")
            self._start(plan, chat_id, None)
        elif command == "help":
            self._notice(plan, chat_id, "ui.help")
        elif command == "language":
            rows = tuple(
                (ScreenButton(self.engine.plain(language, "ui.language.name"), data=f"lang|{language}"),)
                for language in self.languages
            )
            self._notice(plan, chat_id, "ui.language.prompt", rows=rows)
        elif command == "timezone":
            self._timezone_command(incoming, plan, now)
        elif command == "stop":
            plan.settings = replace(plan.settings, reminders_stopped=True)
            plan.effects.append(CancelReminders(None))
            self._notice(plan, chat_id, "ui.stop.done")
        elif command == "forget":
            rows = (
                (ScreenButton(self._text(plan, "ui.forget.yes"), data="forget|yes"),),
                (ScreenButton(self._text(plan, "ui.forget.no"), data="forget|no"),),
            )
            self._notice(plan, chat_id, "ui.forget.confirm", rows=rows)
        else:
            self._show(plan, chat_id, None, note="ui.off_script")

    def _status(self, chat_id: int, plan: _Plan, pending: Sequence[Reminder], now: datetime) -> None:
        if plan.conversation is None:
            self._start(plan, chat_id, None)
            return
        screen = self.engine.render(plan.conversation)
        where = next((line for line in screen.text.splitlines() if line.strip()), "")
        language = self._language(plan.settings)
        zone = self._zone(plan.settings)
        if plan.settings.reminders_stopped:
            reminders = self._text(plan, "ui.status.reminders_stopped")
        elif pending:
            lines = [
                self._text(
                    plan, "ui.status.reminder_line", {"when": format_when(r.due_at, zone, language, now)}
                )
                for r in pending
            ]
            reminders = "\n".join(lines)
        else:
            reminders = self._text(plan, "ui.status.no_reminders")
        raw = self.engine.plain(language, "ui.status.text")
        # The screen's first line and the reminder lines are already Telegram HTML: insert them as they are.
        text = raw.replace("{screen}", where).replace("{reminders}", reminders)
        plan.outbox.append(message(chat_id, Screen(text), is_screen=False))

    def _timezone_command(self, incoming: Incoming, plan: _Plan, now: datetime) -> None:
        chat_id = incoming.chat_id
        wanted = (incoming.argument or "").strip()
        if wanted:
            self._set_timezone(plan, chat_id, wanted, now, edit=None)
            return
        rows = tuple((ScreenButton(name.replace("_", " "), data=f"tz|{name}"),) for name in COMMON_TIMEZONES)
        text = self._text(plan, "ui.timezone.prompt", {"timezone": plan.settings.timezone})
        # Kept in memory only: after a restart a typed answer is just answered with the buttons again.
        self._timezone_prompted[chat_id] = now
        plan.outbox.append(message(chat_id, Screen(text, rows), is_screen=False))

    def _set_timezone(
        self, plan: _Plan, chat_id: int, wanted: str, now: datetime, *, edit: int | None
    ) -> None:
        try:
            zone = parse_timezone(wanted)
        except ValueError:
            quoted = wanted[:QUOTED_INPUT_CHARACTERS]
            text = self._text(plan, "ui.timezone.unknown", {"input": quoted})
            plan.direct.append(message(chat_id, Screen(text), edit=edit, is_screen=False))
            return
        name = str(zone)
        plan.settings = replace(plan.settings, timezone=name)
        local = format_when(now, zone, self._language(plan.settings), now)
        text = self._text(plan, "ui.timezone.set", {"timezone": name, "now": local})
        plan.outbox.append(message(chat_id, Screen(text), edit=edit, is_screen=False))

    def _button(self, incoming: Incoming, plan: _Plan, screen_id: int | None) -> None:
        chat_id = incoming.chat_id
        data = incoming.data or ""
        kind, _, value = data.partition("|")
        now = self.clock.now()
        if kind == "lang" and value in self.languages:
            plan.settings = replace(plan.settings, language=value)
            if plan.conversation is not None:
                plan.conversation = plan.conversation.with_language(value)
            plan.toast = self._text(plan, "ui.language.changed")
            self._show(plan, chat_id, incoming.message_id)
            return
        if kind == "tz":
            self._set_timezone(plan, chat_id, value, now, edit=incoming.message_id)
            return
        if kind == "forget":
            if value != "yes":
                self._notice(plan, chat_id, "ui.forget.cancelled", edit=incoming.message_id)
            return
        if plan.conversation is None:
            plan.toast = self._text(plan, "ui.stale_button")
            self._start(plan, chat_id, None)
            return
        if self.engine.parse_reminder_answer(data) is not None:
            result = self.engine.answer_reminder(plan.conversation, data)
            self._reminder_result(plan, incoming, result, now)
            return
        result = self.engine.press(plan.conversation, data)
        on_screen = incoming.message_id is not None and incoming.message_id == screen_id
        if result.outcome is Outcome.ADVANCED:
            # Edit the pressed screen in place; a press on another message gets a fresh screen below.
            self._step(plan, chat_id, result, edit=incoming.message_id if on_screen else None)
            return
        plan.toast = result.toast
        plan.effects.extend(result.effects)
        plan.conversation = result.conversation
        if on_screen:
            plan.outbox.append(message(chat_id, result.screen, edit=incoming.message_id))
        else:
            plan.outbox.append(message(chat_id, result.screen))

    def _reminder_result(self, plan: _Plan, incoming: Incoming, result: StepResult, now: datetime) -> None:
        chat_id = incoming.chat_id
        plan.effects.extend(result.effects)
        plan.toast = result.toast
        moved = plan.conversation is not None and result.conversation.state != plan.conversation.state
        if result.outcome is not Outcome.ADVANCED:
            plan.outbox.append(message(chat_id, result.screen))
            return
        if any(isinstance(e, CancelReminders) and e.names is None for e in result.effects) and not moved:
            plan.settings = replace(plan.settings, reminders_stopped=True)
            self._notice(plan, chat_id, "ui.stop.done", edit=incoming.message_id)
            return
        snoozed = [e for e in result.effects if isinstance(e, ScheduleReminder)]
        if snoozed:
            zone = self._zone(plan.settings)
            due = self.quiet_hours_for(plan.settings).shift(now + snoozed[0].delay, zone)
            when = format_when(due, zone, self._language(plan.settings), now)
            plan.toast = self._text(plan, "ui.reminder.snoozed", {"when": when})
            plan.outbox.append(message(chat_id, result.screen, edit=incoming.message_id, is_screen=False))
            return
        plan.conversation = result.conversation
        plan.outbox.append(message(chat_id, result.screen, edit=incoming.message_id, is_screen=moved))

    def group_text(self, language_code: str | None, link: str) -> str:
        """Returns the answer to a group chat: a link that opens a private chat with the bot."""
        language = choose_language(language_code, self.languages)
        return self.engine.plain(language, "ui.group_chat", {"link": link})

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """Returns, per language, the command menu as (command, description) pairs."""
        return {
            language: [
                (command, self.engine.plain(language, f"ui.commands.{command}")) for command in COMMANDS
            ]
            for language in self.languages
        }

    # -- reminders --------------------------------------------------------------------------------

    async def reminder_due(self, reminder: Reminder) -> tuple[OutboxMessage, ...]:
        """Sends a due reminder, schedules the next, or drops it when the conversation moved on."""
        async with self.locks.hold(reminder.chat_id):
            now = self.clock.now()
            record = await self.store.load_chat(reminder.chat_id)
            conversation = record.conversation if record else None
            result = None
            if record is not None and conversation is not None and not record.settings.reminders_stopped:
                conversation = self.engine.adopt(conversation).with_language(self._language(record.settings))
                result = self.engine.reminder_due(conversation, reminder.name, reminder.sequence)
            if record is not None and result is not None:
                # A reminder that fell due while the bot was down waits for the end of the quiet hours.
                zone = self._zone(record.settings)
                morning = self.quiet_hours_for(record.settings).shift(now, zone)
                if morning > now:
                    later = NewReminder(reminder.name, morning, reminder.sequence)
                    commit = Commit(reminder.chat_id, consumed_reminder_id=reminder.id, schedule=(later,))
                    with contextlib.suppress(ReminderGone):
                        await self._apply(commit, now)
                    return ()
            if record is None or conversation is None or result is None:
                commit = Commit(reminder.chat_id, consumed_reminder_id=reminder.id)
                with contextlib.suppress(ReminderGone):
                    await self.store.commit(commit, now)
                return ()
            plan = _Plan(record.settings, result.conversation, effects=list(result.effects))
            moved = result.conversation.state != conversation.state
            plan.outbox.append(message(reminder.chat_id, result.screen, is_screen=moved))
            commit = self._commit(reminder.chat_id, plan, now, consumed_reminder_id=reminder.id)
            try:
                return await self._apply(commit, now)
            except ReminderGone:
                return ()

    # -- delivery bookkeeping ---------------------------------------------------------------------

    async def delivered(self, outgoing: OutboxMessage, message_id: int | None) -> None:
        """Records that a message went out; a new screen message becomes the one edited from now on."""
        screen = message_id if outgoing.payload.get("screen") else None
        await self.store.record_delivery(outgoing.id, outgoing.chat_id, screen)

    async def undeliverable(self, outgoing: OutboxMessage) -> None:
        """Drops a message that can never be delivered (the chat is gone or the text was refused)."""
        await self.store.mark_sent([outgoing.id])

    async def blocked(self, chat_id: int) -> None:
        """Marks a chat whose person blocked the bot: no reminder goes there any more."""
        await self.store.set_blocked(chat_id, True)

    async def pending(self, limit: int = 500) -> list[OutboxMessage]:
        """Returns messages committed but never sent (after a crash), oldest first."""
        return await self.store.pending_outbox(limit)

    async def housekeeping(self, idle: timedelta) -> tuple[int, int]:
        """Purges conversations idle for longer than ``idle`` and forgets old update ids."""
        now = self.clock.now()
        purged = await self.store.purge_idle(now - idle)
        expired = await self.store.expire_updates(now - UPDATE_MEMORY)
        return purged, expired
