"""An update's handlers fail or succeed on their own: the outcome of one is never taken for another's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.telegram.handling import UpdateHandling, handler_failed
from bot.telegram.request import AiohttpRequest
from testkit import FakeBotApi


async def fail_on_boom(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Raises for the text "boom", after a pause that lets the other update of the test start meanwhile."""
    await asyncio.sleep(0.05)
    if update.effective_message is not None and update.effective_message.text == "boom":
        raise RuntimeError("the handler failed")


@pytest.fixture
async def application() -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """An initialized Application with one handler and the bot's error handler."""
    async with FakeBotApi() as api:
        built = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(api.bot_base_url)
            .request(AiohttpRequest())
            .concurrent_updates(True)
            .build()
        )
        built.add_handler(MessageHandler(filters.TEXT, fail_on_boom))
        built.add_error_handler(handler_failed)
        async with built:
            yield built


def message(update_id: int, text: str) -> Update:
    chat = {"id": 7, "type": "private"}
    sender = {"id": 7, "is_bot": False, "first_name": "A"}
    payload = {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": text}
    return Update.de_json({"update_id": update_id, "message": payload}, None)


async def test_two_updates_with_the_same_id_in_hand_at_once_keep_their_own_outcome(
    application: Application[Any, Any, Any, Any, Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    handling = UpdateHandling(application)
    # Equal Update objects (PTB compares them by update_id), as a forged repeat on the webhook would be.
    failing, passing = handling.submit(message(5, "boom")), handling.submit(message(5, "fine"))

    assert [await failing, await passing] == [False, True]
    assert "error while handling an update (update 5, chat 7)" in caplog.text


async def test_a_failing_update_is_tried_again_and_then_given_up(
    application: Application[Any, Any, Any, Any, Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    handling = UpdateHandling(application)
    assert await handling.submit(message(9, "boom"), attempts=2) is False
    assert "handling update 9 failed (attempt 1 of 2); trying again in 1 s" in caplog.text
    assert "gave up on update 9 after 2 attempts" in caplog.text


async def test_an_application_without_the_error_handler_is_refused() -> None:
    bare = ApplicationBuilder().token("1:x").build()
    with pytest.raises(ValueError, match="handler_failed"):
        UpdateHandling(bare)
