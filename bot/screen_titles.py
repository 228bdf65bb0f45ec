"""What operators read in the report, in their language: a screen's title (the first line of its text, without
emoji, in a font that has it), and the report's own words (the locales' ``ui.report.*`` texts).

Graphviz draws the funnel's labels with one font; a character that font lacks would show as an empty box,
so emoji are left out and a title with another missing character falls back to the state's id.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from datetime import timedelta

from bot.engine.screens import fill
from bot.flows import FlowBundle

__all__ = [
    "LabelFont",
    "drawable",
    "flow_title",
    "label_font",
    "report_duration",
    "report_text",
    "screen_title",
]

# Emoji, their joiners and variation selectors, and the symbol blocks buttons use (✅ ➡️ ⬅️ 🔄): drawn by
# few fonts, so left out rather than risk a box.
_EMOJI = re.compile(
    "[\u200d\u20e3\ufe0e\ufe0f\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f"
    "\u2b00-\u2bff\U0001f000-\U0001faff\U000e0000-\U000e007f]"
)
# Fontconfig's names for languages whose code it does not know as such.
_FONTCONFIG_LANGUAGES = {"zh-Hans": "zh-cn", "zh-Hant": "zh-tw"}


@dataclass(frozen=True, slots=True)
class LabelFont:
    """The font Graphviz draws a language's labels with, and the characters it has."""

    family: str
    ranges: tuple[tuple[int, int], ...]

    def draws(self, character: str) -> bool:
        """Tells whether the font has a glyph for ``character`` (spaces and line ends always pass)."""
        code = ord(character)
        return character in " \n" or any(low <= code <= high for low, high in self.ranges)


def label_font(language: str) -> LabelFont | None:
    """Returns the sans-serif font fontconfig picks for ``language`` (None without fontconfig)."""
    if shutil.which("fc-match") is None:
        return None
    pattern = f"sans-serif:lang={_FONTCONFIG_LANGUAGES.get(language, language.lower())}"
    found = subprocess.run(
        ["fc-match", "-f", "%{family[0]}\n%{charset}", pattern], capture_output=True, text=True, check=False
    )
    family, _, charset = found.stdout.partition("\n")
    ranges = []
    for part in charset.split():
        low, _, high = part.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    return LabelFont(family.strip(), tuple(ranges)) if family.strip() else None


def drawable(text: str, font: LabelFont | None) -> str | None:
    """Returns ``text`` without emoji, or None if the font lacks one of its other characters."""
    kept = " ".join(_EMOJI.sub("", text).split())
    if font is not None and not all(font.draws(character) for character in kept):
        return None
    return kept


def screen_title(bundle: FlowBundle, language: str, state: str, font: LabelFont | None = None) -> str:
    """Returns a screen's title as the person reads it (its text's first line), or its id if undrawable."""
    title = _first_line(bundle, language, state, font)
    return textwrap.shorten(title, width=36, placeholder=" …") if title else state


def flow_title(bundle: FlowBundle, language: str, font: LabelFont | None = None) -> str:
    """Returns the guide's title in ``language``: its first screen's first line, whole (the flow's own
    ``title`` when that line cannot be drawn)."""
    return (
        _first_line(bundle, language, bundle.flow.start, font)
        or drawable(bundle.flow.title, font)
        or bundle.flow.id
    )


def _first_line(bundle: FlowBundle, language: str, state: str, font: LabelFont | None) -> str | None:
    variants = bundle.flow.states[state].text
    key = variants if isinstance(variants, str) else variants[-1].text
    lines = bundle.texts.get(language, key).strip().splitlines()
    plain = re.sub(r"<[^>]+>", "", lines[0]) if lines else ""
    # Placeholders are filled per person; the picture is about everyone.
    plain = html.unescape(re.sub(r"\{[^}]*\}", "…", plain))
    return drawable(plain, font) or None


def report_text(bundle: FlowBundle, language: str, key: str, **values: str | int) -> str:
    """Returns the report's text ``ui.report.<key>`` in ``language`` with ``values`` filled in, as HTML (a value
    is escaped unless it is Markup)."""
    given = {name: value if isinstance(value, str) else str(value) for name, value in values.items()}
    return fill(bundle.texts.get(language, f"ui.report.{key}"), given.get)


def report_duration(bundle: FlowBundle, language: str, duration: timedelta | None) -> str:
    """Returns a duration as the report shows it in ``language`` ("3 d 4 h", "5 h", "20 min"; "-": none)."""
    if duration is None:
        return "-"
    minutes = int(duration / timedelta(minutes=1))
    if minutes < 60:
        return report_text(bundle, language, "minutes", minutes=minutes)
    hours = round(duration / timedelta(hours=1))
    if hours < 24:
        return report_text(bundle, language, "hours", hours=hours)
    return report_text(bundle, language, "days_hours", days=hours // 24, hours=hours % 24)
