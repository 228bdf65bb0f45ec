"""Reminders arrive at a sensible local hour, and users read times in their own words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.flows.languages import load_languages
from bot.localtime import COMMON_TIMEZONES, DEFAULT_TIMEZONE, QuietHours, parse_timezone
from bot.places import Places


def format_when(moment: datetime, zone: tzinfo, language: str, now: datetime) -> str:
    """Returns a moment as a person speaking ``language`` reads it, words from the shipped meta files."""
    languages, problems = load_languages(
        Path(__file__).resolve().parents[2] / "locales", ["en", "fr", "zh-Hans"]
    )
    assert languages is not None, problems
    return Places.of(languages).day_and_time(moment, zone, language, now)


NOUMEA = ZoneInfo("Pacific/Noumea")
PARIS = ZoneInfo("Europe/Paris")
NIGHT = QuietHours()


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: tzinfo, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)


# Parsing what users type


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("asia/shanghai", "Asia/Shanghai"),
        ("  EUROPE/PARIS ", "Europe/Paris"),
        ("Shanghai", "Asia/Shanghai"),
        ("nouméa".replace("é", "e"), "Pacific/Noumea"),
        ("hong kong", "Asia/Hong_Kong"),
        ("UTC", "UTC"),
    ],
)
def test_zone_names_are_recognised_in_any_case(typed: str, zone: str) -> None:
    assert parse_timezone(typed) == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("typed", "offset"),
    [
        ("UTC+8", timedelta(hours=8)),
        ("+08:00", timedelta(hours=8)),
        ("GMT-5", timedelta(hours=-5)),
        ("UTC+5:30", timedelta(hours=5, minutes=30)),
        ("utc +11", timedelta(hours=11)),
        ("UTC\u22129", timedelta(hours=-9)),
        ("UTC+14", timedelta(hours=14)),
    ],
)
def test_utc_offsets_are_recognised(typed: str, offset: timedelta) -> None:
    zone = parse_timezone(typed)

    assert zone.utcoffset(None) == offset
    assert str(zone) == "UTC" or parse_timezone(str(zone)) == zone  # the stored name reads back


def test_every_common_choice_parses() -> None:
    assert DEFAULT_TIMEZONE in COMMON_TIMEZONES
    for name in COMMON_TIMEZONES:
        assert str(parse_timezone(name)) == name


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Asia/Shangai", "unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"),
        ("Europe/Pariss", "did you mean 'Europe/Paris'?"),
        ("UTC+15", "offsets run from UTC-12 to UTC+14"),
        ("+05:75", "minutes must be below 60"),
        ("", "empty time zone"),
        ("the moon", "unknown time zone 'the moon'"),
    ],
)
def test_unknown_zones_are_refused_with_a_hint(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_timezone(typed)


# Quiet hours


def test_an_evening_reminder_moves_to_the_next_morning_in_noumea() -> None:
    due = local(NOUMEA, 2025, 3, 10, 22, 30)

    assert NIGHT.shift(due, NOUMEA) == local(NOUMEA, 2025, 3, 11, 8, 0)


def test_an_early_morning_reminder_waits_until_eight_the_same_day() -> None:
    due = local(NOUMEA, 2025, 3, 10, 6, 0)

    assert NIGHT.shift(due, NOUMEA) == local(NOUMEA, 2025, 3, 10, 8, 0)


@pytest.mark.parametrize(("hour", "minute"), [(8, 0), (12, 0), (20, 59)])
def test_a_reminder_in_waking_hours_is_left_alone(hour: int, minute: int) -> None:
    due = local(NOUMEA, 2025, 3, 10, hour, minute)

    shifted = NIGHT.shift(due, NOUMEA)

    assert shifted == due
    assert shifted.tzinfo == UTC


def test_the_window_starts_at_its_first_minute() -> None:
    assert NIGHT.shift(local(NOUMEA, 2025, 3, 10, 21, 0), NOUMEA) == local(NOUMEA, 2025, 3, 11, 8, 0)


def test_a_window_within_one_day() -> None:
    siesta = QuietHours(start=time(12, 0), end=time(14, 0))

    assert siesta.shift(local(NOUMEA, 2025, 3, 10, 13, 0), NOUMEA) == local(NOUMEA, 2025, 3, 10, 14, 0)
    assert siesta.shift(local(NOUMEA, 2025, 3, 10, 11, 59), NOUMEA) == local(NOUMEA, 2025, 3, 10, 11, 59)
    assert siesta.shift(local(NOUMEA, 2025, 3, 10, 23, 0), NOUMEA) == local(NOUMEA, 2025, 3, 10, 23, 0)


def test_equal_start_and_end_mean_no_quiet_hours() -> None:
    always = QuietHours(start=time(0, 0), end=time(0, 0))
    due = local(NOUMEA, 2025, 3, 10, 3, 0)

    assert always.shift(due, NOUMEA) == due


def test_the_same_instant_is_night_on_both_sides_of_the_date_line() -> None:
    due = utc(2025, 3, 10, 9, 30)  # 23:30 on the 10th in Kiritimati, 22:30 on the 9th in Pago Pago

    kiritimati = NIGHT.shift(due, ZoneInfo("Pacific/Kiritimati"))
    pago_pago = NIGHT.shift(due, ZoneInfo("Pacific/Pago_Pago"))

    assert kiritimati == local(ZoneInfo("Pacific/Kiritimati"), 2025, 3, 11, 8, 0)
    assert pago_pago == local(ZoneInfo("Pacific/Pago_Pago"), 2025, 3, 10, 8, 0)
    assert (kiritimati, pago_pago) == (utc(2025, 3, 10, 18, 0), utc(2025, 3, 10, 19, 0))


def test_the_night_clocks_go_forward_ends_at_eight_summer_time() -> None:
    due = local(PARIS, 2025, 3, 29, 22, 0)

    assert NIGHT.shift(due, PARIS) == utc(2025, 3, 30, 6, 0)


def test_the_night_clocks_go_back_ends_at_eight_winter_time() -> None:
    due = local(PARIS, 2025, 10, 25, 21, 30)

    assert NIGHT.shift(due, PARIS) == utc(2025, 10, 26, 7, 0)


def test_a_window_ending_in_the_skipped_hour_ends_just_after_it() -> None:
    late = QuietHours(start=time(21, 0), end=time(2, 30))  # 02:30 never happens on 30 March in Paris

    shifted = late.shift(local(PARIS, 2025, 3, 30, 1, 30), PARIS)

    assert shifted == utc(2025, 3, 30, 1, 30)
    assert shifted.astimezone(PARIS).time() == time(3, 30)


def test_a_window_ending_in_the_repeated_hour_never_moves_a_reminder_back() -> None:
    late = QuietHours(start=time(21, 0), end=time(2, 30))  # 02:00-03:00 happens twice on 26 October

    first_pass = late.shift(local(PARIS, 2025, 10, 26, 2, 10, fold=0), PARIS)
    second_pass = late.shift(local(PARIS, 2025, 10, 26, 2, 10, fold=1), PARIS)

    assert first_pass == utc(2025, 10, 26, 0, 30)
    assert second_pass == utc(2025, 10, 26, 1, 30)


def test_a_fixed_offset_zone() -> None:
    plus_eight = timezone(timedelta(hours=8))

    assert NIGHT.shift(utc(2025, 3, 10, 14, 0), plus_eight) == utc(2025, 3, 11, 0, 0)


@pytest.mark.parametrize(
    "zone",
    [NOUMEA, PARIS, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago"), ZoneInfo("Asia/Kolkata")],
    ids=str,
)
def test_no_reminder_ever_lands_in_quiet_hours(zone: ZoneInfo) -> None:
    for window in (NIGHT, QuietHours(time(22, 0), time(2, 30)), QuietHours(time(1, 0), time(6, 0))):
        for step in range(4 * 24 * 3):
            due = utc(2025, 3, 29, 0, 0) + timedelta(minutes=15 * step) + timedelta(days=210 * (step % 2))
            shifted = window.shift(due, zone)
            assert due <= shifted < due + timedelta(days=1)
            assert not window.contains(shifted.astimezone(zone).time()), (window, due)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        NIGHT.shift(datetime(2025, 3, 10, 22, 0), NOUMEA)


# Times shown to users

NOW = utc(2025, 3, 10, 0, 0)  # 11:00 in Noumea


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "later"),
    [
        ("zh-Hans", "今天 15:00", "明天 09:00", "3月13日周四 09:00"),
        ("fr", "aujourd’hui à 15:00", "demain à 09:00", "jeu. 13 mars, 09:00"),  # noqa: RUF001
        ("en", "today at 15:00", "tomorrow at 09:00", "Thu, Mar 13, 09:00"),
    ],
)
def test_moments_read_naturally_in_each_language(
    language: str, today: str, tomorrow: str, later: str
) -> None:
    assert format_when(local(NOUMEA, 2025, 3, 10, 15, 0), NOUMEA, language, NOW) == today
    assert format_when(local(NOUMEA, 2025, 3, 11, 9, 0), NOUMEA, language, NOW) == tomorrow
    assert format_when(local(NOUMEA, 2025, 3, 13, 9, 0), NOUMEA, language, NOW) == later


def test_another_year_is_named() -> None:
    assert format_when(local(NOUMEA, 2026, 1, 4, 9, 0), NOUMEA, "fr", NOW) == "dim. 4 janv. 2026, 09:00"


def test_tomorrow_is_the_users_tomorrow() -> None:
    now = utc(2025, 3, 10, 12, 0)  # 23:00 in Noumea, 13:00 in Paris
    moment = utc(2025, 3, 10, 13, 30)

    assert format_when(moment, NOUMEA, "en", now) == "tomorrow at 00:30"
    assert format_when(moment, PARIS, "en", now) == "today at 14:30"


def test_an_unknown_language_falls_back_to_english() -> None:
    assert format_when(local(NOUMEA, 2025, 3, 11, 9, 0), NOUMEA, "tlh", NOW) == "tomorrow at 09:00"
