"""The console's chat (bot.simulated) shows what Telegram shows: the same walk, message for message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.simulated import SimulatedChat, Turn, simulated_chat
from testkit import FakeBotApi
from tests.telegram.conftest import NOON_IN_NOUMEA, nothing_more_happens

Chat = list[tuple[str, list[str]]]
"""Every message of the bot in a chat, oldest first: its text as read, and its buttons' labels."""

Step = str | timedelta
"""A command or typed text as sent, a button tapped (the newest one with that label), or time passing
(long enough for one reminder to come)."""

TYPED = "hello"
SUBMITTED = ("/start airalo", "Let's start", "Still has data", "I've submitted it")
WALKS: dict[str, tuple[Sequence[Step], str]] = {
    "commands and typed text": ((*SUBMITTED, "/status", TYPED, "/stop"), "I only work with the buttons"),
    "a reminder, snoozed": (
        (*SUBMITTED, timedelta(days=7, minutes=1), "In 1 hour", "/status"),
        "Any news from Airalo?",
    ),
}
"""Each walk, and a text the chat shows at its end (so that both sides are known to have walked it)."""


async def tap(chat: SimulatedChat, label: str) -> Turn:
    message, button = next(
        (message, button)
        for message in chat.newest_first()
        for button in message.buttons()
        if label in button.label and button.data is not None
    )
    return await chat.press(message, button)


async def through_the_console(engine: FlowEngine, walk: Sequence[Step]) -> Chat:
    async with simulated_chat(engine, at=NOON_IN_NOUMEA, language="en") as chat:
        for step in walk:
            if isinstance(step, timedelta):
                await chat.wait(step)
            elif step.startswith("/"):
                await chat.command(step)
            elif step == TYPED:
                await chat.send(step)
            else:
                await tap(chat, step)
        return [
            (" ".join(message.visible_text.split()), [button.label for button in message.buttons()])
            for message in sorted(chat.messages.values(), key=lambda message: message.id)
        ]


async def through_telegram(api: FakeBotApi, clock: FakeClock, walk: Sequence[Step]) -> Chat:
    user = api.user(31, language_code="en")
    for step in walk:
        if isinstance(step, timedelta):
            shown = len(user.messages)
            clock.advance(step)
            await user.wait_for_messages(shown + 1)
        elif step.startswith("/") or step == TYPED:
            await user.say(step)
        else:
            await user.tap(step)
    await nothing_more_happens()
    return [(" ".join(screen.text.split()), screen.button_labels) for screen in user.messages]


@pytest.mark.parametrize(("walk", "shown"), WALKS.values(), ids=WALKS.keys())
async def test_a_walk_in_the_console_leaves_the_chat_telegram_shows(
    running_bot: None,
    api: FakeBotApi,
    clock: FakeClock,
    default_engine: FlowEngine,
    walk: Sequence[Step],
    shown: str,
) -> None:
    telegram = await through_telegram(api, clock, walk)
    console = await through_the_console(default_engine, walk)
    assert any(shown in text for text, _labels in telegram)
    assert console == telegram
