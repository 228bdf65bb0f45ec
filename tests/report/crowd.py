"""A crowd for the operators' reports: people walking the real flow through the real service and store."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import ButtonPressed, CommandSent
from bot.runtime.service import ChatService, Reply
from bot.store import SqliteStore, Store
from testkit.screens import button_id

__all__ = ["walk_crowd"]

# Buttons a person leaving the waiting screen presses: "I got the answer" ends the wait.
_ANSWER = "got_it"


def _buttons(reply: Reply) -> list[tuple[str, str]]:
    """Returns the (label, callback data) of the newest message's buttons that lead somewhere."""
    for queued in reversed(reply.messages):
        rows = queued.message.rows
        found = [(b.label, b.data) for row in rows for b in row if b.data]
        if found:
            return found
    return []


async def _person(service: ChatService, clock: FakeClock, chat_id: int, chooser: random.Random) -> None:
    """One person: a start (or a seller's link), then up to twelve presses, some days apart."""
    link = chooser.choice([None, None, "airalo", "holafly"])
    reply = await service.handle(CommandSent(chat_id, command="start", argument=link or ""))
    for _ in range(chooser.randrange(1, 13)):
        buttons = _buttons(reply)
        if not buttons:
            return
        answered = [button for button in buttons if button_id(button[1]) == _ANSWER]
        if answered and chooser.random() < 0.7:
            clock.advance(timedelta(hours=chooser.randrange(2, 120)))
            buttons = answered
        clock.advance(timedelta(minutes=chooser.randrange(1, 5)))
        reply = await service.handle(ButtonPressed(chat_id, data=chooser.choice(buttons)[1]))


async def walk_crowd(store: Store, bundle: FlowBundle, start: datetime, people: int, seed: int = 18) -> None:
    """Walks ``people`` through the flow, each starting an hour after the one before, on their own clock."""
    chooser = random.Random(seed)
    engine = FlowEngine(bundle)
    for chat_id in range(1, people + 1):
        clock = FakeClock(start + timedelta(hours=chat_id))
        await _person(ChatService(engine, store, clock), clock, chat_id, chooser)


async def crowd_database(path: Path, bundle: FlowBundle, start: datetime, people: int) -> None:
    """Writes a database at ``path`` with a crowd in it."""
    async with SqliteStore(path) as store:
        await walk_crowd(store, bundle, start, people)
