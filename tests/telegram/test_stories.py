"""User stories through the real Application and the fake Bot API."""

from __future__ import annotations

import sqlite3

import pytest

from bot.settings import Settings
from bot.testing.fake_bot_api import FakeBotApi
from tests.telegram.conftest import say, tap

pytestmark = pytest.mark.usefixtures("running_bot")


async def test_a_french_speaker_is_greeted_in_french_with_the_warning(api: FakeBotApi) -> None:
    user = api.user(1, language_code="fr-FR")
    screen = await say(user, "/start")
    assert "Je ne vous demanderai jamais" in screen.text
    assert screen.button_labels


async def test_a_traveller_goes_from_start_to_done_with_one_message_edited_in_place(api: FakeBotApi) -> None:
    user = api.user(2, language_code="en")
    first = await say(user, "/start")
    for label in (
        "Let's start",
        "A travel eSIM",
        "The eSIM's own app",
        "Airalo",
        "Still has data",
        "I've submitted it",
    ):
        screen = await tap(user, label)
    assert "7-10 business days" in screen.text
    for label in ("Got the confirmation", "It's confirmed", "iPhone", "Deleted", "Yes"):
        screen = await tap(user, label)
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
        screen = await say(user, "/start")
        screen = await tap(user, screen.button_labels[0])
        for label in labels:
            screen = await tap(user, label)
        assert screen.button_labels == [], f"{code} did not reach the end: {screen.text[:80]}"


async def test_a_double_tap_advances_once(api: FakeBotApi) -> None:
    user = api.user(3)
    screen = await say(user, "/start")
    data = screen.button("Let's start")["callback_data"]
    await user.click_data(screen.message_id, data)
    await user.wait_for_answer()
    await user.wait_for_reply()
    await user.click_data(screen.message_id, data)
    toast = await user.wait_for_answer()
    assert "older message" in toast.lower()
    assert "travel eSIM" in " ".join(user.screen.button_labels)
    assert len(user.messages) == 1


async def test_an_old_button_gets_a_toast_and_the_current_screen(api: FakeBotApi) -> None:
    user = api.user(4)
    old = await say(user, "/start")
    await tap(user, "Let's start")
    await tap(user, "travel eSIM")
    await tap(user, "The eSIM's own app")
    restarted = await say(user, "/restart")
    await api.wait_until(lambda: len(user.messages) >= 3)
    assert "Let's start" in " ".join(user.screen.button_labels)
    await user.click("Airalo", message_id=old.message_id)
    assert "older message" in (await user.wait_for_answer()).lower()
    screen = await user.wait_for_reply()
    assert "Let's start" in " ".join(screen.button_labels), "the current screen is shown again"
    assert restarted.message_id != old.message_id


async def test_a_button_from_another_flow_version_is_answered_kindly(api: FakeBotApi) -> None:
    user = api.user(5)
    start = await say(user, "/start")
    await user.click_data(start.message_id, "00000000|1|start|0_0")
    assert await user.wait_for_answer()
    assert "Let's start" in " ".join(user.screen.button_labels)


async def test_free_text_stickers_and_photos_get_a_reply_and_the_screen_again(api: FakeBotApi) -> None:
    user = api.user(6)
    await say(user, "/start")
    await tap(user, "Let's start")
    for send in (lambda: user.send("hello, my password is hunter2"), user.send_sticker, user.send_photo):
        before = len(user.messages)
        await send()
        await api.wait_until(lambda before=before: len(user.messages) >= before + 2)
        assert "travel eSIM" in " ".join(user.screen.button_labels)


async def test_a_deep_link_jumps_to_the_provider(api: FakeBotApi) -> None:
    user = api.user(7)
    screen = await say(user, "/start nomad")
    assert "PIN/PUK" in screen.text, "a deep link still shows the warning first"
    screen = await tap(user, "Let's start")
    assert "Still has data or days" in screen.button_labels
    screen = await tap(user, "Still has data")
    assert "Nomad" in screen.text


