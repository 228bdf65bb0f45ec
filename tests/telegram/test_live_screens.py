"""Only the newest screen is live: whenever the bot shows the current step anew, the messages above lose
their buttons, and a keyboard a client still shows (or one Telegram no longer lets the bot remove) is old:
a toast, and the current step at the bottom of the chat, never an edit far up nor a claim that is untrue."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi, FakeUser, Screen, by_id
from testkit.screens import Button
from tests.telegram.stories import submit

pytestmark = pytest.mark.usefixtures("running_bot")

LANGUAGES = pytest.mark.parametrize(
    ("code", "old", "finished"),
    [
        ("en", "That button is from an older message", "the guide is finished"),
        ("fr", "Ce bouton vient d'un ancien message", "le guide est terminé"),
        ("zh-hans", "这个按钮来自之前的消息", "指南已完成"),
    ],
)


def data_starting(prefix: str) -> Callable[[Button], bool]:
    """Returns a matcher of the bot's own (not the flow's) button whose callback data starts with ``prefix``."""
    return lambda button: (button.data or "").startswith(prefix)


def live(user: FakeUser) -> list[int]:
    """Returns the ids of the bot's messages that still carry callback buttons."""
    return [m.message_id for m in user.messages if any(b.data for b in m.buttons)]


async def only_newest_is_live(api: FakeBotApi, user: FakeUser) -> None:
    """Waits until the newest message is the only one with buttons to press."""
    await api.wait_until(lambda: live(user) == [user.screen.message_id])


async def refused_at_the_bottom(
    user: FakeUser, button: Callable[[Button], bool], on: Screen
) -> tuple[str, Screen]:
    """Presses ``button`` as ``on`` showed it; returns the toast and the message it brings at the bottom."""
    newest = user.screen.message_id
    toast = await user.tap_for_toast(button, on=on)
    here = await user.wait_for_reply()
    assert here.message_id > newest, "answered at the bottom of the chat, never by an edit far up"
    return toast, here


@LANGUAGES
async def test_continue_after_start_leaves_one_live_screen_and_the_old_one_is_inert(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2101, language_code=code)
    waiting = await submit(user)
    asked = await user.say("/start")
    await only_newest_is_live(api, user)
    continued = await user.tap(data_starting("over|keep"), on=asked)
    assert continued.has_button(by_id("got_it"))
    await only_newest_is_live(api, user)
    toast, here = await refused_at_the_bottom(user, by_id("got_it"), waiting)
    assert old in toast
    assert here.has_button(by_id("got_it")), "the flow did not move: the same step, at hand"


@LANGUAGES
async def test_a_reminder_takes_the_screens_buttons_and_the_screens_old_keyboard_is_inert(
    api: FakeBotApi, clock: FakeClock, code: str, old: str, finished: str
) -> None:
    user = api.user(2102, language_code=code)
    waiting = await submit(user)
    shown = len(user.messages)
    clock.advance(timedelta(days=1, minutes=1))
    await user.wait_for_messages(shown + 1)
    reminder = user.screen
    await only_newest_is_live(api, user)
    # Telegram lets a bot edit its messages for 48 hours: a screen older than that keeps its keyboard.
    # Pressed as it was, it must change nothing.
    toast, here = await refused_at_the_bottom(user, by_id("got_it"), waiting)
    assert old in toast
    assert here.has_button(by_id("got_it"))
    assert "/status" not in here.text
    status = await user.say("/status")
    assert status.has_button(by_id("got_it")), "still waiting: the old press moved nothing"
    await only_newest_is_live(api, user)
    toast, _ = await refused_at_the_bottom(user, data_starting(reminder.buttons[0].data or "-"), reminder)
    assert toast, "the reminder is older than the status now: its buttons are old too"


