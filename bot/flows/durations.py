"""Durations written the way operators think of them: ``30m``, ``24h``, ``3d``, ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DURATION_PATTERN", "parse_duration"]

DURATION_PATTERN = r"^(\d+[smhdw])+$"
_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Returns the timedelta that ``text`` names, or raises ValueError saying how to write one."""
    if not isinstance(text, str) or not re.fullmatch(DURATION_PATTERN, text.strip()):
        raise ValueError(f"bad duration {text!r}: write a number and a unit, e.g. 30m, 24h, 3d or 1d12h")
    total = timedelta()
    for amount, unit in _PART.findall(text.strip()):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta():
        raise ValueError(f"bad duration {text!r}: it must be longer than zero")
    return total
