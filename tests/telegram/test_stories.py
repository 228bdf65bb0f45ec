"""User stories through the real Application and the fake Bot API."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from testkit import FakeBotApi, by_id
from tests.telegram.conftest import nothing_more_happens

pytestmark = pytest.mark.usefixtures("running_bot")


async def test_a_french_speaker_is_greeted_in_french_with_the_warning(api: FakeBotApi) -> None:
    user = api.user(1, language_code="fr-FR")
    screen = await user.say("/start")
    assert "Je ne vous demanderai jamais" in screen.text
    assert screen.button_labels


async def test_a_traveller_goes_from_start_to_done_with_one_message_edited_in_place(api: FakeBotApi) -> None:
    user = api.user(2, language_code="en")
    first = await user.say("/start")
    for label in (
        "Let's start",
        "A travel eSIM",
        "The eSIM's own app",
        "Airalo",
        "Still has data",
        "I've submitted it",
    ):
        screen = await user.tap(label)
    assert "7-10 business days" in screen.text
    for label in ("Got the confirmation", "It's confirmed", "iPhone", "Deleted", "Yes"):
        screen = await user.tap(label)
    assert screen.message_id == first.message_id
    assert len(user.messages) == 1
    assert screen.button_labels == []


async def test_every_language_walks_to_the_end(api: FakeBotApi) -> None:
    paths = {
        "zh-hans": ("🏠", "其他国家", "✂️", "➡️", "✅", "📬", "✅", "三星", "✅", "👎"),
        "fr": ("🇳🇨", "Forfait M", "En Calédonie", "résiliée", "👍"),
        "en": (
            "I'm not sure",
            "They said",
            "French carrier",
            "End the line",
            "Next",
            "submitted",
            "got the confirmation",
            "confirmed",
            "later",
            "Yes",
        ),
    }
    for chat_id, (code, labels) in enumerate(paths.items(), start=10):
        user = api.user(chat_id, language_code=code)
        await user.say("/start")
        screen = await user.tap(by_id("go"))
        for label in labels:
            screen = await user.tap(label)
        assert screen.button_labels == [], f"{code} did not reach the end: {screen.text[:80]}"


async def test_a_double_tap_advances_once(api: FakeBotApi) -> None:
    user = api.user(3)
    shown = await user.say("/start")
    await user.tap("Let's start", on=shown)
    toast = await user.tap_for_toast("Let's start", on=shown)  # the client still showed the old keyboard
    assert "older message" in toast.lower()
    assert user.screen.has_button("travel eSIM")
    assert len(user.messages) == 1


async def test_an_old_button_gets_a_toast_and_the_current_screen(api: FakeBotApi) -> None:
    user = api.user(4)
    old = await user.say("/start")
    await user.tap("Let's start")
    await user.tap("travel eSIM")
    sellers = await user.tap("The eSIM's own app")
    restarted = await user.say("/restart")
    await user.wait_for_messages(3)
    assert user.screen.has_button("Let's start")
    await api.wait_until(lambda: not user.messages[0].buttons)  # the screen above gave way
    screen = await user.tap("Airalo", on=sellers)  # as a slow client still shows it
    assert "older message" in user.toasts[-1].lower()
    assert screen.has_button("Let's start"), "the current screen is shown again"
    assert restarted.message_id != old.message_id


async def test_free_text_stickers_and_photos_get_a_reply_and_the_screen_again(api: FakeBotApi) -> None:
    # Changed by issue 10: one short line with the current step's buttons, not the whole screen again.
    user = api.user(6)
    await user.say("/start")
    await user.tap("Let's start")

    async def the_screen_comes_again(sending: Awaitable[int]) -> None:
        shown = len(user.messages)
        await sending
        await user.wait_for_messages(shown + 1)
        assert user.screen.has_button("travel eSIM")
        assert "phone number" in user.screen.text
        assert len(user.screen.text.splitlines()) <= 3

    await the_screen_comes_again(user.send("hello, my password is hunter2"))
    await the_screen_comes_again(user.send_sticker())
    await the_screen_comes_again(user.send_photo())


async def test_a_deep_link_jumps_to_the_provider(api: FakeBotApi) -> None:
    user = api.user(7)
    screen = await user.say("/start nomad")
    assert "PIN/PUK" in screen.text, "a deep link still shows the warning first"
    screen = await user.tap("Let's start")
    assert "Still has data or days" in screen.button_labels
    screen = await user.tap("Still has data")
    assert "Nomad" in screen.text


async def test_the_command_menu_is_registered_in_each_language(api: FakeBotApi) -> None:
    await api.wait_until(
        lambda: bool(api.commands("zh")) and bool(api.commands("fr")) and bool(api.commands(""))
    )
    for code in ("zh", "fr", "en", ""):
        names = [command for command, _description in api.commands(code)]
        assert names == ["start", "help", "restart", "language", "timezone", "status", "stop", "forget"]
    assert dict(api.commands("fr"))["start"] != dict(api.commands("en"))["start"]


async def test_language_can_be_changed_and_is_remembered(api: FakeBotApi) -> None:
    user = api.user(8, language_code="en")
    await user.say("/start")
    prompt = await user.say("/language")
    assert "Français" in prompt.button_labels
    screen = await user.tap("Français")
    assert "Je ne vous demanderai jamais" in screen.text
    again = await user.say("/help")
    assert "/forget" in again.text
    assert "Telegram" in again.text
    assert again.text != (await api.user(9, language_code="en").say("/help")).text


async def test_a_group_gets_a_link_to_a_private_chat_and_no_flow(api: FakeBotApi) -> None:
    group = api.group(-100, language_code="fr")
    reply = await group.say("/start")
    links = [*reply.links, reply.text]
    assert any("https://t.me/esim_test_bot" in link for link in links)
    assert reply.button_labels == []


async def test_a_blocked_user_stops_getting_messages_and_nothing_crashes(api: FakeBotApi) -> None:
    user = api.user(11)
    await user.say("/start")
    api.block(11)
    await user.send("/help")
    await api.wait_until(lambda: any(c.status == 403 for c in api.calls_to("sendMessage", chat_id=11)))
    api.unblock(11)
    screen = await user.say("/start")
    assert screen.button_labels


async def test_forget_asks_first_then_deletes_everything(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(12)
    await user.say("/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await user.tap(label)
    confirm = await user.say("/forget")
    assert confirm.button_labels == ["🗑 Yes, delete it all", "Cancel"]
    cancelled = await user.tap("Cancel")
    assert "nothing was deleted" in cancelled.text
    assert cancelled.has_button("Got the confirmation"), "the current step is at hand again"
    assert "tomorrow at 12:00" in (await user.say("/status")).text, "cancelling forgets nothing"

    await user.say("/forget")
    done = await user.tap("Yes, delete it all")
    assert done.button_labels == []
    shown = len(user.messages)
    clock.advance(timedelta(days=2))
    await nothing_more_happens()
    assert len(user.messages) == shown, "no reminder after /forget"
    report = await api.user(77).say("/stats")
    assert "Conversations started: 0" in report.text, "the funnel forgot the conversation too"
    again = await user.say("/start")
    assert "Let's start" in again.button_labels, "a new conversation, not the old one resumed"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The operator with Telegram id 77 is an admin."""
    return settings.model_copy(update={"admin_ids": frozenset({77})})


