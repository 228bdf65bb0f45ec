"""Reminders behave like a careful person: answered ones lose their buttons, old ones change nothing,
stopping offers a way back that really works, and after the last one the pace is calmer."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi, FakeUser, Screen, by_id
from tests.telegram.conftest import nothing_more_happens
from tests.telegram.stories import submit

pytestmark = pytest.mark.usefixtures("running_bot")


async def next_reminder(user: FakeUser, clock: FakeClock) -> Screen:
    """Lets a day pass and returns the reminder that arrives."""
    shown = len(user.messages)
    clock.advance(timedelta(days=1, minutes=1))
    await user.wait_for_messages(shown + 1)
    return user.screen


@pytest.mark.parametrize(
    ("code", "label", "said"),
    [
        ("en", "⏰ Tomorrow", "⏰ Next reminder: tomorrow at 12:01 (Nouméa time)."),
        ("fr", "⏰ Demain", "⏰ Prochain rappel : demain à 12:01 (heure de Nouméa)."),
        ("zh-hans", "⏰ 明天", "⏰ 下次提醒：明天 12:01（努美阿时间）。"),
    ],
)
async def test_a_snooze_edits_the_reminder_to_say_when_and_puts_the_steps_buttons_in_place_of_its_own(
    api: FakeBotApi, clock: FakeClock, code: str, label: str, said: str
) -> None:
    user = api.user(1101, language_code=code)
    await submit(user)
    await user.tap(lambda b: b.data == "tz|Pacific/Noumea")
    reminder = await next_reminder(user, clock)
    toast = await user.tap_for_toast(label)
    # Answered: its own buttons go, and the step's take their place (the screen above lost them).
    await api.wait_until(lambda: not user.messages[-1].has_button(label))
    snoozed = user.messages[-1]
    assert snoozed.has_button(by_id("got_it"))
    assert [m.message_id for m in user.messages if m.buttons] == [snoozed.message_id]
    assert snoozed.message_id == reminder.message_id
    assert snoozed.text.startswith(reminder.text)
    assert said in snoozed.text
    assert "12:01" in toast


async def test_a_new_reminder_takes_the_buttons_of_the_one_before(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(1104)
    await submit(user)
    first = await next_reminder(user, clock)
    assert first.has_button("Got the confirmation")
    second = await next_reminder(user, clock)
    await api.wait_until(
        lambda: not next(m for m in user.messages if m.message_id == first.message_id).buttons
    )
    assert second.has_button("Got the confirmation")
    live = [m.message_id for m in user.messages if m.has_button("Got the confirmation")]
    assert first.message_id not in live
    assert live[-1] == second.message_id


async def test_an_old_reminders_button_changes_nothing_even_after_stop(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1105)
    await submit(user)
    first = await next_reminder(user, clock)
    await next_reminder(user, clock)
    # A slow client still shows the first reminder's buttons.
    toast = await user.tap_for_toast("Got the confirmation", on=first)
    assert "out of date" in toast
    await user.wait_for_reply()
    assert next(m for m in user.messages if m.message_id == first.message_id).text == first.text
    status = await user.say("/status")
    assert "Now wait for the answer" in status.text, "the flow did not move"

    await user.say("/stop")
    toast = await user.tap_for_toast("Got the confirmation", on=first)
    assert "out of date" in toast
    here = await user.wait_for_reply()
    assert here.message_id > first.message_id, "answered at the bottom of the chat, not far up"
    assert here.has_button("Got the confirmation"), "with the current step at hand"
    assert next(m for m in user.messages if m.message_id == first.message_id).text == first.text


async def test_stop_offers_a_way_back_and_the_button_brings_reminders_back(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1106)
    await submit(user)
    stopped = await user.say("/stop")
    assert stopped.has_button("🔔 Turn reminders back on")
    assert stopped.has_button("Got the confirmation"), "the current step stays at hand"
    status = await user.say("/status")
    assert "Reminders are stopped" in status.text
    assert status.has_button("Turn reminders back on")
    back = await user.tap("Turn reminders back on")
    assert "Reminders are back on" in back.text
    assert "Next reminder: tomorrow at 12:00 (Nouméa time)" in back.text
    assert "tomorrow at 12:00" in (await user.say("/status")).text
    reminder = await next_reminder(user, clock)
    assert reminder.has_button("Got the confirmation")


async def test_stop_under_a_reminder_then_start_as_the_bot_says_resumes_them(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1107, language_code="fr")
    await submit(user)
    await next_reminder(user, clock)
    toast = await user.tap_for_toast("Plus de rappels")
    assert "/start" in toast, "the bot says how to continue"
    stopped = await user.wait_for_reply()
    assert stopped.has_button("🔔 Réactiver les rappels")
    clock.advance(timedelta(days=2))
    await nothing_more_happens()
    asked = await user.say("/start")
    resumed = await user.tap("Reprendre où j'en étais", on=asked)
    assert "Prochain rappel : demain à 12:01 (heure de Nouméa)" in resumed.text
    assert "demain à 12:01" in (await user.say("/status")).text
    reminder = await next_reminder(user, clock)
    assert reminder.has_button("📬 Confirmation reçue")


async def test_after_the_last_reminder_waiting_longer_goes_on_every_three_days(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1108)
    await submit(user)
    for _ in range(7):
        await next_reminder(user, clock)
    assert user.screen.has_button(lambda b: b.id == "wait"), "the last one suggests contacting support"
    waiting = await user.tap(lambda b: b.id == "wait")
    assert "Next reminder: " in waiting.text
    assert "tomorrow" not in waiting.text.split("Next reminder: ")[1]
    shown = len(user.messages)
    clock.advance(timedelta(days=2))
    await nothing_more_happens()
    assert len(user.messages) == shown, "not the daily cycle again"
    clock.advance(timedelta(days=1, minutes=2))
    await user.wait_for_messages(shown + 1)
    assert user.screen.has_button("Got the confirmation")
