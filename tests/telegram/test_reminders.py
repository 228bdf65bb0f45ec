"""Reminders through Telegram, on the fake clock: the right moment, the person's own hours and language."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from bot.testing.fake_bot_api import FakeBotApi, FakeUser
from tests.telegram.conftest import say, tap

pytestmark = pytest.mark.usefixtures("running_bot")


async def submit(user: FakeUser) -> None:
    """Walks an English speaker to 'I've submitted it' (home carrier)."""
    await say(user, "/start")
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await tap(user, label)


async def first_reminder(api: FakeBotApi, user: FakeUser, clock: FakeClock) -> None:
    """Walks to the waiting screen, then lets a day pass until the first reminder arrives."""
    await submit(user)
    clock.advance(timedelta(days=1, minutes=1))
    await api.wait_until(lambda: len(user.messages) == 2)


def due_times(settings: Settings, chat_id: int) -> list[datetime]:
    with sqlite3.connect(settings.database) as db:
        rows = db.execute("SELECT due_at FROM reminders WHERE chat_id = ?", (chat_id,)).fetchall()
    return [datetime.fromtimestamp(value / 1_000_000, UTC) for (value,) in rows]


async def test_the_first_reminder_comes_a_day_later_with_its_buttons(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(31)
    await submit(user)
    clock.advance(timedelta(hours=23))
    await clock_settles(api)
    assert len(user.messages) == 1
    clock.advance(timedelta(hours=1, minutes=1))
    await api.wait_until(lambda: len(user.messages) == 2)
    assert user.screen.button_labels[:1] == ["📬 Got the confirmation"]
    assert len(user.screen.button_labels) == 6


async def clock_settles(api: FakeBotApi) -> None:
    """Gives the scheduler a moment to act on a clock change (it must not send anything)."""
    await asyncio.sleep(0.1)


async def test_snooze_until_tomorrow_says_when_in_the_persons_words(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(32)
    await first_reminder(api, user, clock)
    await user.click("Tomorrow")
    toast = await user.wait_for_answer()
    assert "tomorrow at 12:01" in toast


async def test_a_french_speaker_reads_demain(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(33, language_code="fr")
    await say(user, "/start")
    for label in ("C'est parti", "Opérateur d'origine", "Autre pays", "Résilier", "Suivant", "envoyée"):
        await tap(user, label)
    clock.advance(timedelta(days=1, minutes=1))
    await api.wait_until(lambda: len(user.messages) == 2)
    await user.click(user.screen.button_labels[2])
    assert "demain à 12:01" in await user.wait_for_answer()


async def test_status_lists_the_pending_reminder(api: FakeBotApi) -> None:
    user = api.user(34)
    await submit(user)
    status = await say(user, "/status")
    assert "tomorrow at 12:00" in status.text


async def test_reminders_respect_quiet_hours_in_the_persons_time_zone(
    api: FakeBotApi, clock: FakeClock, settings: Settings
) -> None:
    user = api.user(35)
    await say(user, "/start")
    reply = await say(user, "/timezone Asia/Shanghai")
    assert "Asia/Shanghai" in reply.text
    clock.set(datetime(2026, 11, 24, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    for label in ("Let's start", "carrier back home", "Another country", "End the line", "Next", "submitted"):
        await tap(user, label)
    # 24 hours later would be 22:30 again, inside 21:00-08:00: moved to 08:00 the morning after.
    assert due_times(settings, 35) == [datetime(2026, 11, 26, 0, 0, tzinfo=UTC)]


async def test_an_unknown_time_zone_is_answered_with_a_hint(api: FakeBotApi) -> None:
    user = api.user(36)
    await say(user, "/start")
    reply = await say(user, "/timezone Mars/Olympus")
    assert "Mars/Olympus" in reply.text
    picker = await say(user, "/timezone")
    assert "Europe/Paris" in picker.button_labels
    chosen = await tap(user, "Europe/Paris")
    assert "Europe/Paris" in chosen.text


async def test_stop_means_no_more_reminders(api: FakeBotApi, clock: FakeClock, settings: Settings) -> None:
    user = api.user(37)
    await submit(user)
    stopped = await say(user, "/stop")
    assert stopped.button_labels == []
    assert due_times(settings, 37) == []
    clock.advance(timedelta(days=3))
    await clock_settles(api)
    assert len(user.messages) == 2
    status = await say(user, "/status")
    assert "tomorrow" not in status.text


async def test_the_stop_button_under_a_reminder_stops_them(
    api: FakeBotApi, clock: FakeClock, settings: Settings
) -> None:
    user = api.user(38)
    await first_reminder(api, user, clock)
    await tap(user, "Stop reminders")
    assert due_times(settings, 38) == []
    clock.advance(timedelta(days=2))
    await clock_settles(api)
    assert len(user.messages) == 2


async def test_i_got_the_confirmation_under_a_reminder_moves_the_flow_on(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(39)
    await first_reminder(api, user, clock)
    screen = await tap(user, "Got the confirmation")
    assert "It's confirmed" in " ".join(screen.button_labels)


async def test_i_need_help_shows_the_providers_support(api: FakeBotApi, clock: FakeClock) -> None:
    user = api.user(40)
    await say(user, "/start airalo")
    for label in ("Let's start", "Still has data", "submitted"):
        await tap(user, label)
    clock.advance(timedelta(days=7, minutes=1))  # Airalo's pace: card refunds take 7-10 business days
    await api.wait_until(lambda: len(user.messages) == 2)
    screen = await tap(user, "I need help")
    urls = [b.get("url") for row in (screen.reply_markup or {}).get("inline_keyboard", []) for b in row]
    assert any(url and "airalo" in url for url in urls)


async def test_after_seven_reminders_it_suggests_contacting_support(
    api: FakeBotApi, clock: FakeClock
) -> None:
    user = api.user(41)
    await submit(user)
    for day in range(1, 8):
        clock.advance(timedelta(days=1, minutes=1))
        await api.wait_until(lambda day=day: len(user.messages) == 1 + day, timeout=5)
    last = user.screen
    assert "📬 Got the confirmation" in last.button_labels
    assert "Write to your carrier once more" in last.text
    clock.advance(timedelta(days=3))
    await clock_settles(api)
    assert len(user.messages) == 8


async def test_a_typed_city_after_the_time_zone_prompt_sets_it(api: FakeBotApi) -> None:
    user = api.user(42)
    await say(user, "/start")
    await say(user, "/timezone")
    reply = await say(user, "Shanghai")
    assert "Asia/Shanghai" in reply.text
    status = await say(user, "hello there")
    assert "Asia/Shanghai" not in status.text


async def test_waiting_again_after_stop_brings_reminders_back(
    api: FakeBotApi, clock: FakeClock, settings: Settings
) -> None:
    user = api.user(43)
    await submit(user)
    await say(user, "/stop")
    assert due_times(settings, 43) == []
    await say(user, "/start")
    await tap(user, "haven't sent it yet")
    await tap(user, "submitted")
    assert len(due_times(settings, 43)) == 1
    clock.advance(timedelta(days=1, minutes=1))
    await api.wait_until(lambda: "⏰ Tomorrow" in user.screen.button_labels)


async def test_a_typed_place_only_counts_right_after_the_time_zone_prompt(api: FakeBotApi) -> None:
    user = api.user(44, language_code="zh-hans")
    await say(user, "/start")
    unprompted = await say(user, "北京")
    assert "Asia/Shanghai" not in unprompted.text
    await say(user, "/timezone")
    reply = await say(user, "北京")
    assert "Asia/Shanghai" in reply.text
