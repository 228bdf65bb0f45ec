"""Reminders at the person's own hour: where they are is asked, every time shown is true and names its zone."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi
from tests.telegram.conftest import nothing_more_happens
from tests.telegram.stories import submit

pytestmark = pytest.mark.usefixtures("running_bot")

# 22:30 in Shanghai (UTC+8) on Tuesday 24 November 2026: 01:30 on the 25th in Nouméa.
SHANGHAI_2230 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


async def test_the_shanghai_student_who_submits_at_2230_hears_nothing_at_night(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    student = api.user(1001, language_code="zh-hans")
    screen = await submit(student)
    # 24 hours later is 22:30 again, inside the quiet hours: the morning after, which is not "明天".
    assert "⏰ 下次提醒：11月26日周四 08:00（上海时间）" in screen.text
    assert "明天 08:00" not in screen.text
    assert "你现在在哪里" in screen.text, "the screen asks where they are"
    assert "✓ 🇨🇳 中国（上海）" in screen.button_labels, "China is preselected for a Chinese speaker"
    assert "🇳🇨 新喀里多尼亚" in screen.button_labels
    assert "🌍 其他地方…" in screen.button_labels

    shown = len(student.messages)
    moment = SHANGHAI_2230
    while moment < datetime(2026, 11, 26, 0, 0, tzinfo=UTC) - timedelta(minutes=1):  # until 07:59 in Shanghai
        moment = min(moment + timedelta(hours=3), datetime(2026, 11, 25, 23, 59, tzinfo=UTC))
        clock.set(moment)
        await nothing_more_happens()
        assert len(student.messages) == shown, f"nothing at {moment.astimezone().isoformat()}"
    clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    await student.wait_for_messages(shown + 1)
    assert "📬 我收到确认了" in student.screen.button_labels


async def test_a_student_abroad_who_taps_china_has_the_reminder_moved_and_status_agrees(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    student = api.user(1002, language_code="en")  # Telegram in English: New Caledonia preselected
    screen = await submit(student)
    # Due 24 hours later, 01:30 in Nouméa, so moved to 08:00 in Nouméa: 05:00 in Shanghai.
    assert "⏰ Next reminder: tomorrow at 08:00 (Nouméa time)." in screen.text
    assert "✓ 🇳🇨 New Caledonia" in screen.button_labels
    placed = await student.tap("🇨🇳 China (Shanghai)")
    assert "Reminders now follow Shanghai time (it's 22:30 there)" in placed.text
    assert "⏰ Next reminder: Thu, Nov 26, 08:00 (Shanghai time)." in placed.text
    assert placed.has_button("Got the confirmation"), "the step is shown again, in place"
    assert not placed.has_button("New Caledonia"), "the question is answered"
    status = await student.say("/status")
    assert "next reminder: Thu, Nov 26, 08:00 (Shanghai time)" in status.text
    assert "05:00" not in status.text
    shown = len(student.messages)
    clock.set(datetime(2026, 11, 25, 21, 0, tzinfo=UTC))  # 05:00 in Shanghai, the old due time
    await nothing_more_happens()
    assert len(student.messages) == shown
    clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    await student.wait_for_messages(shown + 1)


async def test_timezone_shanghai_typed_moves_the_pending_reminder_and_status_shows_it(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    user = api.user(1003, language_code="fr")
    await submit(user)
    before = await user.say("/status")
    assert "demain à 08:00 (heure de Nouméa)" in before.text
    moved = await user.say("/timezone 上海")
    assert "heure de Shanghai" in moved.text
    assert "jeu. 26 nov., 08:00 (heure de Shanghai)" in moved.text
    after = await user.say("/status")
    assert "jeu. 26 nov., 08:00 (heure de Shanghai)" in after.text
    assert "05:00" not in after.text


async def test_a_french_speaker_back_in_paris_reads_demain_a_9h_heure_de_paris(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # 09:00 in Paris, 19:00 in Nouméa
    user = api.user(1004, language_code="fr")
    screen = await submit(user)
    assert "demain à 19:00 (heure de Nouméa)" in screen.text
    assert "✓ 🇳🇨 Nouvelle-Calédonie" in screen.button_labels
    placed = await user.tap("🇫🇷 France")
    assert "demain à 09:00 (heure de Paris)" in placed.text
    assert "demain à 09:00 (heure de Paris)" in (await user.say("/status")).text


async def test_somewhere_else_understands_a_typed_city_in_each_language(api: FakeBotApi) -> None:
    for chat_id, code, typed, named in (
        (1005, "zh-hans", "珀斯", "珀斯时间"),
        (1006, "fr", "Pékin", "heure de Shanghai"),
        (1007, "en", "UTC+8", "UTC+8"),
    ):
        user = api.user(chat_id, language_code=code)
        await submit(user)
        invited = await user.tap(lambda b: b.data == "where|type")
        assert "UTC+8" in invited.text, "it says what can be typed"
        placed = await user.say(typed)
        assert named in placed.text


async def test_once_chosen_the_place_is_not_asked_again_and_the_zone_is_still_named(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1008, language_code="en")
    await submit(user)
    await user.tap("🇫🇷 France")
    await user.tap(lambda b: b.id == "not_sent")
    again = await user.tap(lambda b: b.id == "sent")
    assert "(Paris time)" in again.text
    assert "Where are you now?" not in again.text
    assert not again.has_button("France")


async def test_the_timezone_command_asks_where_with_places_for_the_language(api: FakeBotApi) -> None:
    user = api.user(1009, language_code="zh-hans")
    await user.say("/start")
    asked = await user.say("/timezone")
    assert "你现在在哪里" in asked.text
    assert asked.button_labels[:2] == ["🇨🇳 中国（上海）", "✓ 🇳🇨 新喀里多尼亚"]
    chosen = await user.tap("日本")
    assert "东京时间" in chosen.text
    assert "✓ 🇯🇵 日本" in (await user.say("/timezone")).button_labels


async def test_a_place_the_bot_does_not_know_can_be_typed_again(api: FakeBotApi) -> None:
    user = api.user(1010)
    await submit(user)
    await user.tap(lambda b: b.data == "where|type")
    unknown = await user.say("Atlantis")
    assert "Atlantis" in unknown.text
    placed = await user.say("Perth")
    assert "Perth time" in placed.text
