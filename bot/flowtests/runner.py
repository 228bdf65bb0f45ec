"""Runs flow-test cases through the application core, the way Telegram and time would drive it.

Each case gets its own simulated chat (:mod:`bot.simulated`: the chat service on the real engine, an
in-memory store and a fake clock): /start (or a deep link) and commands go through the command units,
presses through the button units with the callback data the screen carries, and a clock move fires every
reminder that falls due on the way, at its own time. The simulated chat applies edits in place, so a press
on an older message is as stale as it would be in Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.callbacks import (
    FlowPress,
    ForgetChoice,
    LanguageChoice,
    ReminderAnswer,
    ReminderPress,
    Suggestion,
    TimezoneChoice,
    decode,
)
from bot.engine.engine import FlowEngine
from bot.engine.screens import CHECKED, UNCHECKED, ScreenButton
from bot.flows import Problem
from bot.flows.errors import did_you_mean
from bot.flows.graph import Location
from bot.flowtests.loader import CaseFile
from bot.flowtests.model import Expect, FlowCase, PressStep, Step, TypeStep, WaitStep
from bot.simulated import CHAT_ID, RemindersNeverStop, ShownMessage, SimulatedChat, Turn, simulated_chat
from bot.store import Reminder

__all__ = ["DEFAULT_START", "REMINDER_BUTTON_IDS", "CaseResult", "RunReport", "run_case_files"]

DEFAULT_START = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Pacific/Noumea"))
"""When a case starts unless it says otherwise: a Monday morning in Nouméa, outside the quiet hours."""

REMINDER_BUTTON_IDS = {
    ReminderAnswer.CONFIRMED: "confirmed",
    ReminderAnswer.SNOOZE_HOUR: "snooze_hour",
    ReminderAnswer.SNOOZE_TOMORROW: "snooze_tomorrow",
    ReminderAnswer.SNOOZE_3DAYS: "snooze_3days",
    ReminderAnswer.HELP: "help",
    ReminderAnswer.STOP: "stop",
}
"""The ids of the buttons under a reminder, named like their ``ui.reminder.*`` texts."""

_QUOTED_CHARACTERS = 60
_HREF = re.compile(r"""<a\s[^>]*href=["']([^"']+)["']""")


class _StepError(Exception):
    """A step could not be taken: the button to press is not in the chat, or reminders never stop."""


@dataclass(frozen=True, slots=True)
class Seen:
    """What the person saw at one step, and where the stored conversation stands after it."""

    messages: tuple[ShownMessage, ...]
    toast: str | None
    state: str | None
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's outcome: no failures means it passed."""

    path: Path
    name: str
    failures: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class RunReport:
    """Every case's outcome, in file and case order."""

    results: tuple[CaseResult, ...]
    files: int

    @property
    def failures(self) -> tuple[Problem, ...]:
        """Returns every failure, each with its file, line and column."""
        return tuple(problem for result in self.results for problem in result.failures)

    @property
    def failed(self) -> int:
        """Returns how many cases failed."""
        return sum(1 for result in self.results if result.failures)

    def as_text(self) -> str:
        """Returns the failures, one per line, then a summary line."""
        cases = len(self.results)
        plural = "s" if cases != 1 else ""
        if not self.failed:
            return f"ok: {cases} case{plural} in {self.files} file{'s' if self.files != 1 else ''}"
        return "\n".join([*map(str, self.failures), f"{self.failed} of {cases} case{plural} failed"])


def button_id(button: ScreenButton) -> str | None:
    """Returns the id a case may press a button by: its flow id, a reminder answer, a menu choice."""
    pressed = decode(button.data) if button.data is not None else None
    if isinstance(pressed, FlowPress):
        return pressed.button
    if isinstance(pressed, ReminderPress):
        return REMINDER_BUTTON_IDS[pressed.answer]
    if isinstance(pressed, LanguageChoice):
        return pressed.language
    if isinstance(pressed, TimezoneChoice):
        return pressed.timezone
    if isinstance(pressed, ForgetChoice):
        return "yes" if pressed.confirmed else "no"
    if isinstance(pressed, Suggestion):
        return pressed.deep_link or "none"
    return None


def _names(button: ScreenButton) -> set[str]:
    """Returns what a case may call a button: its label (with or without a checklist mark) and its id."""
    names = {button.label, button.label.removeprefix(f"{CHECKED} ").removeprefix(f"{UNCHECKED} ")}
    identifier = button_id(button)
    if identifier is not None:
        names.add(identifier)
    return names


def _described(button: ScreenButton) -> str:
    identifier = button_id(button)
    return f'"{button.label}"' + (f" ({identifier})" if identifier else "")


def _quoted(text: str) -> str:
    short = text if len(text) <= _QUOTED_CHARACTERS else text[: _QUOTED_CHARACTERS - 1] + "…"
    return f'"{short}"'


