"""Telegram's failure modes: flood limits, network errors, vanished messages, late answers, blocked users."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest

from bot.cli import configure_logging
from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from tests.telegram.conftest import nothing_more_happens

pytestmark = pytest.mark.usefixtures("running_bot")


async def test_a_429_is_waited_out_and_nothing_is_dropped(api: FakeBotApi) -> None:
    user = api.user(21)
    await user.say("/start")
    api.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
    screen = await user.tap("Let's start")
    assert screen.has_button("travel eSIM")
    statuses = [call.status for call in api.calls_to("editMessageText", chat_id=21)]
    assert statuses == [429, 200]


async def test_a_network_error_is_retried(api: FakeBotApi) -> None:
    user = api.user(22)
    api.fail_next("sendMessage", 502, drop_connection=True)
    screen = await user.say("/start")
    assert screen.button_labels
    assert len(user.messages) == 1


async def test_a_deleted_screen_is_sent_again_as_a_new_message(api: FakeBotApi) -> None:
    user = api.user(23)
    first = await user.say("/start")
    api.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    screen = await user.tap("Let's start")
    assert screen.message_id != first.message_id
    assert screen.has_button("travel eSIM")
    assert len(user.messages) == 2


async def test_a_press_answered_too_late_is_handled_quietly(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    user = api.user(24)
    await user.say("/start")
    api.expire_callback_queries()
    api.fail_next(
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    screen = await user.tap("Let's start")
    assert screen.has_button("travel eSIM")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_blocked_user_gets_no_more_reminders(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(25)
    await user.say("/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await user.tap(label)
    api.block(25)
    await user.send("/help")
    await api.wait_until(lambda: any(c.status == 403 for c in api.calls_to("sendMessage", chat_id=25)))
    tries = len(api.calls_to("sendMessage", chat_id=25)) + len(api.calls_to("editMessageText", chat_id=25))

    clock.advance(timedelta(days=3))
    await nothing_more_happens()
    retries = len(api.calls_to("sendMessage", chat_id=25)) + len(api.calls_to("editMessageText", chat_id=25))
    assert retries == tries, "the bot still wrote to a person who blocked it"


async def test_the_token_never_reaches_the_logs(api: FakeBotApi, settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream)
    try:
        user = api.user(26)
        await user.say("/start")
        api.fail_next("editMessageText", 400, "Bad Request: something unexpected")
        await user.tap_for_toast("Let's start")
        await nothing_more_happens()
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
        assert "/forget" not in first.text, "the /start screen comes first"
        assert "/forget" in second.text, "then /help"
        assert third.has_button("Let's start"), "then /status, with the current step's buttons under it"
        assert first.buttons == second.buttons == (), "only the newest message keeps them"


async def test_a_message_that_could_not_be_sent_goes_out_after_a_restart(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    user = api.user(27)
    await user.say("/start")
    for _ in range(3):
        api.fail_next("editMessageText", 502, drop_connection=True)
    await user.tap_for_toast("Let's start")
    await api.wait_until(
        lambda: len([c for c in api.calls_to("editMessageText", chat_id=27) if not c.ok]) == 3
    )
    assert not user.screen.has_button("travel eSIM"), "nothing got through yet"

    # A second bot on the same database (the first one's replacement after a crash) sends it once.
    replacement = build_bot(settings, load_default_flow(settings), clock).application
    async with polling(replacement):
        await api.wait_until(lambda: user.screen.has_button("travel eSIM"))
    assert len(user.messages) == 1
    assert [c.ok for c in api.calls_to("editMessageText", chat_id=27)] == [False, False, False, True]
