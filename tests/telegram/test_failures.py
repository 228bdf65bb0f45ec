"""Telegram's failure modes: flood limits, network errors, vanished messages, late answers, blocked users."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from bot.cli import configure_logging
from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_application, load_default_flow
from bot.testing.application import polling
from bot.testing.fake_bot_api import ChatMessage, FakeBotApi, FakeUser
from tests.telegram.conftest import say, tap

pytestmark = pytest.mark.usefixtures("running_bot")


async def test_a_429_is_waited_out_and_nothing_is_dropped(api: FakeBotApi) -> None:
    user = api.user(21)
    await say(user, "/start")
    api.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
    screen = await tap(user, "Let's start")
    assert "travel eSIM" in " ".join(screen.button_labels)
    statuses = [call.status for call in api.calls_to("editMessageText", chat_id=21)]
    assert statuses == [429, 200]


async def test_a_network_error_is_retried(api: FakeBotApi) -> None:
    user = api.user(22)
    api.fail_next("sendMessage", 502, drop_connection=True)
    screen = await say(user, "/start")
    assert screen.button_labels
    assert len(user.messages) == 1


async def test_a_deleted_screen_is_sent_again_as_a_new_message(api: FakeBotApi) -> None:
    user = api.user(23)
    await say(user, "/start")
    api.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    await user.click("Let's start")
    await api.wait_until(lambda: len(user.messages) == 2)
    assert "travel eSIM" in " ".join(user.screen.button_labels)


async def test_a_press_answered_too_late_is_handled_quietly(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    user = api.user(24)
    await say(user, "/start")
    api.expire_callback_queries()
    api.fail_next(
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    screen = await tap_without_answer(user, "Let's start")
    assert "travel eSIM" in " ".join(screen.button_labels)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def tap_without_answer(user: FakeUser, label: str) -> ChatMessage:
    await user.click(label)
    return await user.wait_for_reply()


async def test_a_blocked_user_gets_no_more_reminders(api: FakeBotApi, settings: Settings) -> None:
    user = api.user(25)
    await say(user, "/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await tap(user, label)
    api.block(25)
    await user.send("/help")
    await api.wait_until(lambda: any(c.status == 403 for c in api.calls_to("sendMessage", chat_id=25)))
    await asyncio.sleep(0.2)
    import sqlite3

    with sqlite3.connect(settings.database) as db:
        assert db.execute("SELECT count(*) FROM reminders WHERE chat_id = 25").fetchone()[0] == 0


async def test_the_token_never_reaches_the_logs(api: FakeBotApi, settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream)
    try:
        user = api.user(26)
        await say(user, "/start")
        api.fail_next("editMessageText", 400, "Bad Request: something unexpected")
        await user.click("Let's start")
        await user.wait_for_answer()
        await asyncio.sleep(0.2)
        try:
            raise RuntimeError(f"calling {api.bot_base_url}{api.token}/getMe failed")
        except RuntimeError:
            logging.getLogger("bot").exception("a failure that quotes the URL, as HTTP errors do")
    finally:
        logging.getLogger().handlers.clear()
    text = stream.getvalue()
    assert "Telegram refused a message to chat 26" in text
    assert "a failure that quotes the URL" in text
    assert "<token>" in text
    assert api.token not in text
    assert api.token.split(":")[1] not in text


async def test_updates_from_one_chat_are_handled_in_order_and_chats_run_side_by_side(api: FakeBotApi) -> None:
    users = [api.user(100 + n) for n in range(30)]
    for user in users:
        await user.send("/start")
        await user.send("/help")
        await user.send("/status")
    await api.wait_until(lambda: all(len(u.messages) >= 3 for u in users), timeout=15)
    for user in users:
        first, second, third = user.messages[:3]
        assert first.button_labels, "the /start screen comes first"
        assert "/forget" in second.text, "then /help"
        assert third.button_labels == [], "then /status"


async def test_a_message_that_could_not_be_sent_goes_out_after_a_restart(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    user = api.user(27)
    await say(user, "/start")
    for _ in range(3):
        api.fail_next("editMessageText", 502, drop_connection=True)
    await user.click("Let's start")
    await user.wait_for_answer()
    await api.wait_until(
        lambda: len([c for c in api.calls_to("editMessageText", chat_id=27) if not c.ok]) == 3
    )
    assert "travel eSIM" not in " ".join(user.screen.button_labels), "nothing got through yet"

    # A second bot on the same database (the first one's replacement after a crash) sends it once.
    replacement = build_application(settings, load_default_flow(settings), clock)
    async with polling(replacement):
        await api.wait_until(lambda: "travel eSIM" in " ".join(user.screen.button_labels))
    assert len(user.messages) == 1
    assert [c.ok for c in api.calls_to("editMessageText", chat_id=27)] == [False, False, False, True]