async def _press(chat: SimulatedChat, wanted: str) -> Turn:
    """Presses the newest button called ``wanted``; raises _StepError when there is none."""
    newest_first = chat.newest_first()
    for message in newest_first:
        for button in message.buttons():
            if wanted not in _names(button):
                continue
            if button.data is None:
                raise _StepError(f'"{wanted}" opens a web page ({button.url}): it cannot be pressed')
            return await chat.press(message, button)
    offered = [button for message in newest_first for button in message.buttons() if button.data]
    names = {name for button in offered for name in _names(button)}
    listed = ", ".join(map(_described, offered)) or "none"
    raise _StepError(f'no button "{wanted}" in the chat{did_you_mean(wanted, names)}; buttons: {listed}')


async def _seen(chat: SimulatedChat, turn: Turn) -> Seen:
    """Returns what the person saw in ``turn``, and where the stored conversation stands after it."""
    record = await chat.store.load_chat(CHAT_ID)
    conversation = record.conversation if record is not None else None
    # A stopped chat's reminders are kept for turning them back on, but none of them will come.
    stopped = record is not None and record.settings.reminders_stopped
    reminders = [] if stopped else await chat.store.reminders_of(CHAT_ID)
    state = conversation.state if conversation is not None else None
    return Seen(turn.shown, turn.toast, state, tuple(reminders))


async def run_case_files(files: Sequence[CaseFile]) -> RunReport:
    """Runs every case of every file, each in a fresh chat with its own store and clock."""
    engines: dict[tuple[str, str], FlowEngine] = {}
    results: list[CaseResult] = []
    for case_file in files:
        bundle = case_file.bundle
        # Engines are immutable and costly to build: one per flow version serves every case.
        engine = engines.setdefault((bundle.flow.id, bundle.version), FlowEngine(bundle))
        for name, case in case_file.tests.cases.items():
            results.append(await run_case(engine, case_file, name, case))
    return RunReport(tuple(results), len(files))


async def run_case(engine: FlowEngine, case_file: CaseFile, name: str, case: FlowCase) -> CaseResult:
    """Runs one case; it stops at the first step whose expectations do not all hold."""
    located = case_file.located
    here: Location = ("cases", name)
    failures: list[Problem] = []
    async with simulated_chat(
        engine, at=(case.at or DEFAULT_START).astimezone(UTC), language=case.language
    ) as chat:
        start = "/start" + (f" {case.deep_link}" if case.deep_link else "")
        seen = await _seen(chat, await chat.command(start))
        failures += _failures(case_file, (*here, "expect"), f"{name}, after {start}", case.expect, seen)
        for index, step in enumerate(case.steps):
            if failures:
                break
            at: Location = (*here, "steps", index)
            what = f"{name}, step {index + 1} ({_describe(case_file, at, step)})"
            try:
                seen = await _seen(chat, await _take(chat, step))
            except (_StepError, RemindersNeverStop) as exc:
                failures.append(located.problem((*at, _kind(step)), f"{what}: {exc}"))
                break
            failures += _failures(case_file, (*at, "expect"), what, step.expect, seen)
    return CaseResult(case_file.path, name, tuple(failures))


async def _take(chat: SimulatedChat, step: Step) -> Turn:
    if isinstance(step, PressStep):
        return await _press(chat, step.press)
    if isinstance(step, WaitStep):
        return await chat.wait(step.wait)
    if isinstance(step, TypeStep):
        return await chat.send(step.types)
    return await chat.command(step.command)


def _kind(step: Step) -> str:
    if isinstance(step, PressStep):
        return "press"
    if isinstance(step, TypeStep):
        return "types"
    return "wait" if isinstance(step, WaitStep) else "command"


def _describe(case_file: CaseFile, at: Location, step: Step) -> str:
    if isinstance(step, PressStep):
        return f'press "{step.press}"'
    if isinstance(step, WaitStep):
        written = case_file.located.data["cases"][at[1]]["steps"][at[3]]["wait"]
        return f"wait {written}"
    if isinstance(step, TypeStep):
        return f"types {_quoted(step.types)}"
    return step.command


def _failures(
    case_file: CaseFile, at: Location, what: str, expect: Expect | None, seen: Seen
) -> list[Problem]:
    if expect is None:
        return []
    # In the order they are written, as the validator reports problems.
    return sorted(
        case_file.located.problem((*at, *where), f"{what}: {message}")
        for where, message in check(expect, seen)
    )


def _listed(value: str | list[str]) -> list[tuple[Location, str]]:
    """Returns one text or each of several, with where each is written below its field."""
    if isinstance(value, str):
        return [((), value)]
    return [((index,), text) for index, text in enumerate(value)]


Failure = tuple[Location, str]
"""An expectation that does not hold: where it is written below ``expect``, and what was seen instead."""


def check(expect: Expect, seen: Seen) -> list[Failure]:
    """Returns each expectation that does not hold, with where it is written below ``expect``."""
    return [
        *_state_failures(expect, seen),
        *_text_failures(expect, seen),
        *_button_failures(expect, seen),
        *_link_failures(expect, seen),
        *_reminder_failures(expect, seen),
        *_count_and_toast_failures(expect, seen),
        *_suggestion_failures(expect, seen),
    ]


