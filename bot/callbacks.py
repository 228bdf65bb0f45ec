"""Every kind of inline-button callback data, in one codec: what each means, its wire form, its size limit.

Telegram hands a pressed button's data back as a string of at most 64 bytes. Each kind below is a frozen
value; :func:`encode` writes it (refusing anything over the limit) and :func:`decode` reads it back, or
returns None for data the bot never wrote. The wire forms are those already sent in people's chats:
changing one makes every button on screen stale.

==================  ====================================  =========================================
kind                wire form                             written by
==================  ====================================  =========================================
FlowPress           ``<version>|<step>|<state>|<button>``  the engine, for a flow screen's buttons
ReminderPress       ``<version>|r<sequence>|<name>|<ok>``  the engine, for the buttons under a reminder
LanguageChoice      ``lang|<language>``                   the /language menu
TimezoneChoice      ``tz|<IANA zone>``                    "where are you?" and /timezone
TypePlace           ``where|type``                        "somewhere else": type a city or offset
RemindersOn         ``remind|on|<step>``                  "turn reminders back on", after a stop
StartOverChoice     ``over|keep|<step>``,                 "continue or start over?" and "start over?"
                    ``over|new[:<link>]|<step>``
ForgetChoice        ``forget|yes|<step>``, ``…no|<step>`` the /forget confirmation
Suggestion          ``suggest|[<link>]|<step>``           a situation suggested for what was typed
AskPerson           ``ask|person``, ``ask|solved``        "Ask a person", and "solved" under an answer
==================  ====================================  =========================================

The version tag is the flow version (:func:`bot.flows.loader.flow_version`): a button from another version
of the flow is recognised as such rather than misread. ``<step>`` is the conversation's step the button was
made for (the bot counts every screen it shows): a confirmation or "turn reminders back on" counts only on
the newest screen, however old a keyboard a client still shows. The forms without a step, written before,
still decode (``step`` None), so that such a button is recognised as old rather than as foreign.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from bot.errors import BotError

__all__ = [
    "CALLBACK_DATA_BYTES",
    "MAX_STEP_DIGITS",
    "AskPerson",
    "CallbackData",
    "CallbackDataTooLong",
    "FlowPress",
    "ForgetChoice",
    "LanguageChoice",
    "ReminderAnswer",
    "ReminderPress",
    "RemindersOn",
    "StartOverChoice",
    "Suggestion",
    "TimezoneChoice",
    "TypePlace",
    "decode",
    "encode",
]

CALLBACK_DATA_BYTES = 64
"""Telegram's limit (``telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA``; a test checks)."""

MAX_STEP_DIGITS = 6
"""A flow button carries its screen's step modulo 10**6: enough to tell an old screen from the current one."""

_SEPARATOR = "|"


class CallbackDataTooLong(BotError, ValueError):  # noqa: N818 the name says what went wrong
    """Callback data would exceed Telegram's 64 bytes: Telegram would refuse the whole message."""


class ReminderAnswer(Enum):
    """The buttons under a reminder; the value is the wire form."""

    CONFIRMED = "ok"
    SNOOZE_HOUR = "1h"
    SNOOZE_TOMORROW = "1d"
    SNOOZE_3DAYS = "3d"
    HELP = "help"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class FlowPress:
    """A button of a flow screen: which flow version, which screen (step, modulo 10**6, and state), which button."""

    version: str
    step: int
    state: str
    button: str

    def __post_init__(self) -> None:
        # Kept as the wire carries it, so that a press read back equals the button that was written.
        object.__setattr__(self, "step", self.step % 10**MAX_STEP_DIGITS)

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked (the flow validator measures its longest case)."""
        return f"{self.version}|{self.step}|{self.state}|{self.button}"


@dataclass(frozen=True, slots=True)
class ReminderPress:
    """A button under a reminder: which flow version sent it, which reminder, and the answer."""

    version: str
    sequence: int
    reminder: str
    answer: ReminderAnswer

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return f"{self.version}|r{self.sequence}|{self.reminder}|{self.answer.value}"


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """A language picked in the /language menu."""

    language: str

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return f"lang|{self.language}"


@dataclass(frozen=True, slots=True)
class AskPerson:
    """ "Ask a person": what the person types next goes to the operators; ``solved``: their question is."""

    solved: bool = False

    @property
    def wire(self) -> str:
        """Returns the wire form."""
        return "ask|solved" if self.solved else "ask|person"


@dataclass(frozen=True, slots=True)
class TimezoneChoice:
    """A time zone picked in the /timezone menu."""

    timezone: str

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return f"tz|{self.timezone}"


@dataclass(frozen=True, slots=True)
class TypePlace:
    """ "Somewhere else": the person will type a city or a UTC offset."""

    @property
    def wire(self) -> str:
        """Returns the wire form."""
        return "where|type"


@dataclass(frozen=True, slots=True)
class RemindersOn:
    """ "Turn reminders back on", offered wherever the bot says they are off, on the screen of ``step``."""

    step: int | None = None

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return _with_step("remind|on", self.step)


@dataclass(frozen=True, slots=True)
class StartOverChoice:
    """The answer to "continue where you were, or start over?": ``deep_link`` is where starting over lands."""

    start_over: bool
    deep_link: str | None = None
    step: int | None = None

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        if not self.start_over:
            return _with_step("over|keep", self.step)
        answer = "over|new" if self.deep_link is None else f"over|new:{self.deep_link}"
        return _with_step(answer, self.step)


@dataclass(frozen=True, slots=True)
class ForgetChoice:
    """The answer to "delete everything about me?"."""

    confirmed: bool
    step: int | None = None

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return _with_step("forget|yes" if self.confirmed else "forget|no", self.step)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A situation suggested for what the person typed: a deep link, or None for the first screen."""

    deep_link: str | None
    step: int

    @property
    def wire(self) -> str:
        """Returns the wire form, unchecked."""
        return f"suggest|{self.deep_link or ''}|{self.step % 10**MAX_STEP_DIGITS}"


