"""Walks the flow in a terminal with numbered buttons, through the same engine the bot uses."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TextIO

from bot.callbacks import ReminderPress
from bot.engine import Conversation, ScheduleReminder
from bot.engine.engine import FlowEngine, StepResult
from bot.engine.screens import Screen

__all__ = ["Console", "plain_text"]

HELP = (
    "Type a button's number. Other commands: r = restart, l <lang> = language ({languages}), "
    "w = skip ahead to the next reminder, q = quit."
)


def plain_text(text: str) -> str:
    """Returns Telegram HTML as terminal text: bold stays visible as *stars*, tags go, entities decode."""
    text = re.sub(r"</?(b|strong)>", "*", text)
    text = re.sub(r"<a href=\"([^\"]+)\">(.*?)</a>", r"\2 (\1)", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class Console:
    """A terminal conversation: prints each screen, reads a number, presses that button."""

    def __init__(
        self, engine: FlowEngine, language: str, output: TextIO, read: Callable[[], str | None]
    ) -> None:
        self.engine = engine
        self.output = output
        self.read = read
        self.language = language
        self.pending: dict[str, int] = {}
        self.conversation: Conversation | None = None
        self.screen = Screen("")

    def say(self, text: str = "") -> None:
        """Prints a line."""
        print(text, file=self.output, flush=True)

    def show(self, screen: Screen) -> None:
        """Prints a screen with numbered buttons; web links are listed with their address."""
        self.screen = screen
        self.say()
        self.say(plain_text(screen.text).strip())
        self.say()
        number = 0
        for row in screen.rows:
            for button in row:
                if button.url:
                    self.say(f"    ↗ {button.label}: {button.url}")
                elif button.copy_text is not None:
                    self.say(f"    {button.label}: {button.copy_text}")
                else:
                    number += 1
                    self.say(f"  [{number}] {button.label}")

    def _apply(self, result: StepResult) -> None:
        if result.toast:
            self.say(f"({result.toast})")
        self.conversation = result.conversation
        for effect in result.effects:
            if isinstance(effect, ScheduleReminder):
                self.pending[effect.name] = effect.sequence
                hours = effect.delay.total_seconds() / 3600
                self.say(f"(a reminder '{effect.name}' is due in {hours:g} h; type w to receive it now)")
        self.show(result.screen)
        if result.conversation.finished:
            self.say("(the conversation is finished; r restarts it, q quits)")

    def _press(self, number: int) -> None:
        presses = [button.press for row in self.screen.rows for button in row if button.press]
        if not 1 <= number <= len(presses) or self.conversation is None:
            self.say(f"There is no button {number}.")
            return
        pressed = presses[number - 1]
        if isinstance(pressed, ReminderPress):
            result = self.engine.answer_reminder(self.conversation, pressed)
        else:
            result = self.engine.press(self.conversation, pressed)
        self._apply(result)

    def _remind(self) -> None:
        if self.conversation is None or not self.pending:
            self.say("No reminder is pending.")
            return
        name, sequence = next(iter(self.pending.items()))
        del self.pending[name]
        result = self.engine.reminder_due(self.conversation, name, sequence)
        if result is None:
            self.say("(that reminder no longer applies: the conversation moved on)")
            return
        self.say("— reminder —")
        self._apply(result)

    def run(self) -> int:
        """Runs until q or the end of input; returns the exit status."""
        languages = ", ".join(self.engine.bundle.texts.languages)
        self.say(HELP.format(languages=languages))
        self._apply(self.engine.start(self.language))
        while True:
            line = self.read()
            if line is None:
                return 0
            command = line.strip()
            if command in ("q", "quit", "exit"):
                return 0
            if command == "r":
                self.pending.clear()
                self._apply(self.engine.start(self.language))
            elif command.startswith("l "):
                self._language(command[2:].strip())
            elif command == "w":
                self._remind()
            elif command.isdigit():
                self._press(int(command))
            elif command:
                self.say(HELP.format(languages=languages))

    def _language(self, language: str) -> None:
        if language not in self.engine.bundle.texts.languages or self.conversation is None:
            self.say(f"Unknown language {language!r}.")
            return
        self.language = language
        self.conversation = self.conversation.with_language(language)
        self.show(self.engine.screens.render(self.conversation))