def _suggestion_failures(expect: Expect, seen: Seen) -> list[Failure]:
    if expect.suggests is None:
        return []
    buttons = [button for message in seen.messages for button in message.buttons()]
    suggested = [
        pressed.deep_link
        for button in buttons
        if isinstance(pressed := decode(button.data or ""), Suggestion) and pressed.deep_link is not None
    ]
    if suggested == expect.suggests:
        return []
    wanted = ", ".join(expect.suggests) or "no suggestion"
    return [(("suggests",), f"expected the suggestions {wanted}, saw {', '.join(suggested) or 'none'}")]


def _state_failures(expect: Expect, seen: Seen) -> list[Failure]:
    if expect.state is None or seen.state == expect.state:
        return []
    saw = f"'{seen.state}'" if seen.state is not None else "no conversation"
    return [(("state",), f"expected state '{expect.state}', saw {saw}")]


def _saw_texts(seen: Seen) -> str:
    return ", ".join(_quoted(message.visible_text) for message in seen.messages) or "nothing"


def _text_failures(expect: Expect, seen: Seen) -> list[Failure]:
    texts = [message.visible_text for message in seen.messages]
    failures: list[Failure] = []
    for where, wanted in _listed(expect.text_contains):
        if not any(wanted in text for text in texts):
            message = f'expected a message containing "{wanted}", saw {_saw_texts(seen)}'
            failures.append((("text_contains", *where), message))
    for where, unwanted in _listed(expect.text_not_contains):
        found = [text for text in texts if unwanted in text]
        if found:
            message = f'expected no message containing "{unwanted}", saw {", ".join(map(_quoted, found))}'
            failures.append((("text_not_contains", *where), message))
    return failures


def _button_failures(expect: Expect, seen: Seen) -> list[Failure]:
    buttons = [button for message in seen.messages for button in message.buttons()]
    saw_buttons = ", ".join(map(_described, buttons)) or "no buttons"
    failures: list[Failure] = []
    for index, wanted in enumerate(expect.buttons):
        if not any(wanted in _names(button) for button in buttons):
            failures.append((("buttons", index), f'expected a button "{wanted}", saw {saw_buttons}'))
    for index, unwanted in enumerate(expect.no_buttons):
        found = [button for button in buttons if unwanted in _names(button)]
        if found:
            message = f'expected no button "{unwanted}", saw {", ".join(map(_described, found))}'
            failures.append((("no_buttons", index), message))
    return failures


def _link_failures(expect: Expect, seen: Seen) -> list[Failure]:
    buttons = [button for message in seen.messages for button in message.buttons()]
    links: list[tuple[str | None, str]] = [
        (button.label, button.url) for button in buttons if button.url is not None
    ]
    links += [(None, url) for message in seen.messages for url in _HREF.findall(message.text)]
    saw_links = ", ".join(_link(label, url) for label, url in links) or "no links"
    failures: list[Failure] = []
    for index, wanted in enumerate(expect.links):
        if not any(wanted in (label, url) for label, url in links):
            failures.append((("links", index), f'expected a link "{wanted}", saw {saw_links}'))
    for index, unwanted in enumerate(expect.no_links):
        found = [(label, url) for label, url in links if unwanted in (label, url)]
        if found:
            shown = ", ".join(_link(label, url) for label, url in found)
            failures.append((("no_links", index), f'expected no link "{unwanted}", saw {shown}'))
    return failures


def _reminder_failures(expect: Expect, seen: Seen) -> list[Failure]:
    if expect.reminders is None:
        return []
    pending = sorted(seen.reminders, key=lambda reminder: (reminder.due_at, reminder.name))
    if sorted(expect.reminders) == sorted(reminder.name for reminder in pending):
        return []
    wanted_text = ", ".join(sorted(expect.reminders))
    expected = f"pending reminders [{wanted_text}]" if wanted_text else "no pending reminder"
    saw = ", ".join(f"{r.name} (due {r.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" for r in pending)
    return [(("reminders",), f"expected {expected}, saw {saw or 'none'}")]


def _count_and_toast_failures(expect: Expect, seen: Seen) -> list[Failure]:
    failures: list[Failure] = []
    if expect.messages is not None and len(seen.messages) != expect.messages:
        plural = "s" if expect.messages != 1 else ""
        saw = f"{len(seen.messages)}: {_saw_texts(seen)}" if seen.messages else "none"
        failures.append((("messages",), f"expected {expect.messages} message{plural}, saw {saw}"))
    if expect.toast is not None and (seen.toast is None or expect.toast not in seen.toast):
        saw = _quoted(seen.toast) if seen.toast is not None else "none"
        failures.append((("toast",), f'expected a toast containing "{expect.toast}", saw {saw}'))
    return failures


def _link(label: str | None, url: str) -> str:
    return f'"{label}" <{url}>' if label is not None else f"<{url}>"
