"""Several `esim-bot run` processes on one PostgreSQL database: they start together, one polls, another
takes over when it is killed."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack

import pytest

from testkit import FakeBotApi
from testkit.postgres import PostgresServer
from tests.e2e.process import BotProcess, bot_process, clean_environment

pytestmark = pytest.mark.e2e

ELECTED = "this instance polls Telegram"
TAKEOVER_SECONDS = 15.0


async def test_instances_started_together_on_an_empty_database_share_the_work(
    postgres_server: PostgresServer,
) -> None:
    async with FakeBotApi() as api, AsyncExitStack() as stack:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=postgres_server.new_database(),
        )
        bots = [await stack.enter_async_context(bot_process(env)) for _ in range(3)]
        await asyncio.gather(*(bot.start() for bot in bots))

        # All three come up on the schema one of them made; exactly one of them polls.
        await asyncio.gather(*(_up(bot) for bot in bots))
        await _one_polls(bots)
        user = api.user(7, language_code="en")
        first = await user.say("/start")
        screen = await user.tap("Let's start")
        assert screen.message_id == first.message_id
        assert all(bot.process is not None and bot.process.returncode is None for bot in bots)


async def test_when_the_polling_instance_is_killed_another_takes_over_and_nothing_is_lost(
    postgres_server: PostgresServer,
) -> None:
    async with FakeBotApi() as api, AsyncExitStack() as stack:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=postgres_server.new_database(),
        )
        bots = [await stack.enter_async_context(bot_process(env)) for _ in range(2)]
        for bot in bots:
            await bot.start()
            await _up(bot)
        user = api.user(8, language_code="en")
        first = await user.say("/start")
        poller = await _one_polls(bots)

        await poller.stop(signal.SIGKILL)
        # Pressed while nobody polls: Telegram keeps it until the next instance takes over.
        await user.press("Let's start")
        successor = next(bot for bot in bots if bot is not poller)
        await successor.wait_for_output(ELECTED, timeout=TAKEOVER_SECONDS)
        await user.wait_for_answer(timeout=TAKEOVER_SECONDS)
        screen = await user.wait_for_reply(timeout=TAKEOVER_SECONDS)
        assert screen.message_id == first.message_id
        screen = await user.tap("My carrier back home")
        assert screen.message_id == first.message_id
        assert len(user.messages) == 1  # every press applied once, on the one message


async def _up(bot: BotProcess) -> None:
    """Waits until the instance has started (post_init done: reminders and the outbox run)."""
    await bot.wait_for_output("Application started", timeout=30)


async def _one_polls(bots: list[BotProcess]) -> BotProcess:
    """Waits until one instance says it polls, then checks no other does; returns it."""
    async with asyncio.timeout(TAKEOVER_SECONDS):
        while not (polling := [bot for bot in bots if ELECTED in bot.printed]):  # noqa: ASYNC110 output only
            await asyncio.sleep(0.05)
    await asyncio.sleep(2.5)  # more than a renewal: a second poller would have said so by now
    polling = [bot for bot in bots if ELECTED in bot.printed]
    assert len(polling) == 1, [bot.printed for bot in bots]
    return polling[0]
