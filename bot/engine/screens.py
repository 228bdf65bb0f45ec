"""What the engine shows: screens of Telegram HTML text and rows of buttons, and the one way texts are filled."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.callbacks import FlowPress, ReminderPress
from bot.flows.texts import PLACEHOLDER

__all__ = ["CHECKED", "UNCHECKED", "Markup", "Press", "Rows", "Screen", "ScreenButton", "fill"]

CHECKED, UNCHECKED = "✅", "⬜"

Press = FlowPress | ReminderPress
"""What a flow screen's or a reminder's button means, decoded: the engine never sees its wire form."""


class Markup(str):
    """Telegram HTML that is already safe: a placeholder value inserted as it is, not escaped."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ScreenButton:
    """One inline button: it means a ``press`` of the flow (the runtime writes its callback data), carries
    callback ``data`` already written by bot.callbacks, opens ``url``, or copies ``copy_text``."""

    label: str
    data: str | None = None
    url: str | None = None
    copy_text: str | None = None
    press: Press | None = None

    def __post_init__(self) -> None:
        if [self.data, self.url, self.copy_text, self.press].count(None) != 3:
            raise ValueError(f"button {self.label!r} needs exactly one of press, data, url and copy_text")


Rows = tuple[tuple[ScreenButton, ...], ...]


@dataclass(frozen=True, slots=True)
class Screen:
    """A message to show: Telegram HTML text and rows of buttons."""

    text: str
    rows: Rows = ()


def fill(raw: str, value_of: Callable[[str], str | None]) -> str:
    """Fills every ``{placeholder}`` in ``raw``: the one place texts get their values.

    A value is escaped for Telegram HTML unless it is ``Markup``; an unknown placeholder stays as written.
    """
    if "{" not in raw:
        return raw

    def value(match: re.Match[str]) -> str:
        found = value_of(match[1])
        if found is None:
            return match[0]
        return found if isinstance(found, Markup) else html.escape(found, quote=False)

    return PLACEHOLDER.sub(value, raw)
