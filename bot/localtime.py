"""Users' local time: parsing a time zone they typed, quiet hours, and moments shown in their language."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import format_skeleton

if TYPE_CHECKING:
    # Only a type here: the store (quiet hours on its settings record) must not load the flow loader.
    from bot.flows.languages import DayWords

__all__ = [
    "COMMON_TIMEZONES",
    "DEFAULT_TIMEZONE",
    "QuietHours",
    "format_when",
    "parse_timezone",
    "zone_or_default",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Pacific/Noumea"

COMMON_TIMEZONES: tuple[str, ...] = (
    "Pacific/Noumea",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Europe/Paris",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "UTC",
)

# Real offsets run from UTC-12:00 to UTC+14:00.
_OFFSET = re.compile(
    r"^(?:(?:utc|gmt)\s*)?(?P<sign>[+\-\u2212])\s*(?P<hours>\d{1,2})(?:(?::|h)?(?P<minutes>\d{2}))?$",
    re.IGNORECASE,
)
_LATEST_OFFSET = timedelta(hours=14)
_EARLIEST_OFFSET = timedelta(hours=-12)


def parse_timezone(text: str, find_place: Callable[[str], str | None] | None = None) -> ZoneInfo | timezone:
    """Returns the time zone named by ``text``: an IANA name in any case, a city, or a UTC offset.

    Accepted: ``asia/shanghai``, ``Shanghai``, ``上海``, ``Pékin``, ``Chine``, ``UTC+8``, ``+08:00``,
    ``GMT-5``, ``UTC+5:30`` (places in the bot's languages: :mod:`bot.places`).
    Raises ValueError with a suggestion when nothing matches.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("empty time zone (try 'Pacific/Noumea' or 'UTC+11')")
    offset = _parse_offset(cleaned)
    if offset is not None:
        return offset
    key = cleaned.replace(" ", "_").lower()
    names = _zone_names()
    if key in names:
        return ZoneInfo(names[key])
    cities = _zone_cities()
    if key in cities:
        return ZoneInfo(cities[key])
    place = find_place(cleaned) if find_place is not None else None
    if place is not None:
        return ZoneInfo(place)
    suggestion = difflib.get_close_matches(key, [*names, *cities], n=1, cutoff=0.6)
    hint = ""
    if suggestion:
        hint = f" (did you mean {names.get(suggestion[0]) or cities[suggestion[0]]!r}?)"
    raise ValueError(f"unknown time zone {text.strip()!r}{hint}")


def zone_or_default(name: str) -> tzinfo:
    """Returns the stored time zone ``name``, or Nouméa's when it no longer parses (logged)."""
    try:
        return parse_timezone(name)
    except ValueError:
        logger.warning("unknown stored time zone %r; using %s", name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


def _parse_offset(text: str) -> timezone | None:
    if text.lower() in {"utc", "gmt"}:
        return None  # the IANA "UTC" zone, so it is stored and shown by name
    match = _OFFSET.match(text)
    if match is None:
        return None
    sign = -1 if match["sign"] in "-\u2212" else 1
    minutes = int(match["minutes"] or 0)
    if minutes >= 60:
        raise ValueError(f"invalid UTC offset {text!r}: minutes must be below 60")
    offset = sign * timedelta(hours=int(match["hours"]), minutes=minutes)
    if not _EARLIEST_OFFSET <= offset <= _LATEST_OFFSET:
        raise ValueError(f"invalid UTC offset {text!r}: offsets run from UTC-12 to UTC+14")
    if offset == timedelta(0):
        return UTC
    return timezone(offset)


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@cache
def _zone_cities() -> dict[str, str]:
    """Maps the last part of each zone name ("shanghai") to its zone, when only one zone has it."""
    found: dict[str, list[str]] = {}
    for name in available_timezones():
        if "/" in name and not name.startswith("Etc/"):
            found.setdefault(name.rsplit("/", 1)[1].lower(), []).append(name)
    return {city: zones[0] for city, zones in found.items() if len(zones) == 1}


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local time in which the bot sends nothing unasked; ``start == end`` means none."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, local: time) -> bool:
        """Tells whether a local wall-clock time falls inside the window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def shift(self, due_utc: datetime, tz: tzinfo) -> datetime:
        """Returns ``due_utc`` in UTC, moved to the end of the quiet window when it falls inside it."""
        if due_utc.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got {due_utc!r}")
        due_utc = due_utc.astimezone(UTC)
        local = due_utc.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        if not self.contains(wall):
            return due_utc
        end_day = local.date()
        if self.start > self.end and wall >= self.start:
            end_day += timedelta(days=1)
        return _first_moment_at_or_after(end_day, self.end, tz, due_utc)


def _first_moment_at_or_after(day: date, wall: time, tz: tzinfo, earliest: datetime) -> datetime:
    """Returns the instant the wall clock in ``tz`` shows ``day wall``, never before ``earliest``.

    A wall time that happens twice (DST fold) resolves to its first occurrence not before ``earliest``;
    one that never happens (DST gap) resolves as PEP 495 does, the same distance past the gap.
    """
    naive = datetime.combine(day, wall)
    instants = [naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = sorted(moment for moment in instants if moment.astimezone(tz).replace(tzinfo=None) == naive)
    if not real:
        # In a gap, fold=1 reads the wall time with the offset after the change: an instant before it.
        real = [instants[0]]
    for moment in real:
        if moment >= earliest:
            return moment
    return earliest


def format_when(
    dt_utc: datetime, tz: tzinfo, locale: Locale, now_utc: datetime, days: DayWords | None = None
) -> str:
    """Returns a moment as the user reads it: "明天 09:00", "demain à 09:00", "Wed, Mar 5, 09:00".

    ``days`` are the language's words for today and tomorrow (from its meta file); without them the
    date is always written out.
    """
    local = dt_utc.astimezone(tz)
    clock_time = format_skeleton("Hm", local, tzinfo=tz, locale=locale)
    days_ahead = (local.date() - now_utc.astimezone(tz).date()).days
    words = {0: days.today, 1: days.tomorrow} if days is not None else {}
    if days_ahead in words:
        return words[days_ahead].format(time=clock_time)
    skeleton = "MMMEd" if local.year == now_utc.astimezone(tz).year else "yMMMEd"
    day_text = format_skeleton(skeleton, local, tzinfo=tz, locale=locale)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", day_text).replace("{0}", clock_time)