@LANGUAGES
async def test_a_language_switch_leaves_one_live_screen(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2103, language_code=code)
    waiting = await submit(user)
    menu = await user.say("/language")
    await only_newest_is_live(api, user)
    other = next(
        b for b in menu.buttons if b.data and b.data != f"lang|{ {'zh-hans': 'zh-Hans'}.get(code, code) }"
    )
    switched = await user.tap(other, on=menu)
    assert switched.message_id == menu.message_id, "the menu pressed becomes the screen"
    assert switched.has_button(by_id("got_it"))
    await only_newest_is_live(api, user)
    toast, here = await refused_at_the_bottom(user, by_id("got_it"), waiting)
    assert toast
    assert here.has_button(by_id("got_it"))


@LANGUAGES
async def test_a_language_button_far_up_answers_at_the_bottom(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2104, language_code=code)
    first = await user.say("/start")
    await user.tap(by_id("go"), on=first.message_id)
    await user.say("/help")
    language = next(b for b in first.buttons if (b.data or "").startswith("lang|"))
    newest = user.screen.message_id
    await user.press(language, on=first)
    here = await user.wait_for_reply()
    assert here.message_id > newest, "the screen in the new language comes at the bottom"
    assert here.has_button(by_id("home"))
    await only_newest_is_live(api, user)


@LANGUAGES
async def test_a_stray_message_and_status_leave_one_live_screen(
    api: FakeBotApi, clock: FakeClock, code: str, old: str, finished: str
) -> None:
    user = api.user(2105, language_code=code)
    await submit(user)
    shown = len(user.messages)
    clock.advance(timedelta(days=1, minutes=1))
    await user.wait_for_messages(shown + 1)
    stray = await user.say("👍")
    assert stray.has_button(by_id("got_it"))
    await only_newest_is_live(api, user)
    status = await user.say("/status")
    assert status.has_button(by_id("got_it"))
    await only_newest_is_live(api, user)


@LANGUAGES
async def test_an_old_turn_reminders_back_on_says_so_and_never_edits_far_up(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2106, language_code=code)
    await submit(user)
    await user.say("/stop")
    earlier = await user.say("/status")
    assert earlier.has_button(data_starting("remind|on"))
    latest = await user.say("/status")
    back = await user.tap(data_starting("remind|on"), on=latest)
    assert back.message_id == latest.message_id, "the newest one works, in place"
    pending = (await user.say("/status")).text
    toast, here = await refused_at_the_bottom(user, data_starting("remind|on"), earlier)
    assert old in toast, "it does not claim anything happened"
    assert next(m for m in user.messages if m.message_id == earlier.message_id).text == earlier.text
    assert here.has_button(by_id("got_it"))
    assert (await user.say("/status")).text == pending, "reminders as they were: nothing scheduled twice"


@LANGUAGES
async def test_turn_reminders_back_on_under_a_finished_guide_claims_nothing(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2107, language_code=code)
    await submit(user)
    await user.say("/stop")
    offered = await user.say("/status")
    await user.tap(by_id("got_it"), on=offered)
    for button in ("confirmed", "later", "helpful_yes"):
        await user.tap(by_id(button))
    toast, here = await refused_at_the_bottom(user, data_starting("remind|on"), offered)
    assert old in toast
    assert not here.has_button(data_starting("remind|on")), "nothing to turn on at the end"
    assert finished in here.text


@LANGUAGES
async def test_status_on_the_last_screen_names_a_real_step(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2108, language_code=code)
    await submit(user)
    for button in ("got_it", "confirmed", "later", "helpful_yes"):
        await user.tap(by_id(button))
    thanks = user.screen
    status = await user.say("/status")
    assert finished in status.text
    assert thanks.text.splitlines()[0] not in status.text, "not the thank-you sentence"


@LANGUAGES
async def test_an_old_where_are_you_is_answered_at_the_bottom(
    api: FakeBotApi, code: str, old: str, finished: str
) -> None:
    user = api.user(2109, language_code=code)
    await submit(user)
    asked = await user.say("/timezone")
    await user.say("/help")
    newest = user.screen.message_id
    await user.press(data_starting("tz|Europe/Paris"), on=asked)
    here = await user.wait_for_reply()
    assert here.message_id > newest, "never an edit far up"
    assert next(m for m in user.messages if m.message_id == asked.message_id).text == asked.text
    assert here.has_button(by_id("got_it"))
    await only_newest_is_live(api, user)
