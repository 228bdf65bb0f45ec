"""The current step is always at hand, and the bot's languages are visible and easy to switch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi, FakeUser, Screen, by_id
from tests.telegram.stories import asked_where, submit

pytestmark = pytest.mark.usefixtures("running_bot")


def live(user: FakeUser) -> list[Screen]:
    """Returns the bot's messages that still carry the waiting step's buttons."""
    return [m for m in user.messages if m.has_button(by_id("got_it"))]


@pytest.mark.parametrize("command", ["/help", "/status", "/stop", "/nonsense"])
async def test_after_a_command_the_current_step_is_the_newest_thing_with_buttons(
    api: FakeBotApi, command: str
) -> None:
    user = api.user(1301)
    screen = await submit(user)
    reply = await user.say(command)
    assert reply.has_button(by_id("got_it")), "the current step's buttons come with the answer"
    assert "Now wait for the answer" in reply.text
    await api.wait_until(lambda: not any(b.id == "got_it" for b in user.messages[0].buttons))
    assert [m.message_id for m in live(user)] == [reply.message_id], "only one live set, at the bottom"
    assert screen.message_id != reply.message_id


async def test_after_timezone_the_step_comes_back_under_the_answer(api: FakeBotApi) -> None:
    user = api.user(1302, language_code="zh-hans")
    await submit(user)
    await user.say("/timezone")
    answered = await user.tap("🇫🇷 法国")
    assert "巴黎时间" in answered.text
    assert answered.has_button(by_id("got_it"))
    assert [m.message_id for m in live(user)] == [answered.message_id]


@pytest.mark.parametrize(
    ("code", "never"),
    [("en", "phone number"), ("fr", "numéro de téléphone"), ("zh-hans", "手机号")],
)
async def test_a_stray_message_gets_one_short_line_and_the_steps_buttons(
    api: FakeBotApi, code: str, never: str
) -> None:
    user = api.user(1303, language_code=code)
    await user.say("/start")
    first = await user.tap(by_id("go"))
    for stray in ("+687 12 34 56", "me@example.org"):
        reply = await user.say(stray)
        assert never in reply.text, "it says the bot never needs them"
        assert first.text.split("\n\n")[1] not in reply.text, "compact, not the whole screen again"
        assert len(reply.text.splitlines()) <= 3
        assert reply.has_button(by_id("home"))
    await user.send_photo()
    await user.wait_for_messages(4)
    assert user.screen.has_button(by_id("home"))
    await api.wait_until(lambda: sum(1 for m in user.messages if m.has_button(by_id("home"))) == 1)


async def test_the_first_screen_shows_the_other_languages(api: FakeBotApi) -> None:
    screen = await api.user(1304, language_code="en").say("/start")
    assert screen.rows[-1] == tuple(b for b in screen.buttons if b.label in ("简体中文", "Français"))
    french = await api.user(1305, language_code="fr").say("/start")
    assert {"简体中文", "English"} <= set(french.button_labels)
    chinese = await api.user(1306, language_code="en").say("/start")
    switched = await api.user(1306).tap("简体中文", on=chinese)
    assert "停止付费" in switched.text
    assert {"English", "Français"} <= set(switched.button_labels)


@pytest.mark.parametrize(
    ("code", "typed", "expected"),
    [
        ("en", "中文", "开始"),
        ("en", "简体中文", "开始"),
        ("en", "français", "C'est parti"),
        ("zh-hans", "English", "Let's start"),
        ("fr", "anglais", "Let's start"),
    ],
)
async def test_typing_a_languages_name_switches_to_it(
    api: FakeBotApi, code: str, typed: str, expected: str
) -> None:
    user = api.user(1307, language_code=code)
    await user.say("/start")
    await user.say(typed)
    await user.wait_for_messages(3)
    assert user.screen.has_button(expected)


async def test_the_chosen_language_sticks_for_reminders(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(1308, language_code="en")  # Telegram in English, reading Chinese
    await user.say("/start")
    await user.say("中文")
    await user.wait_for_messages(3)
    await user.tap(by_id("go"))
    await user.tap(by_id("home"))
    await user.tap(by_id("other"))
    await user.tap(by_id("home"))
    await user.tap(by_id("end"))
    await user.tap(by_id("next"))
    waiting = await user.tap(by_id("sent"))
    assert "下次提醒" in waiting.text
    assert "你现在在哪个国家或城市" in (await asked_where(user, waiting)).text  # they said "back home"
    shown = len(user.messages)
    clock.advance(timedelta(days=1, hours=1))
    await user.wait_for_messages(shown + 1)
    assert "📬 我收到确认了" in user.screen.button_labels
