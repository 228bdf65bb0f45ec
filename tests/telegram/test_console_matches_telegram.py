"""The console's chat (bot.simulated) shows what Telegram shows: the same walk, message for message."""

from __future__ import annotations

from bot.engine.engine import FlowEngine
from bot.simulated import SimulatedChat, Turn, simulated_chat
from testkit import FakeBotApi
from tests.telegram.conftest import NOON_IN_NOUMEA, nothing_more_happens

Chat = list[tuple[str, list[str]]]
"""Every message of the bot in a chat, oldest first: its text as read, and its buttons' labels."""

WALK = ("/start airalo", "Let's start", "Still has data", "I've submitted it", "/status", "hello", "/stop")
"""Commands and typed text as sent, anything else a button tapped (the newest one with that label)."""


async def tap(chat: SimulatedChat, label: str) -> Turn:
    message, button = next(
        (message, button)
        for message in chat.newest_first()
        for button in message.buttons()
        if label in button.label and button.data is not None
    )
    return await chat.press(message, button)


async def through_the_console(engine: FlowEngine) -> Chat:
    async with simulated_chat(engine, at=NOON_IN_NOUMEA, language="en") as chat:
        for step in WALK:
            if step.startswith("/"):
                await chat.command(step)
            elif step == "hello":
                await chat.send(step)
            else:
                await tap(chat, step)
        return [
            (" ".join(message.visible_text.split()), [button.label for button in message.buttons()])
            for message in sorted(chat.messages.values(), key=lambda message: message.id)
        ]


async def through_telegram(api: FakeBotApi) -> Chat:
    user = api.user(31, language_code="en")
    for step in WALK:
        if step.startswith("/") or step == "hello":
            await user.say(step)
        else:
            await user.tap(step)
    await nothing_more_happens()
    return [(" ".join(screen.text.split()), screen.button_labels) for screen in user.messages]


async def test_a_walk_in_the_console_leaves_the_chat_telegram_shows(
    running_bot: None, api: FakeBotApi, default_engine: FlowEngine
) -> None:
    telegram = await through_telegram(api)
    console = await through_the_console(default_engine)
    assert len(telegram) == 4, "the screen, then /status, hello and /stop each below it"
    assert console == telegram
