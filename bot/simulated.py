"""A chat with the bot without Telegram: the third edge, driven by the console and by the flow tests.

It takes the path an update takes from Telegram: an event goes to the chat service, which commits it,
and the committed messages are "delivered" to a simulated chat that applies edits in place and takes
buttons off as Telegram would, then recorded as delivered, as the real edge records them. The store is
in memory and the clock is fake: waiting moves the clock on and sends each reminder that falls due, at
its own time. What the simulated chat holds is what a person would see in Telegram.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.errors import BotError
from bot.runtime.events import ButtonPressed, CommandSent, Incoming, MessageSent
from bot.runtime.messages import OutgoingMessage, QueuedMessage, Rows, ScreenButton
from bot.runtime.service import ChatService
from bot.store import Commit, SqliteStore, UserSettings

__all__ = ["CHAT_ID", "RemindersNeverStop", "ShownMessage", "SimulatedChat", "Turn", "simulated_chat"]

CHAT_ID = 1
MOST_REMINDERS_PER_WAIT = 1000
_TAG = re.compile(r"<[^>]+>")


class RemindersNeverStop(BotError):  # noqa: N818 the name says what is the case
    """More reminders fell due during one wait than any flow should send: they never stop."""


@dataclass(frozen=True, slots=True)
class ShownMessage:
    """A message as it stands in the person's chat."""

    id: int
    text: str
    rows: Rows

    @property
    def visible_text(self) -> str:
        """Returns the text as the person reads it: no tags, entities decoded, spaces collapsed."""
        return " ".join(html.unescape(_TAG.sub("", self.text)).split())

    def buttons(self) -> Iterator[ScreenButton]:
        """Yields the message's buttons, row by row."""
        for row in self.rows:
            yield from row


@dataclass(frozen=True, slots=True)
class Turn:
    """What one thing the person did (or the time passing) changed in the chat, in order."""

    shown: tuple[ShownMessage, ...] = ()
    """Messages sent or edited, as they now stand."""
    edited: frozenset[int] = frozenset()
    """Which of ``shown`` were edited in place rather than sent."""
    stripped: tuple[int, ...] = ()
    """Messages whose buttons were taken off (their text stays)."""
    toast: str | None = None
    """The short notice a pressed button is answered with."""

    def then(self, later: Turn) -> Turn:
        """Returns this turn followed by ``later``."""
        return Turn(
            self.shown + later.shown,
            self.edited | later.edited,
            self.stripped + later.stripped,
            later.toast or self.toast,
        )


@dataclass(slots=True)
class SimulatedChat:
    """One person's chat with the bot: the messages in it, what they do, and the time passing."""

    service: ChatService
    store: SqliteStore
    clock: FakeClock
    messages: dict[int, ShownMessage] = field(default_factory=dict)
    _last_message_id: int = 0
    _last_update_id: int = 0

    async def command(self, text: str) -> Turn:
        """Sends a command such as ``/start airalo`` or ``/timezone Paris``."""
        name, _, argument = text.removeprefix("/").partition(" ")
        return await self._handle(
            CommandSent(CHAT_ID, name.lower(), argument.strip(), update_id=self._update())
        )

    async def press(self, message: ShownMessage, button: ScreenButton) -> Turn:
        """Presses a button that carries callback data, on the message it is shown on."""
        if button.data is None:
            raise ValueError(f"{button.label!r} opens a page or copies a text: it cannot be pressed")
        return await self._handle(ButtonPressed(CHAT_ID, button.data, message.id, update_id=self._update()))

    async def send(self, text: str | None) -> Turn:
        """Types ``text`` (None: a sticker or a photo)."""
        return await self._handle(MessageSent(CHAT_ID, text, update_id=self._update()))

    async def wait(self, duration: timedelta) -> Turn:
        """Moves the clock on by ``duration``, sending each reminder that falls due meanwhile at its time."""
        until = self.clock.now() + duration
        turn = Turn()
        for _ in range(MOST_REMINDERS_PER_WAIT):
            due_at = await self.store.next_due_at()
            if due_at is None or due_at > until:
                break
            self.clock.set(max(due_at, self.clock.now()))
            for reminder in await self.store.due_reminders(self.clock.now(), MOST_REMINDERS_PER_WAIT):
                async with self.service.locks.hold(reminder.chat_id):
                    turn = turn.then(await self._deliver(await self.service.reminder_due(reminder)))
        else:
            raise RemindersNeverStop(
                f"more than {MOST_REMINDERS_PER_WAIT} reminders fell due: they never stop"
            )
        self.clock.set(until)
        return turn

    def newest_first(self) -> list[ShownMessage]:
        """Returns the chat's messages, the newest first."""
        return sorted(self.messages.values(), key=lambda message: message.id, reverse=True)

    async def _handle(self, incoming: Incoming) -> Turn:
        async with self.service.locks.hold(CHAT_ID):
            reply = await self.service.handle(incoming)
            # In the edge's order: the committed messages, then the direct ones.
            turn = await self._deliver(reply.messages)
            for message in reply.direct:
                turn = turn.then(self._show(message))
        return replace(turn, toast=reply.toast)

    async def _deliver(self, queued: Sequence[QueuedMessage]) -> Turn:
        """Shows committed messages and records that each went out, as the edge does."""
        turn = Turn()
        for item in queued:
            if item.message.strip and item.message.edit is not None:
                # Buttons taken off an older message: its text stays, and nothing new appears in the chat.
                turn = turn.then(self._strip(item.message.edit))
                await self.service.outbox.delivered(item, item.message.edit)
                continue
            shown = self._show(item.message)
            await self.service.outbox.delivered(item, shown.shown[0].id)
            turn = turn.then(shown)
        return turn

    def _strip(self, identifier: int) -> Turn:
        message = self.messages.get(identifier)
        if message is None or not message.rows:
            return Turn()
        self.messages[identifier] = replace(message, rows=())
        return Turn(stripped=(identifier,))

    def _show(self, message: OutgoingMessage) -> Turn:
        edited = message.edit is not None and message.edit in self.messages
        if message.edit is not None and edited:
            identifier = message.edit
        else:
            self._last_message_id += 1
            identifier = self._last_message_id
        shown = ShownMessage(identifier, message.text, message.rows)
        self.messages[identifier] = shown
        return Turn((shown,), frozenset({identifier}) if edited else frozenset())

    def _update(self) -> int:
        self._last_update_id += 1
        return self._last_update_id


@contextlib.asynccontextmanager
async def simulated_chat(engine: FlowEngine, *, at: datetime, language: str) -> AsyncIterator[SimulatedChat]:
    """Opens a chat on ``engine`` with an in-memory store and a fake clock set ``at``, in ``language``."""
    clock = FakeClock(at)
    async with SqliteStore(":memory:") as store:
        # The person's language as if picked with /language: Telegram's language code reaches only some.
        await store.commit(Commit(CHAT_ID, settings=UserSettings(CHAT_ID, language)), clock.now())
        yield SimulatedChat(ChatService(engine, store, clock), store, clock)