def _with_step(wire: str, step: int | None) -> str:
    return wire if step is None else f"{wire}{_SEPARATOR}{step % 10**MAX_STEP_DIGITS}"


CallbackData = (
    FlowPress
    | ReminderPress
    | LanguageChoice
    | TimezoneChoice
    | TypePlace
    | RemindersOn
    | StartOverChoice
    | ForgetChoice
    | Suggestion
    | AskPerson
)


def encode(data: CallbackData) -> str:
    """Returns the wire form of ``data``; raises CallbackDataTooLong past Telegram's 64 bytes."""
    wire = data.wire
    # Counting characters first skips the encoding in the usual case: UTF-8 takes at least a byte each.
    if len(wire) > CALLBACK_DATA_BYTES // 4 and len(wire.encode()) > CALLBACK_DATA_BYTES:
        raise CallbackDataTooLong(f"callback data {wire!r} is over {CALLBACK_DATA_BYTES} bytes")
    return wire


def _start_over(value: str) -> StartOverChoice | None:
    if value == "keep":
        return StartOverChoice(start_over=False)
    if value == "new":
        return StartOverChoice(start_over=True)
    link = value.removeprefix("new:")
    return StartOverChoice(True, link) if link != value and link else None


def _menu(kind: str, value: str) -> CallbackData | None:
    """Reads the two-part forms (a step, when there is one, is added by :func:`_bound`)."""
    if kind == "lang" and value:
        return LanguageChoice(value)
    if kind == "tz" and value:
        return TimezoneChoice(value)
    if kind == "forget" and value in ("yes", "no"):
        return ForgetChoice(value == "yes")
    if kind == "where" and value == "type":
        return TypePlace()
    if kind == "remind" and value == "on":
        return RemindersOn()
    if kind == "over":
        return _start_over(value)
    if kind == "ask" and value in ("person", "solved"):
        return AskPerson(solved=value == "solved")
    return None


def _bound(kind: str, value: str, step: str) -> CallbackData | None:
    """Reads a button made for one step: a confirmation, "turn reminders back on", a suggestion."""
    if not step.isdigit():
        return None
    if kind == "suggest":
        return Suggestion(value or None, int(step))
    if kind not in ("forget", "remind", "over"):
        return None
    unbound = _menu(kind, value)
    if not isinstance(unbound, ForgetChoice | RemindersOn | StartOverChoice):
        return None
    return replace(unbound, step=int(step))


def decode(wire: str) -> CallbackData | None:
    """Returns what a pressed button's data means, or None for data this bot never wrote."""
    parts = wire.split(_SEPARATOR)
    if len(parts) == 2:
        return _menu(*parts)
    if len(parts) == 3:
        return _bound(*parts)
    if len(parts) != 4:
        return None
    version, step, name, last = parts
    if step.startswith("r") and step[1:].isdigit():
        try:
            return ReminderPress(version, int(step[1:]), name, ReminderAnswer(last))
        except ValueError:
            return None
    if step.isdigit():
        return FlowPress(version, int(step), name, last)
    return None