async def test_an_operator_sees_the_funnel_and_others_do_not(api: FakeBotApi) -> None:
    await api.user(13).say("/start")
    report = await api.user(77).say("/stats")
    assert "Conversations started: 1" in report.text
    stranger = api.user(78)
    await stranger.say("/start")
    reply = await stranger.say("/stats")
    assert "Conversations started" not in reply.text


async def test_start_resumes_an_unfinished_conversation_and_restart_begins_again(api: FakeBotApi) -> None:
    user = api.user(14)
    await user.say("/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Phone backed up"):
        await user.tap(label)
    # Changed by issue 10: /start mid-way asks, and /restart confirms before dropping choices.
    asked = await user.say("/start")
    assert asked.has_button("Continue where I was")
    resumed = await user.tap("Continue where I was")
    assert "✅ Phone backed up" in resumed.button_labels
    confirm = await user.say("/restart")
    assert confirm.has_button("Yes, start over")
    restarted = await user.tap("Yes, start over")
    assert restarted.has_button("Let's start")


async def test_after_choosing_a_language_the_screen_is_still_edited_in_place(api: FakeBotApi) -> None:
    user = api.user(15)
    await user.say("/start")
    prompt = await user.say("/language")
    await user.tap("Français")
    count = len(user.messages)
    screen = await user.tap("C'est parti")
    assert screen.message_id == prompt.message_id
    assert len(user.messages) == count
