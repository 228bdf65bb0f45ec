"""AiohttpRequest carries python-telegram-bot's calls to the Bot API and its failures back as PTB errors."""

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.telegram.request import AiohttpRequest
from testkit import Button, FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """Serves a fresh fake Bot API for one test."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """Returns an initialized Bot talking to the fake through AiohttpRequest."""
    async with Bot(
        api.token, base_url=api.bot_base_url, request=AiohttpRequest(connection_pool_size=8)
    ) as client:
        yield client


async def test_get_me_reaches_the_bot_api(bot: Bot, api: FakeBotApi) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "esim_test_bot"
    assert api.calls[-1].method == "getMe"


async def test_send_message_round_trips_an_inline_keyboard(bot: Bot, api: FakeBotApi) -> None:
    user = api.user(chat_id=42)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Airalo ✈", callback_data="p:airalo")]])
    message = await bot.send_message(42, "Which <b>provider</b>?", parse_mode="HTML", reply_markup=keyboard)

    assert message.text == "Which provider?"
    assert message.reply_markup == keyboard
    assert user.screen.rows == ((Button("Airalo ✈", data="p:airalo"),),)
    await user.press("Airalo")
    edited = await bot.edit_message_text("Airalo it is", chat_id=42, message_id=message.message_id)
    assert isinstance(edited, type(message))
    assert edited.text == "Airalo it is"


async def test_telegram_errors_surface_as_ptb_exceptions(
    api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns on every RetryAfter unless its timedelta behaviour is opted into.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    api.enforce_limits = True
    api.user(chat_id=1)
    api.user(chat_id=2)
    api.block(2)
    async with Bot(api.token, base_url=api.bot_base_url, request=AiohttpRequest()) as bot:
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=1, message_id=99)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(2, "reminder")
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(1, "second")
        assert flood.value.retry_after == dt.timedelta(seconds=1)


async def test_a_slow_answer_becomes_timed_out(api: FakeBotApi, bot: Bot) -> None:
    api.delay_next("getMe", 1.0)
    with pytest.raises(TimedOut):
        await bot.get_me(read_timeout=0.1)


async def test_a_full_pool_becomes_timed_out(api: FakeBotApi) -> None:
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1)
    async with Bot(api.token, base_url=api.bot_base_url, request=request) as bot:
        api.delay_next("getMe", 0.5)
        slow = asyncio.create_task(bot.get_me())
        await api.wait_until(lambda: api.in_flight == 1, timeout=5)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.get_me()
        assert (await slow).is_bot


async def test_a_dropped_connection_or_server_error_becomes_network_error(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("getMe", drop_connection=True)
    with pytest.raises(NetworkError) as dropped:
        await bot.get_me()
    assert not isinstance(dropped.value, TimedOut)
    api.fail_next("getMe", 500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    assert (await bot.get_me()).is_bot  # the pool recovers


async def test_a_refused_connection_becomes_network_error() -> None:
    async with FakeBotApi() as api:
        url = f"{api.bot_base_url}{api.token}/getMe"
    async with AiohttpRequest(connect_timeout=1) as request:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError") as refused:
            await request.post(url)
    assert not isinstance(refused.value, TimedOut)


async def test_many_concurrent_calls_share_a_bounded_pool(api: FakeBotApi) -> None:
    for chat_id in range(1, 201):
        api.user(chat_id=chat_id)
    async with Bot(api.token, base_url=api.bot_base_url, request=AiohttpRequest(8, pool_timeout=None)) as bot:
        messages = await asyncio.gather(
            *(bot.send_message(chat_id, f"hi {chat_id}") for chat_id in range(1, 201))
        )
    assert [message.text for message in messages] == [f"hi {chat_id}" for chat_id in range(1, 201)]
    assert len(api.calls_to("sendMessage")) == 200


async def test_file_uploads_go_out_as_multipart(api: FakeBotApi, bot: Bot) -> None:
    certificate = io.BytesIO(b"-----BEGIN CERTIFICATE-----\n" + b"x" * 2000)
    await bot.set_webhook("https://example.invalid/hook", certificate=certificate, secret_token="s3cret")
    call = api.calls_to("setWebhook")[-1]
    assert call.params["certificate"]["size"] == 2028
    assert call.params["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    await bot.delete_webhook()


async def test_the_request_can_be_shut_down_and_initialized_again(api: FakeBotApi) -> None:
    request = AiohttpRequest(read_timeout=3.0)
    assert request.read_timeout == 3.0
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps what do_request raises
        await request.post(f"{api.bot_base_url}{api.token}/getMe")
    for _ in range(2):
        async with request:
            result = await request.post(f"{api.bot_base_url}{api.token}/getMe")
            assert isinstance(result, dict)
            assert result["is_bot"] is True
    await request.shutdown()  # twice is harmless


async def test_a_polling_application_answers_a_user_through_aiohttp(api: FakeBotApi) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Repeats the user's text."""
        assert update.effective_message is not None
        assert update.effective_message.text is not None
        await update.effective_message.reply_text(f"You said: {update.effective_message.text}")

    application = (
        Application.builder()
        .token(api.token)
        .base_url(api.bot_base_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    user = api.user(chat_id=5, language_code="fr")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=10)
        try:
            await user.send("bonjour")
            reply = await user.wait_for_reply(timeout=5)
            assert reply.text == "You said: bonjour"
            await user.send("encore")
            assert (await user.wait_for_reply(timeout=5)).text == "You said: encore"
        finally:
            await application.updater.stop()
            await application.stop()
    assert len(api.latencies) == 2
