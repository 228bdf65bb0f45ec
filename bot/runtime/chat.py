"""What a unit reads (:class:`Chat`) and what it returns (:class:`Result`), and the steps units share.

A unit is a plain function from one event's view of a chat to an immutable result; it never writes. The
chat service commits the result once (:mod:`bot.runtime.commit`), so the order in which a unit builds
its result cannot leave half an update in the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.engine import Effect
from bot.engine.conversation import Conversation
from bot.engine.engine import FlowEngine, Screen, ScreenButton, StepResult
from bot.localtime import format_when, parse_timezone
from bot.runtime.messages import OutgoingMessage
from bot.store import Reminder, UserSettings

__all__ = [
    "LONG_PAUSE",
    "QUOTED_INPUT_CHARACTERS",
    "Chat",
    "Result",
    "set_timezone",
    "show_current",
    "start_over",
    "step_result",
]

LONG_PAUSE = timedelta(hours=6)
"""After this long without activity, the next screen comes as a new message rather than an edit far up."""

QUOTED_INPUT_CHARACTERS = 64
"""At most this much of what a person typed is quoted back to them."""


@dataclass(frozen=True, slots=True)
class Result:
    """What one event changes about a chat, committed at once: settings, conversation, effects, messages.

    ``messages`` go to the outbox with the commit; ``direct`` ones are sent without it (they quote what
    was typed, or confirm that everything about the chat is deleted). ``forget`` deletes the chat
    instead of committing anything else.
    """

    settings: UserSettings
    conversation: Conversation | None
    messages: tuple[OutgoingMessage, ...] = ()
    direct: tuple[OutgoingMessage, ...] = ()
    effects: tuple[Effect, ...] = ()
    toast: str | None = None
    forget: bool = False

    def then(self, later: Result) -> Result:
        """Returns this result followed by ``later``, a result computed from this one's chat."""
        return Result(
            settings=later.settings,
            conversation=later.conversation,
            messages=self.messages + later.messages,
            direct=self.direct + later.direct,
            effects=self.effects + later.effects,
            toast=later.toast or self.toast,
            forget=self.forget or later.forget,
        )


@dataclass(frozen=True, slots=True)
class Chat:
    """One event's view of a chat: its settings and conversation, the time, and its texts.

    ``screen_id`` is the message showing the conversation's screen, or None when a new message is
    better (none yet, or it is far up the chat after a long pause).
    """

    id: int
    settings: UserSettings
    conversation: Conversation | None
    screen_id: int | None
    now: datetime
    engine: FlowEngine
    pending_reminders: Callable[[], Awaitable[Sequence[Reminder]]]
    """Reads the chat's pending reminders (only /status needs them: one more trip to the store)."""

    @property
    def language(self) -> str:
        """Returns the chat's language, or the flow's first when the stored one is no longer offered."""
        languages = self.engine.bundle.texts.languages
        language = self.settings.language
        return language if language in languages else languages[0]

    def text(self, key: str, values: Mapping[str, str] | None = None) -> str:
        """Returns a runtime text in the chat's language."""
        return self.engine.plain(self.language, key, values)

    def notice(
        self,
        key: str,
        values: Mapping[str, str] | None = None,
        *,
        rows: tuple[tuple[ScreenButton, ...], ...] = (),
        edit: int | None = None,
    ) -> OutgoingMessage:
        """Returns a runtime text (not a flow screen) as a message: new, or in place of ``edit``."""
        return OutgoingMessage(self.id, self.text(key, values), rows, edit)

    def show(self, screen: Screen, *, edit: int | None = None, shows_screen: bool = True) -> OutgoingMessage:
        """Returns the message that shows ``screen``."""
        return OutgoingMessage.of(self.id, screen, edit=edit, shows_screen=shows_screen)

    def keep(
        self,
        *messages: OutgoingMessage,
        toast: str | None = None,
        direct: tuple[OutgoingMessage, ...] = (),
    ) -> Result:
        """Returns a result that changes nothing stored and shows ``messages``."""
        return Result(self.settings, self.conversation, messages, direct, toast=toast)

    def after(self, result: Result) -> Chat:
        """Returns this chat as ``result`` leaves it, for a unit that continues from there."""
        return replace(self, settings=result.settings, conversation=result.conversation)


def start_over(chat: Chat, deep_link: str | None = None) -> Result:
    """Starts the flow afresh (reminders too), optionally where a deep link points."""
    started = chat.engine.start(chat.language, deep_link)
    settings = replace(chat.settings, reminders_stopped=False)
    return step_result(replace(chat, settings=settings), started, edit=None)


def step_result(chat: Chat, step: StepResult, *, edit: int | None, shows_screen: bool = True) -> Result:
    """Returns the result of an engine step: its conversation, effects and toast, and its screen shown."""
    message = chat.show(step.screen, edit=edit, shows_screen=shows_screen)
    return Result(chat.settings, step.conversation, (message,), effects=step.effects, toast=step.toast)


def show_current(chat: Chat, *, edit: int | None = None, before: Sequence[OutgoingMessage] = ()) -> Result:
    """Shows the current screen again (after ``before``), starting a conversation if there is none."""
    if chat.conversation is None:
        return chat.keep(*before).then(start_over(chat))
    return chat.keep(*before, chat.show(chat.engine.render(chat.conversation), edit=edit))


def set_timezone(chat: Chat, wanted: str, *, edit: int | None) -> Result:
    """Sets the time zone a person typed or picked, or says it is unknown (quoting them, never storing it)."""
    try:
        zone = parse_timezone(wanted)
    except ValueError:
        quoted = wanted[:QUOTED_INPUT_CHARACTERS]
        return chat.keep(direct=(chat.notice("ui.timezone.unknown", {"input": quoted}, edit=edit),))
    name = str(zone)
    local = format_when(chat.now, zone, chat.language, chat.now)
    settings = replace(chat.settings, timezone=name)
    done = chat.notice("ui.timezone.set", {"timezone": name, "now": local}, edit=edit)
    return Result(settings, chat.conversation, (done,))
