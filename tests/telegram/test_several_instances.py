"""Several instances of the bot on one PostgreSQL database, through the real Application and the fake API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from bot.store.postgres import PostgresStore
from bot.telegram.app import BotRuntime, build_bot, load_default_flow
from bot.telegram.ratelimit import SharedRateLimiter
from bot.telegram.request import AiohttpRequest
from bot.telegram.screenbot import ScreenBot
from testkit import FakeBotApi
from testkit.application import polling
from testkit.postgres import PostgresServer
from tests.telegram.conftest import ROOT

# Below the default 28.8: the fake and both instances share one event loop on a busy test machine, so
# a request can reach the fake tens of milliseconds after its slot (bench/ measures the real rate).
RATE = 25.0
_T = TypeVar("_T")


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()


@pytest.fixture
def settings(api: FakeBotApi, database: str) -> Settings:
    """Settings as an operator gives them for PostgreSQL: only BOT_DATABASE differs."""
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=database,
        BOT_FLOWS_DIR=ROOT / "flows",
        BOT_LOCALES_DIR=ROOT / "locales",
    )


@pytest.fixture
async def instances(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[BotRuntime, BotRuntime]]:
    """Two instances on one database: the first polls, the second only sends (reminders, the outbox)."""
    bundle = load_default_flow(settings)
    polling_bot, sending_bot = build_bot(settings, bundle, clock), build_bot(settings, bundle, clock)
    polling_one, sending_one = polling_bot.application, sending_bot.application
    async with polling(polling_one):
        await sending_one.initialize()
        assert sending_one.post_init is not None
        await sending_one.post_init(sending_one)
        try:
            yield polling_bot.runtime, sending_bot.runtime
        finally:
            assert sending_one.post_stop is not None
            assert sending_one.post_shutdown is not None
            await sending_one.post_stop(sending_one)
            await sending_one.shutdown()
            await sending_one.post_shutdown(sending_one)


async def test_a_conversation_on_postgresql_edits_its_one_message(
    api: FakeBotApi, instances: tuple[BotRuntime, BotRuntime]
) -> None:
    user = api.user(1, language_code="en")
    first = await user.say("/start")
    screen = await user.tap("Let's start")

    assert screen.message_id == first.message_id
    assert len(user.messages) == 1


async def test_a_message_is_sent_by_the_instance_holding_the_chats_outbox(
    api: FakeBotApi, instances: tuple[BotRuntime, BotRuntime]
) -> None:
    polling_one, sending_one = instances
    user = api.user(2, language_code="en")
    first = await user.say("/start")
    # The second instance starts sending this chat's messages (once the first has recorded its delivery).
    for _ in range(100):
        if await sending_one.service.outbox.claim(user.chat_id, sending_one.delivery.holder) == []:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the first instance never gave up the chat's outbox")

    await user.press("Let's start")
    await user.wait_for_answer()
    await asyncio.sleep(0.3)
    # The first instance committed the next screen and left it to the holder: nothing overtakes its messages.
    assert api.calls_to("editMessageText", user.chat_id) == []
    assert len(await polling_one.service.outbox.pending(chat_id=user.chat_id)) == 1

    await sending_one.delivery.sweep()

    assert len(api.calls_to("editMessageText", user.chat_id)) == 1
    assert user.messages[-1].message_id == first.message_id
    assert first.text != user.messages[-1].text
    assert await polling_one.service.outbox.pending(chat_id=user.chat_id) == []


async def test_a_press_claims_its_chats_outbox_in_its_commit(
    api: FakeBotApi, instances: tuple[BotRuntime, BotRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    polling_one, sending_one = instances
    store = polling_one.service.store
    user = api.user(3, language_code="en")
    first = await user.say("/start")
    calls: list[str] = []
    for name in ("load_chat", "commit", "commit_and_claim", "claim_outbox", "record_delivery_and_claim"):
        monkeypatch.setattr(store, name, _counted(calls, name, getattr(store, name)))

    screen = await user.tap("Let's start")
    for _ in range(100):  # the delivery is recorded just after the edit reached Telegram
        if await sending_one.service.outbox.claim(user.chat_id, "another instance") == []:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the claim taken by the commit was never given up")

    # Two trips to the store: the commit that also claims the outbox, and the delivery recorded (which gives
    # the claim up, nothing else being pending). The delivery claimed nothing on its own, and the chat, as
    # this instance left it after /start, needed no load (bot/runtime/recent.py).
    assert calls == ["commit_and_claim", "record_delivery_and_claim"]
    assert screen.message_id == first.message_id


async def test_behind_a_webhook_instances_load_every_chat(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    bundle = load_default_flow(settings)
    # Several instances behind a load balancer each get any chat's updates: a chat kept as one instance left
    # it would be out of date as often as not. Polling, the one polling instance gets them all.
    assert build_bot(settings, bundle, clock, webhook=True).runtime.service.recent.size == 0
    assert build_bot(settings, bundle, clock).runtime.service.recent.size > 0
    alone = settings.model_copy(update={"database": str(tmp_path / "alone.sqlite3")})
    assert build_bot(alone, bundle, clock, webhook=True).runtime.service.recent.size > 0


def _counted(
    calls: list[str], name: str, method: Callable[..., Awaitable[_T]]
) -> Callable[..., Awaitable[_T]]:
    async def counted(*args: object, **kwargs: object) -> _T:
        calls.append(name)
        return await method(*args, **kwargs)

    return counted


async def test_two_instances_together_stay_under_telegrams_limit(database: str) -> None:
    async with FakeBotApi(enforce_limits=True, accept_any_chat=True) as api:
        stores = [PostgresStore(database, max_connections=8) for _ in range(2)]
        bots = [
            ScreenBot(
                token=api.token,
                base_url=f"{api.base_url}/bot",
                base_file_url=f"{api.base_url}/file/bot",
                request=AiohttpRequest(connection_pool_size=32),
                rate_limiter=SharedRateLimiter(store, RATE),
            )
            for store in stores
        ]
        for store in stores:
            await store.open()
        try:
            for bot in bots:
                await bot.initialize()
            began = time.monotonic()
            await asyncio.gather(
                *(
                    bot.send_message(chat_id=1000 * (index + 1) + number, text="Your reminder")
                    for index, bot in enumerate(bots)
                    for number in range(45)
                )
            )
            took = time.monotonic() - began
        finally:
            for bot in bots:
                await bot.shutdown()
            for store in stores:
                await store.close()

    sent = api.calls_to("sendMessage")
    assert len(sent) == 90
    assert all(call.status == 200 for call in sent)  # none answered 429
    assert took >= 89 / RATE - 0.1
