"""Turning reminders back on keeps the pending moment (issue 15): /stop keeps what was pending, unsent, and
turning them back on brings it at its own moment; one whose moment passed while they were off comes one pace
after it (never at once, never a burst of the ones missed). The store holds it, so a restart loses nothing."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi, FakeUser, Screen, by_id
from testkit.application import polling
from tests.telegram.conftest import NOON_IN_NOUMEA, nothing_more_happens
from tests.telegram.stories import asked_where, submit

DAY = timedelta(days=1)
# Airalo's pace: card refunds take 7-10 business days, so the first reminder comes a week after the request.
A_WEEK_LATER = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tue 1 Dec, 12:00 in Nouméa


async def waiting_on_airalo(user: FakeUser) -> Screen:
    """Asks Airalo for a refund at noon in Nouméa (day 0), says so, and answers "where are you now?"."""
    await user.say("/start airalo")
    await user.tap(by_id("go"))
    await user.tap(by_id("active"))
    waiting = await user.tap(by_id("sent"))
    return await user.tap(by_id("tz|Pacific/Noumea"), on=await asked_where(user, waiting))


async def reminder_comes_at(user: FakeUser, clock: FakeClock, moment: datetime) -> Screen:
    """Checks that nothing comes a minute before ``moment``, then that the reminder comes at it."""
    shown = len(user.messages)
    clock.set(moment - timedelta(minutes=1))
    await nothing_more_happens()
    assert len(user.messages) == shown, f"nothing before {moment}"
    clock.set(moment)
    await user.wait_for_messages(shown + 1)
    return user.screen


@pytest.mark.usefixtures("running_bot")
@pytest.mark.parametrize(
    ("code", "stopped", "back_on", "said"),
    [
        (
            "en",
            "Reminders are stopped. Send /start to pick up the guide again.\n"
            "• next reminder once turned back on: Tue, Dec 1, 12:00 (Nouméa time)",
            "Turn reminders back on",
            "⏰ Next reminder: Tue, Dec 1, 12:00 (Nouméa time).",
        ),
        (
            "fr",
            "Les rappels sont arrêtés. Envoyez /start pour reprendre le guide.\n"
            "• prochain rappel une fois réactivés : mar. 1 déc., 12:00 (heure de Nouméa)",
            "Réactiver les rappels",
            "⏰ Prochain rappel : mar. 1 déc., 12:00 (heure de Nouméa).",
        ),
        (
            "zh-hans",
            "提醒已停止。发送 /start 可以继续指南。\n• 重新开启后的下次提醒：12月1日周二 12:00（努美阿时间）",
            "重新开启提醒",
            "⏰ 下次提醒：12月1日周二 12:00（努美阿时间）。",
        ),
    ],
)
async def test_a_weekly_wait_stopped_on_day_2_and_turned_back_on_on_day_3_still_reminds_on_day_7_at_noon(
    api: FakeBotApi, clock: FakeClock, code: str, stopped: str, back_on: str, said: str
) -> None:
    user = api.user(1501, language_code=code)
    waiting = await waiting_on_airalo(user)
    assert said in waiting.text
    clock.advance(2 * DAY)
    await user.say("/stop")
    clock.advance(DAY)
    status = await user.say("/status")
    assert stopped in status.text, "off, and when the kept one would come"
    back = await user.tap(back_on, on=status)
    assert said in back.text, "the moment kept, not a week from now"
    reminder = await reminder_comes_at(user, clock, A_WEEK_LATER)
    assert "Airalo" in reminder.text
    assert reminder.button_labels[0].startswith("📬"), "the reminder's own answers"


@pytest.mark.usefixtures("running_bot")
async def test_turned_back_on_after_the_kept_moment_passed_the_next_comes_one_pace_after_it_not_at_once(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1502)
    await waiting_on_airalo(user)
    clock.advance(2 * DAY)
    await user.say("/stop")
    clock.set(A_WEEK_LATER + timedelta(days=2))  # Thursday: Tuesday's reminder was missed while stopped
    await nothing_more_happens()
    status = await user.say("/status")
    assert "once turned back on: Tue, Dec 8, 12:00 (Nouméa time)" in status.text
    back = await user.tap("Turn reminders back on", on=status)
    assert "Next reminder: Tue, Dec 8, 12:00 (Nouméa time)" in back.text
    shown = len(user.messages)
    await nothing_more_happens()
    assert len(user.messages) == shown, "no overdue reminder at once"
    reminder = await reminder_comes_at(user, clock, A_WEEK_LATER + timedelta(days=7))
    assert "Any news from Airalo?" in reminder.text
    clock.advance(DAY)
    await nothing_more_happens()
    assert len(user.messages) == shown + 1, "one reminder, not one per week missed"


@pytest.mark.usefixtures("running_bot")
async def test_a_new_zone_while_stopped_moves_the_kept_reminder_and_leaves_reminders_off(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(1503)
    await waiting_on_airalo(user)
    clock.advance(2 * DAY)
    await user.say("/stop")
    moved = await user.say("/timezone Asia/Shanghai")
    assert "Shanghai time" in moved.text
    shown = len(user.messages)
    clock.set(A_WEEK_LATER + timedelta(hours=1))
    await nothing_more_happens()
    assert len(user.messages) == shown, "still stopped: the kept reminder does not come"
    assert "Reminders are stopped" in (await user.say("/status")).text
    back = await user.tap("Turn reminders back on", on=user.screen)
    # Kept for 12:00 in Nouméa, 09:00 in Shanghai, on Tuesday: passed, so the next Tuesday at 09:00.
    assert "Next reminder: Tue, Dec 8, 09:00 (Shanghai time)" in back.text


async def test_a_restart_between_stop_and_resume_loses_nothing(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    user = api.user(1504)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        await submit(user, where="here")  # a carrier back home: a reminder every day at noon
        clock.advance(DAY + timedelta(minutes=1))
        await user.wait_for_messages(2)
        clock.advance(timedelta(hours=6))  # 18:01: tomorrow's reminder is due at 12:01
        await user.tap_for_toast("Stop reminders")
        await user.wait_for_reply()

    # The bot is replaced (a deploy, a crash) while reminders are off.
    clock.set(NOON_IN_NOUMEA + 2 * DAY - timedelta(hours=3))  # 09:00 the next morning
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        asked = await user.say("/start")
        resumed = await user.tap("Continue where I was", on=asked)
        assert "Next reminder: today at 12:01 (Nouméa time)" in resumed.text
        reminder = await reminder_comes_at(user, clock, NOON_IN_NOUMEA + 2 * DAY + timedelta(minutes=1))
        assert reminder.has_button("Got the confirmation")


@pytest.mark.usefixtures("running_bot")
async def test_starting_over_while_stopped_does_not_speak_of_pending_reminders(api: FakeBotApi) -> None:
    user = api.user(1505)
    await waiting_on_airalo(user)
    await user.say("/stop")
    confirm = await user.say("/restart")
    assert "Start over from the beginning?" in confirm.text
    assert "reminders" not in confirm.text, "none is pending: they are off, kept only for turning them on"
    started = await user.tap("Yes, start over", on=confirm)
    assert started.has_button(by_id("go"))
    assert "No reminders pending." in (await user.say("/status")).text, "the kept one went with the old start"
