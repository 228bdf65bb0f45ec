"""Progress is never lost by accident: a deep link or /start mid-way asks, and starting over is confirmed."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from testkit import FakeBotApi, by_id
from tests.telegram.stories import submit

pytestmark = pytest.mark.usefixtures("running_bot")


async def test_reopening_a_deep_link_mid_way_keeps_progress(api: FakeBotApi) -> None:
    user = api.user(1201)
    await user.say("/start home")
    await user.tap(by_id("go"))
    await user.tap(by_id("here"))
    await user.tap(by_id("end"))
    ticked = await user.tap("Phone backed up")
    assert "✅ Phone backed up" in ticked.button_labels
    asked = await user.say("/start home")  # what re-tapping the t.me link sends
    assert asked.button_labels == ["▶️ Continue where I was", "🔄 Start over with Carrier back home"]
    assert "Before you end the line" in asked.text, "it says where they are"
    resumed = await user.tap("Continue where I was")
    assert "✅ Phone backed up" in resumed.button_labels


async def test_another_providers_link_mid_way_offers_to_start_over_with_it(api: FakeBotApi) -> None:
    user = api.user(1202, language_code="zh-hans")
    await submit(user)
    asked = await user.say("/start holafly")
    assert asked.button_labels == ["▶️ 从上次的地方继续", "🔄 从头开始（Holafly）"]
    status = await user.say("/status")
    assert "下次提醒" in status.text, "nothing is dropped before they answer"
    # /status showed the step anew: the question above is old now, and starting over from it does nothing.
    assert await user.tap_for_toast("从头开始（Holafly）", on=asked)
    assert (await user.wait_for_reply()).has_button(by_id("got_it")), "the current step, at the bottom"
    assert "下次提醒" in (await user.say("/status")).text, "nothing dropped"
    asked = await user.say("/start holafly")
    started = await user.tap("从头开始（Holafly）", on=asked)
    assert started.has_button(by_id("go"))
    await user.tap(by_id("go"), on=started)
    request = await user.tap(by_id("active"), on=started.message_id)
    assert "Holafly" in request.text
    assert "下次提醒" not in (await user.say("/status")).text


async def test_start_over_asks_first_and_no_keeps_everything(api: FakeBotApi) -> None:
    user = api.user(1203, language_code="fr")
    await user.say("/start")
    await user.tap(by_id("go"))
    await user.tap(by_id("home"))
    await user.tap(by_id("other"))
    await user.tap(by_id("here"))
    await user.tap(by_id("end"))
    request = await user.tap(by_id("next"))
    confirm = await user.tap(by_id("restart"))
    assert confirm.message_id == request.message_id, "asked in place of the screen"
    assert "Vos choix jusqu'ici seront effacés" in confirm.text
    kept = await user.tap("Non, continuer")
    assert kept.has_button(by_id("sent")), "back on the same step"
    await user.tap(by_id("restart"))
    started = await user.tap("Oui, recommencer")
    assert started.has_button(by_id("go"))


async def test_start_over_with_a_pending_reminder_says_it_will_be_dropped(api: FakeBotApi) -> None:
    user = api.user(1204)
    await submit(user)
    confirm = await user.say("/restart")
    assert "your pending reminders will be dropped" in confirm.text
    await user.tap("No, keep going")
    assert "next reminder: in 1 day" in (await user.say("/status")).text


async def test_restart_mid_way_asks_and_a_fresh_conversation_does_not(api: FakeBotApi) -> None:
    user = api.user(1205)
    await user.say("/start")
    await user.say("/restart")
    await user.wait_for_messages(3)
    assert user.screen.has_button(by_id("go")), "nothing to lose: no question"
    await user.tap(by_id("go"))
    await user.tap(by_id("home"))
    await user.tap(by_id("other"))  # the first answer: from here on, starting over drops a choice
    asked = await user.say("/restart")
    assert asked.button_labels == ["🔄 Yes, start over", "↩️ No, keep going"]
