"""PTB's advice against ``do_api_request`` is declined for ScreenBot's endpoints only, by its exact words.

Why it is declined: ``Bot.send_message`` (and the edits, and ``Bot.get_updates``) build the Message and Update
objects that ScreenBot exists not to build (bench/RESULTS.md), so ScreenBot calls ``do_api_request``, and
python-telegram-bot warns at every such call. If PTB stops warning, or words the advice differently, the first
test fails: remove or update the filter in bot/telegram/screenbot.py then.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import AsyncIterator

import pytest
from telegram.error import TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.runtime.messages import OutgoingMessage
from bot.telegram.request import AiohttpRequest
from bot.telegram.screenbot import DECLINED_ENDPOINTS, ScreenBot, declined_advice
from testkit import FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on loopback."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.mark.parametrize("endpoint", DECLINED_ENDPOINTS)
async def test_python_telegram_bot_still_gives_the_advice_word_for_word(
    api: FakeBotApi, endpoint: str
) -> None:
    async with ExtBot(api.token, base_url=api.bot_base_url, request=AiohttpRequest()) as plain:
        with pytest.warns(PTBUserWarning) as given, contextlib.suppress(TelegramError):
            await plain.do_api_request(endpoint, api_kwargs={"chat_id": 1, "text": "x", "message_id": 1})
    assert [str(warning.message) for warning in given] == [declined_advice(endpoint)]


async def test_screen_bot_shows_messages_without_a_warning_and_installs_each_filter_once(
    api: FakeBotApi,
) -> None:
    user = api.user(chat_id=5)
    bot = ScreenBot(api.token, base_url=api.bot_base_url, request=AiohttpRequest())
    async with bot:
        await bot.initialize()  # a second start (a retried connect) installs nothing more
        message_id = await bot.show(OutgoingMessage(5, "hello"))  # the suite turns any warning into an error
        await bot.show(OutgoingMessage(5, "hello again", edit=message_id))

    assert user.screen.text == "hello again"
    ignoring = [entry[1] for entry in warnings.filters if entry[0] == "ignore" and entry[1] is not None]
    for endpoint in DECLINED_ENDPOINTS:
        advice = declined_advice(endpoint)
        assert sum(1 for pattern in ignoring if re.match(pattern, advice)) == 1


async def test_other_advice_and_longer_messages_still_reach_the_developer(api: FakeBotApi) -> None:
    async with ScreenBot(api.token, base_url=api.bot_base_url, request=AiohttpRequest()) as bot:
        with pytest.warns(PTBUserWarning, match=r"Please use 'Bot\.getMe'"):
            await bot.do_api_request("getMe")
        with pytest.warns(PTBUserWarning):
            warnings.warn(
                declined_advice("sendMessage") + " (and something new)", PTBUserWarning, stacklevel=1
            )
