"""The runtime's messages through the Telegram edge: once each, under the chat's one lock, rate-limited.

These run the real ScreenBot and Delivery against the fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import BaseRateLimiter

from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import CommandSent
from bot.runtime.messages import OutgoingMessage
from bot.runtime.service import ChatService
from bot.store import OutboxMessage, SqliteStore
from bot.telegram.delivery import Delivery
from bot.telegram.screenbot import ScreenBot
from testkit import FakeBotApi

NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class RecordingLimiter(BaseRateLimiter[None]):
    """A rate limiter that lets everything through and notes which endpoints passed it."""

    def __init__(self) -> None:
        self.endpoints: list[str] = []

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Notes the endpoint and makes the call."""
        self.endpoints.append(endpoint)
        return await callback(*args, **kwargs)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
async def bot(api: FakeBotApi, limiter: RecordingLimiter) -> AsyncIterator[ScreenBot]:
    screen_bot = ScreenBot(token=api.token, base_url=f"{api.base_url}/bot", rate_limiter=limiter)
    await screen_bot.initialize()
    try:
        yield screen_bot
    finally:
        await screen_bot.shutdown()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def test_screens_are_sent_and_edited_through_the_rate_limiter(
    api: FakeBotApi, bot: ScreenBot, limiter: RecordingLimiter
) -> None:
    user = api.user(1)
    sent = await bot.show(OutgoingMessage(1, "<b>First</b> screen"))
    assert await bot.show(OutgoingMessage(1, "Second screen", edit=sent)) == sent
    assert [message.text for message in user.messages] == ["Second screen"]
    assert limiter.endpoints[-2:] == ["sendMessage", "editMessageText"]


async def test_a_sweep_that_read_the_outbox_before_an_update_delivered_sends_nothing_twice(
    api: FakeBotApi, bot: ScreenBot, store: SqliteStore, default_bundle: FlowBundle
) -> None:
    user = api.user(2)
    service = ChatService(FlowEngine(default_bundle), store, FakeClock(NOON_IN_NOUMEA))
    delivery = Delivery(bot, service)
    swept = asyncio.Event()
    read_outbox = store.pending_outbox

    async def pending_outbox(limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        found = await read_outbox(limit, chat_id)
        if chat_id is None:
            swept.set()
        return found

    store.pending_outbox = pending_outbox  # type: ignore[method-assign]
    # As the update processor does: the chat's lock is held for the whole update, delivery included.
    async with service.locks.hold(2):
        reply = await service.handle(CommandSent(2, update_id=1, command="start"))
        sweep = asyncio.create_task(delivery.sweep())
        await swept.wait()  # the sweep holds the message in its list and waits for the chat's lock
        await delivery.deliver(reply.messages)
    assert await sweep == 1
    assert len(api.calls_to("sendMessage", chat_id=2)) == 1
    assert len(user.messages) == 1
    assert await store.pending_outbox(10) == []
