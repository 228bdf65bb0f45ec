"""Reminders at the person's own hour: where they are is asked, every time shown is true and names its zone,
and no clock time is shown in a zone the person has not given."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi, by_id
from tests.telegram.conftest import nothing_more_happens
from tests.telegram.stories import asked_where, submit

pytestmark = pytest.mark.usefixtures("running_bot")

# 22:30 in Shanghai (UTC+8) on Tuesday 24 November 2026: 01:30 on the 25th in Nouméa.
SHANGHAI_2230 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


async def test_the_shanghai_student_who_submits_at_2230_hears_nothing_at_night(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    student = api.user(1001, language_code="zh-hans")
    screen = await submit(student)
    # "Back home" names no place: China is only a guess from the language, so no clock time is shown in it.
    assert "⏰ 下次提醒：1天后。" in screen.text
    assert "上海时间" not in screen.text
    assert "你现在在哪个国家或城市" not in screen.text, (
        "the step stays short: the question is a message of its own"
    )
    question = await asked_where(student, screen)
    # They said they are back home: asked which country or city, not "where are you now?" once more.
    assert "你现在在哪个国家或城市" in question.text
    assert "你现在在哪里" not in question.text
    assert "上海时间" not in question.text
    assert question.button_labels[0] == "🇨🇳 中国（上海）", "China first, unticked"
    assert question.button_labels[-2:] == ["🇳🇨 新喀里多尼亚", "🌍 其他地方…"], "the place they left, last"
    assert not any(label.startswith("✓") for label in question.button_labels)
    assert "🌍 其他地方…" in question.button_labels

    # Unanswered, the guess still keeps the night quiet: due at 22:30 again, it waits for 08:00 in Shanghai.
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
    student = api.user(1002, language_code="en")  # somewhere else, in English: no place named yet
    screen = await submit(student, where="abroad")
    assert "⏰ Next reminder: in 1 day." in screen.text
    assert "Nouméa" not in screen.text, "someone who has left is never first told a Nouméa time"
    assert "Sydney" not in screen.text, "nor a Sydney one, guessed from English"
    asked = await asked_where(student, screen)
    assert "🇦🇺 Australia (Sydney)" in asked.button_labels
    assert not any(label.startswith("✓") for label in asked.button_labels)
    placed = await student.tap("🇨🇳 China (Shanghai)")
    assert "Reminders now follow Shanghai time (it's 22:30 there)" in placed.text
    # 24 hours on is 22:30 again, inside the quiet hours: the morning after, which is not "tomorrow".
    assert "⏰ Next reminder: Thu, Nov 26, 08:00 (Shanghai time)." in placed.text
    assert placed.has_button("Got the confirmation"), "the step is shown again, in place"
    assert not placed.has_button("New Caledonia"), "the question is answered"
    status = await student.say("/status")
    assert "next reminder: Thu, Nov 26, 08:00 (Shanghai time)" in status.text
    shown = len(student.messages)
    clock.set(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai, 24 hours on
    await nothing_more_happens()
    assert len(student.messages) == shown
    clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    await student.wait_for_messages(shown + 1)


async def test_a_lyon_afternoon_answer_keeps_the_afternoon(api: FakeBotApi, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # 14:00 in Lyon: 00:00 in Nouméa, its night
    user = api.user(1011, language_code="fr")
    await user.say("/start")
    for step in ("go", "travel", "direct", "other", "active"):
        await user.tap(by_id(step))
    screen = await user.tap(by_id("sent"))  # a travel eSIM: nothing said yet of where they are
    assert "⏰ Prochain rappel : dans 1 semaine." in screen.text
    assert "Nouméa" not in screen.text, "a French speaker in Lyon is never first told a Nouméa time"
    asked = await asked_where(user, screen)
    assert "Nouméa" not in asked.text
    assert not any(label.startswith("✓") for label in asked.button_labels)
    # Kept at its plain moment until the place is known, not moved past Nouméa's night: a week on at
    # 14:00 in Lyon, not 08:00 the morning after.
    placed = await user.tap("🇫🇷 France")
    assert "⏰ Prochain rappel : mar. 1 déc., 14:00 (heure de Paris)." in placed.text
    shown = len(user.messages)
    clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    await user.wait_for_messages(shown + 1)
    assert user.screen.has_button("📬 Confirmation reçue")


async def test_timezone_shanghai_typed_moves_the_pending_reminder_and_status_shows_it(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    user = api.user(1003, language_code="fr")
    await submit(user)
    before = await user.say("/status")
    assert "prochain rappel : dans 1 jour" in before.text, "no clock time before the place is given"
    assert "heure de" not in before.text
    moved = await user.say("/timezone 上海")
    assert "heure de Shanghai" in moved.text
    assert "jeu. 26 nov., 08:00 (heure de Shanghai)" in moved.text
    after = await user.say("/status")
    assert "jeu. 26 nov., 08:00 (heure de Shanghai)" in after.text


async def test_a_french_speaker_back_home_in_france_reads_demain_a_9h_heure_de_paris_first(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # 09:00 in Paris, 19:00 in Nouméa
    user = api.user(1004, language_code="fr")
    screen = await submit(user, country="france")  # a home country chosen: its time is theirs
    assert "demain à 09:00 (heure de Paris)" in screen.text
    assert "Nouméa" not in screen.text
    asked = await asked_where(user, screen)
    assert "heure de Paris" in asked.text, "the zone used for now is named, with its time"
    assert "✓ 🇫🇷 France" in asked.button_labels
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
    assert asked.button_labels[:2] == ["🇨🇳 中国（上海）", "🇳🇨 新喀里多尼亚"], "nothing ticked: not said yet"
    assert "努美阿时间" not in asked.text
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


async def test_reminders_turned_back_on_before_the_place_is_given_show_no_guessed_clock(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(SHANGHAI_2230)
    user = api.user(1012, language_code="en")
    await submit(user)  # back home, country not named: no zone given
    stopped = await user.say("/stop")
    back = await user.tap("Turn reminders back on", on=stopped)
    assert "Reminders are back on" in back.text
    assert "Next reminder: in 1 day." in back.text
    assert " time)" not in back.text, "no clock time in a guessed zone (Sydney for English)"
    status = await user.say("/status")
    assert "next reminder: in 1 day" in status.text
    placed = await user.say("/timezone Perth")
    assert "Next reminder: Thu, Nov 26, 08:00 (Perth time)." in placed.text