async def test_the_command_menu_is_registered_in_each_language(api: FakeBotApi) -> None:
    await api.wait_until(
        lambda: bool(api.commands("zh")) and bool(api.commands("fr")) and bool(api.commands(""))
    )
    for code in ("zh", "fr", "en", ""):
        names = [command for command, _description in api.commands(code)]
        assert names == ["start", "help", "restart", "language", "timezone", "status", "stop", "forget"]
    assert api.commands("fr")[0][1] != api.commands("en")[0][1]


async def test_language_can_be_changed_and_is_remembered(api: FakeBotApi) -> None:
    user = api.user(8, language_code="en")
    await say(user, "/start")
    prompt = await say(user, "/language")
    assert "Français" in prompt.button_labels
    screen = await tap(user, "Français")
    assert "Je ne vous demanderai jamais" in screen.text
    again = await say(user, "/help")
    assert "/forget" in again.text
    assert "Telegram" in again.text
    assert again.text != (await say(api.user(9, language_code="en"), "/help")).text


async def test_a_group_gets_a_link_to_a_private_chat_and_no_flow(api: FakeBotApi) -> None:
    group = api.group(-100, language_code="fr")
    reply = await say(group, "/start")
    assert "https://t.me/esim_test_bot" in reply.text or any(
        "t.me/esim_test_bot" in str(e.get("url", "")) for e in reply.entities or []
    )
    assert reply.button_labels == []


async def test_a_blocked_user_stops_getting_messages_and_nothing_crashes(api: FakeBotApi) -> None:
    user = api.user(11)
    await say(user, "/start")
    api.block(11)
    await user.send("/help")
    await api.wait_for_call("sendMessage", chat_id=11)
    blocked_calls = [c for c in api.calls_to("sendMessage", chat_id=11) if c.status == 403]
    await api.wait_until(
        lambda: bool([c for c in api.calls_to("sendMessage", chat_id=11) if c.status == 403])
    )
    assert blocked_calls or api.calls_to("sendMessage", chat_id=11)[-1].status == 403
    api.unblock(11)
    screen = await say(user, "/start")
    assert screen.button_labels


async def test_forget_asks_first_then_deletes_everything(api: FakeBotApi, settings: Settings) -> None:
    user = api.user(12)
    await say(user, "/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await tap(user, label)
    confirm = await say(user, "/forget")
    assert len(confirm.button_labels) == 2
    cancelled = await tap(user, confirm.button_labels[1])
    assert cancelled.button_labels == []
    confirm = await say(user, "/forget")
    done = await tap(user, confirm.button_labels[0])
    assert done.button_labels == []
    with sqlite3.connect(settings.database) as db:
        for table in ("chats", "reminders", "outbox", "flow_events"):
            rows = db.execute(f"SELECT count(*) FROM {table} WHERE chat_id = 12").fetchone()[0]
            assert rows == 0, f"{table} still holds {rows} rows about the forgotten chat"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The operator with Telegram id 77 is an admin."""
    return settings.model_copy(update={"admin_ids": frozenset({77})})


async def test_an_operator_sees_the_funnel_and_others_do_not(api: FakeBotApi) -> None:
    await say(api.user(13), "/start")
    report = await say(api.user(77), "/stats")
    assert "Conversations started: 1" in report.text
    stranger = api.user(78)
    await say(stranger, "/start")
    reply = await say(stranger, "/stats")
    assert "Conversations started" not in reply.text


async def test_start_resumes_an_unfinished_conversation_and_restart_begins_again(api: FakeBotApi) -> None:
    user = api.user(14)
    await say(user, "/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Phone backed up"):
        await tap(user, label)
    resumed = await say(user, "/start")
    assert "✅ Phone backed up" in resumed.button_labels
    restarted = await say(user, "/restart")
    await api.wait_until(lambda: len(user.messages) >= 4)
    assert "Let's start" in " ".join(user.screen.button_labels)
    assert restarted.button_labels == []


async def test_after_choosing_a_language_the_screen_is_still_edited_in_place(api: FakeBotApi) -> None:
    user = api.user(15)
    await say(user, "/start")
    prompt = await say(user, "/language")
    await tap(user, "Français")
    count = len(user.messages)
    screen = await tap(user, "C'est parti")
    assert screen.message_id == prompt.message_id
    assert len(user.messages) == count
