"""How much room a text takes on a phone: lines at a given width, where a CJK character counts two."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache, lru_cache

__all__ = ["display_lines", "display_width", "plain_text"]

_TAG = re.compile(r"<[^>]+>")
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\ufe0e", "\ufe0f"}


def plain_text(telegram_html: str) -> str:
    """Returns what a person reads: Telegram HTML without its tags and entities."""
    return html.unescape(_TAG.sub("", telegram_html))


@cache  # a few thousand distinct characters at most; the budget check asks about each one many times
def _char_width(char: str) -> int:
    if char in _ZERO_WIDTH or unicodedata.combining(char):
        return 0
    # Wide and fullwidth characters (CJK, most emoji) take two columns on every phone font.
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Returns how many columns ``text`` takes on one line."""
    return sum(_char_width(char) for char in text)


def _tokens(line: str) -> list[str]:
    """Splits a line where it may wrap: after spaces, and between any two wide characters."""
    tokens: list[str] = []
    for word in re.findall(r"\S+\s*|\s+", line):
        current = ""
        for char in word:
            if _char_width(char) == 2:
                if current:
                    tokens.append(current)
                tokens.append(char)
                current = ""
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


def _wrapped(line: str, columns: int) -> int:
    if not line.strip():
        return 1
    count, used = 1, 0
    for token in _tokens(line):
        width = display_width(token.rstrip())
        if used and used + width > columns:
            count += 1
            used = 0
            token = token.lstrip()
        # A single token wider than the line (a long URL) breaks wherever it must.
        while display_width(token) > columns:
            count += 1
            token = token[columns:]
        used += display_width(token)
    return count


@lru_cache(maxsize=4096)  # most texts render alike for every provider, and are checked once per provider
def display_lines(telegram_html: str, columns: int) -> int:
    """Returns how many lines ``telegram_html`` takes when wrapped at ``columns``, word by word."""
    return sum(_wrapped(line, columns) for line in plain_text(telegram_html).split("\n"))
