"""Talks to the bot in a terminal, through the chat service, as a person would in Telegram.

The console is an edge like Telegram's (:mod:`bot.simulated`: an in-memory store and a fake clock): what
it prints is what a Telegram user sees, message by message. Messages edited in place say so, buttons taken
off an older message say so, and a button of an older message can still be pressed (``2.1``), with the
answer Telegram would give. Commands (``/status``, ``/timezone Paris``, ``/stop``) and anything typed go to
the bot as they would from Telegram; ``wait`` lets time pass, and reminders arrive when they fall due.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.engine.engine import FlowEngine
from bot.flows.durations import parse_duration
from bot.localtime import zone_or_default
from bot.runtime.messages import ScreenButton
from bot.simulated import CHAT_ID, RemindersNeverStop, ShownMessage, SimulatedChat, Turn, simulated_chat

__all__ = ["Console", "plain_text"]

HELP = (
    "Type a button's number (2.1: button 1 of message #2), a command (/status, /timezone Paris, /stop...) "
    "or anything you would type in Telegram. wait (w): until the next reminder; wait 3d: three days pass. "
    "quit (q) ends."
)
LONGEST_WAIT = timedelta(days=60)
"""How far ``wait`` looks for the next reminder."""

_BUTTON = re.compile(r"(?:(\d+)\.)?(\d+)")


def plain_text(text: str) -> str:
    """Returns Telegram HTML as terminal text: bold stays visible as *stars*, tags go, entities decode."""
    text = re.sub(r"</?(b|strong)>", "*", text)
    text = re.sub(r"<a href=\"([^\"]+)\">(.*?)</a>", r"\2 (\1)", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class Console:
    """A terminal chat with the bot: prints what the bot shows, reads what the person does."""

    def __init__(
        self, engine: FlowEngine, language: str, output: TextIO, read: Callable[[], str | None]
    ) -> None:
        self.engine = engine
        self.language = language
        self.output = output
        self.read = read

    def say(self, text: str = "") -> None:
        """Prints a line."""
        print(text, file=self.output, flush=True)

    async def run(self, *, at: datetime | None = None) -> int:
        """Starts the conversation, then acts on each line until quit or the end of input; returns 0."""
        async with simulated_chat(self.engine, at=at or datetime.now(UTC), language=self.language) as chat:
            self.say(HELP)
            self.show(await chat.command("/start"))
            while (line := self.read()) is not None:
                command = line.strip()
                if command in ("q", "quit", "exit"):
                    break
                if command:
                    self.show(await self.act(chat, command))
        return 0

    async def act(self, chat: SimulatedChat, line: str) -> Turn:
        """Does what ``line`` says: press a button, wait, or send a command or a text to the bot."""
        pressed = _BUTTON.fullmatch(line)
        if pressed is not None:
            return await self.press(chat, int(pressed[1]) if pressed[1] else None, int(pressed[2]))
        wait, _, duration = line.partition(" ")
        if wait in ("w", "wait"):
            return await self.wait(chat, duration.strip())
        if line.startswith("/"):
            return await chat.command(line)
        return await chat.send(line)

    async def press(self, chat: SimulatedChat, message_id: int | None, number: int) -> Turn:
        """Presses button ``number`` of message ``message_id`` (None: the newest message with buttons)."""
        if message_id is None:
            message = next((m for m in chat.newest_first() if _pressable(m)), None)
        else:
            message = chat.messages.get(message_id)
        buttons = _pressable(message) if message is not None else []
        if message is None or not 1 <= number <= len(buttons):
            where = f" on message #{message_id}" if message_id is not None else ""
            self.say(f"There is no button {number}{where}.")
            return Turn()
        return await chat.press(message, buttons[number - 1])

    async def wait(self, chat: SimulatedChat, duration: str) -> Turn:
        """Lets ``duration`` pass (e.g. 3d), or, without one, the time until the next reminder is due."""
        try:
            delay = parse_duration(duration) if duration else await self._until_next_reminder(chat)
        except ValueError as exc:
            self.say(str(exc))
            return Turn()
        if delay is None:
            self.say("No reminder is pending.")
            return Turn()
        try:
            turn = await chat.wait(delay)
        except RemindersNeverStop as exc:
            self.say(str(exc))
            return Turn()
        record = await chat.store.load_chat(CHAT_ID)
        zone = record.settings.timezone if record is not None else "UTC"
        now = chat.clock.now().astimezone(zone_or_default(zone))
        self.say(f"\n— {now:%a %d %b %Y %H:%M} ({zone}) —")
        return turn

    async def _until_next_reminder(self, chat: SimulatedChat) -> timedelta | None:
        due = await chat.store.next_due_at()
        now = chat.clock.now()
        if due is None or due - now > LONGEST_WAIT:
            return None
        return max(due - now, timedelta(0))

    def show(self, turn: Turn) -> None:
        """Prints what changed in the chat: messages sent or edited, buttons taken off, the button's answer."""
        if turn.toast:
            self.say(f"(answer to the button: {plain_text(turn.toast)})")
        for identifier in turn.stripped:
            self.say(f"(message #{identifier} no longer has buttons)")
        for message in turn.shown:
            self._message(message, edited=message.id in turn.edited)

    def _message(self, message: ShownMessage, *, edited: bool) -> None:
        self.say()
        self.say(f"#{message.id}" + (" (edited)" if edited else ""))
        self.say(plain_text(message.text).strip())
        number = 0
        for row in message.rows:
            for button in row:
                if button.url:
                    self.say(f"    ↗ {button.label}: {button.url}")
                elif button.copy_text is not None:
                    self.say(f"    ⧉ {button.label}: {button.copy_text}")
                else:
                    number += 1
                    self.say(f"  [{number}] {button.label}")


def _pressable(message: ShownMessage) -> list[ScreenButton]:
    """Returns the buttons of a message that can be pressed (not those that open a page or copy a text)."""
    return [button for button in message.buttons() if button.data is not None]
