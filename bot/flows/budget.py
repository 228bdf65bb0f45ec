"""How much room a message takes on a phone (lines at a given width, where a CJK character counts two), and the
phone budget checked on every message as people see it, with what the bot adds at run time."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.flows import model as m
from bot.flows.errors import Problem
from bot.flows.texts import LocaleFile
from bot.flows.yamlsource import Located
from bot.places import Places

__all__ = ["PhoneBudget", "Screens", "display_lines", "display_width", "plain_text", "shared_rows"]

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


# -- the phone budget, checked on what people see -----------------------------------------------------

SAMPLE_NOW = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
"""A Tuesday: reminders three days on are written out in full ("Fri, Nov 27, 08:00"), their longest form."""

SAMPLE_DUE = SAMPLE_NOW + timedelta(days=3)

NOTES_AT_HAND = ("ui.stop.done", "ui.stray", "ui.old_reminder", "ui.where.type")
"""Notes the bot shows above the current step's first line and its buttons ("📍 Now: …")."""

NOTES_WITH_REMINDER = ("ui.resume.done", "ui.where.set")
"""Notes followed by the next reminder's line."""

BOT_ROWS = 1
"""The bot's own row under a step: the languages on the first screen, "turn reminders back on" after /stop."""

PLACES_PER_ROW = 2
"""At most this many places share a row of "where are you now?"."""


def shared_rows(labels: list[str], shared_columns: int) -> list[list[int]]:
    """Returns rows of label indexes, in order: two labels share a row when both fit ``shared_columns``."""
    rows: list[list[int]] = []
    for index, label in enumerate(labels):
        fits = display_width(label) <= shared_columns
        last = rows[-1] if rows else None
        if (
            fits
            and last is not None
            and len(last) < PLACES_PER_ROW
            and display_width(labels[last[-1]]) <= shared_columns
        ):
            last.append(index)
        else:
            rows.append([index])
    return rows


class Screens(Protocol):
    """What the budget reads from the flow checker: the flow, its texts, and screens rendered per provider."""

    @property
    def located(self) -> Located: ...

    @property
    def flow(self) -> m.Flow: ...

    @property
    def locales(self) -> Sequence[LocaleFile]: ...

    def providers_for(self, condition: m.Condition | None) -> list[m.Provider | None]: ...

    def rendered(self, texts: Mapping[str, str], key: str, provider: m.Provider | None) -> str: ...


@dataclass(slots=True)
class PhoneBudget:
    """Checks that every message fits a phone as people see it: a step's text with what the bot adds to it
    (the next reminder's line, "📍 Now: …" under a note), its rows of buttons with the bot's own, the
    "where are you now?" question, and every button label, in every language and for every provider."""

    screens: Screens
    budget: m.Budget
    places: Places | None
    problems: list[Problem] = field(default_factory=list)
    _reported: set[tuple[str, str]] = field(default_factory=set)

    @property
    def origin(self) -> str:
        where = self.screens.located.where(("budget",), key=True)
        return f"the budget at {self.screens.located.path}:{where.line}"

    def check(self) -> list[Problem]:
        """Returns every message over the budget, each once per language at the text to shorten."""
        scheduled = self.entered_with_reminder()
        for name, reminder in self.screens.flow.reminders.items():
            for key in (reminder.text, reminder.help):
                self.check_text(f"reminder '{name}'", m.TextVariant(text=key), "")
        for name, state in self.screens.flow.states.items():
            variants = [m.TextVariant(text=state.text)] if isinstance(state.text, str) else list(state.text)
            with_line = name in scheduled
            for variant in variants:
                self.check_text(f"screen '{name}'", variant, "ui.next_reminder" if with_line else "")
            self.check_rows(name, state)
        for locale in self.screens.locales:
            self.check_notes(locale)
            self.check_where(locale)
        self.check_labels()
        return self.problems

    # -- texts -------------------------------------------------------------------------------------

    def entered_with_reminder(self) -> set[str]:
        """Returns the states a button leads to while scheduling a reminder: their screen gets its line."""
        found: set[str] = set()
        for name, state in self.screens.flow.states.items():
            if any(isinstance(action, m.ScheduleAction) for action in state.on_enter):
                found.add(name)
            for row in state.buttons:
                for button in row:
                    if isinstance(button, m.GotoButton) and any(
                        isinstance(action, m.ScheduleAction) for action in button.do
                    ):
                        found.update([button.to] if isinstance(button.to, str) else [b.to for b in button.to])
        return found

    def reminder_line(self, locale: LocaleFile) -> str:
        """Returns the longest "⏰ Next reminder: …" the language can show, or "" without its text."""
        template = locale.texts.get("ui.next_reminder")
        if template is None:
            return ""
        return max((template.replace("{when}", when) for when in self.sample_whens(locale.language)), key=len)

    def sample_whens(self, language: str) -> list[str]:
        """Returns a reminder three days on, in each zone the language offers (its longest forms)."""
        if self.places is None:
            return ["Fri, Nov 27, 08:00 (New Caledonia time)"]
        zones = self.places.offered_zones(language)
        return [self.places.when(SAMPLE_DUE, ZoneInfo(zone), zone, language, SAMPLE_NOW) for zone in zones]

    def check_text(self, what: str, variant: m.TextVariant, added: str) -> None:
        """Reports a text (with the bot's line under it, if any) longer than the budget, at its key."""
        for locale in self.screens.locales:
            if (locale.language, variant.text) in self._reported:
                continue
            line = self.reminder_line(locale) if added else ""
            worst, lines = "", 0
            for provider in self.screens.providers_for(variant.when):
                shown = self.screens.rendered(locale.texts, variant.text, provider)
                count = display_lines(f"{shown}\n\n{line}" if line else shown, self.budget.columns)
                if count > lines:
                    worst, lines = (provider.name if provider else ""), count
            if lines <= self.budget.lines:
                continue
            templated = "{" in locale.texts.get(variant.text, "")
            shown_with = f" with {worst}" if worst and templated else ""
            and_line = " and the next reminder's line" if line else ""
            message = (
                f"{what}{shown_with}{and_line} is {lines} lines at {self.budget.columns} columns, "
                f"over {self.origin} ({self.budget.lines} lines)"
            )
            self.problems.append(locale.located.problem(tuple(variant.text.split(".")), message))
            self._reported.add((locale.language, variant.text))

    def check_notes(self, locale: LocaleFile) -> None:
        """Reports a note shown above the current step's first line ("📍 Now: …") that does not fit."""
        at_hand = locale.texts.get("ui.at_hand")
        if at_hand is None:
            return
        first_lines = [self.first_line(locale, state) for state in self.screens.flow.states.values()]
        compact = at_hand.replace("{where}", max(first_lines, key=len, default=""))
        line = self.reminder_line(locale)
        notes = [(key, locale.texts.get(key, "")) for key in NOTES_AT_HAND]
        notes += [(key, f"{locale.texts.get(key, '')}\n{line}") for key in NOTES_WITH_REMINDER]
        for key, note in notes:
            lines = display_lines(f"{note}\n\n{compact}", self.budget.columns)
            if lines > self.budget.lines and key in locale.texts:
                message = (
                    f"note '{key}' above the current step is {lines} lines at {self.budget.columns} columns, "
                    f"over {self.origin} ({self.budget.lines} lines)"
                )
                self.problems.append(locale.located.problem(tuple(key.split(".")), message))

    def first_line(self, locale: LocaleFile, state: m.State) -> str:
        """Returns the longest first line a state's screen can show in this language."""
        keys = [state.text] if isinstance(state.text, str) else [variant.text for variant in state.text]
        return max(
            (
                next((line for line in locale.texts.get(key, "").splitlines() if line.strip()), "")
                for key in keys
            ),
            key=len,
        )

    # -- the "where are you now?" question ---------------------------------------------------------

    def check_where(self, locale: LocaleFile) -> None:
        """Reports a "where are you now?" message over the budget: its text, its rows or a place's label."""
        prompt = locale.texts.get("ui.where.prompt")
        if prompt is None or self.places is None:
            return
        language = locale.language
        zones = self.places.offered_zones(language)
        zone = max((self.places.zone_label(z, language) for z in zones), key=len)
        # Asked naming the zone the answers give (back home in France), or without one (a guess).
        for key, asked, text in (
            ("prompt", "", prompt.replace("{zone}", zone).replace("{now}", "22:30")),
            ("confirm", " confirming a zone", _named(locale.texts.get("ui.where.confirm", ""), zone)),
            ("ask", " without a zone", locale.texts.get("ui.where.ask", "")),
            ("ask_away", " to someone away", locale.texts.get("ui.where.ask_away", "")),
        ):
            lines = display_lines(text, self.budget.columns)
            if lines > self.budget.lines:
                message = f"'where are you now?'{asked} is {lines} lines at {self.budget.columns} columns, over {self.origin} ({self.budget.lines} lines)"
                self.problems.append(locale.located.problem(("ui", "where", key), message))
        where = ("ui", "where", "prompt")
        # A zone chosen elsewhere stays in view with its check mark: one more place, as wide as the widest.
        labels = ["✓ " + self.places.place_label(z, language) for z in zones]
        rows = (
            len(shared_rows([*labels, max(labels, key=display_width)], self.budget.shared_label_columns)) + 1
        )
        if self.budget.rows is not None and rows > self.budget.rows:
            message = f"'where are you now?' has {rows} rows of buttons, over {self.origin} ({self.budget.rows} rows)"
            self.problems.append(locale.located.problem(where, message))
        for zone_id, label in zip(zones, labels, strict=True):
            if display_width(label) > self.budget.label_columns:
                message = (
                    f"place '{zone_id}' is {display_width(label)} columns wide as a button, over {self.origin} "
                    f"({self.budget.label_columns} for a button alone on its row)"
                )
                self.problems.append(locale.located.problem(where, message))

    # -- buttons -----------------------------------------------------------------------------------

    def check_rows(self, name: str, state: m.State) -> None:
        """Reports a step whose rows of buttons, with the bot's own row, are more than the budget allows."""
        if self.budget.rows is None:
            return
        rows = self.rows_of(state) + BOT_ROWS
        if rows > self.budget.rows:
            message = f"screen '{name}' shows up to {rows} rows of buttons with the bot's own, over {self.origin} ({self.budget.rows} rows)"
            self.problems.append(self.screens.located.problem(("states", name, "buttons"), message, key=True))

    def rows_of(self, state: m.State) -> int:
        """Returns the most rows a state shows for any provider (each link of a provider has its own row)."""
        providers = self.screens.providers_for(None)
        most = 0
        for provider in providers:
            count = 0
            for row in state.buttons:
                links = [b for b in row if isinstance(b, m.LinksButton)]
                if links:
                    group = links[0].links.partition(".")[2]
                    count += len(getattr(provider, group)) if provider is not None else 0
                else:
                    count += 1
            most = max(most, count)
        return most

    def check_labels(self) -> None:
        """Reports each button label wider than its row allows."""
        budget = self.budget
        for state in self.screens.flow.states.values():
            for row in state.buttons:
                limit = budget.label_columns if len(row) == 1 else budget.shared_label_columns
                for button in row:
                    for key, extra, columns in self.labels(button, limit):
                        for locale in self.screens.locales:
                            self.check_label(key, extra, columns, locale)

    def labels(self, button: m.Button, limit: int) -> list[tuple[str, int, int]]:
        """Returns (text key, columns the bot adds, width allowed) for each label a button can show."""
        if isinstance(button, m.GotoButton | m.UrlButton | m.CopyButton):
            return [(button.text, 0, limit)]
        checklist = self.screens.flow.checklist
        if isinstance(button, m.ToggleButton) and button.toggle in checklist:
            # The bot puts a ✅ or ⬜ and a space in front of a checklist label.
            return [(checklist[button.toggle], 3, limit)]
        if isinstance(button, m.LinksButton):
            group = button.links.partition(".")[2]
            # Each link gets a row of its own.
            providers = self.screens.flow.providers.values()
            return [
                (link.text, 0, self.budget.label_columns) for p in providers for link in getattr(p, group)
            ]
        return []

    def check_label(self, key: str, extra: int, columns: int, locale: LocaleFile) -> None:
        """Reports a label wider than the budget allows on its row, once per language and width."""
        seen = (locale.language, f"{key}@{columns}")
        text = locale.texts.get(key)
        if seen in self._reported or text is None or display_width(text) + extra <= columns:
            return
        self._reported.add(seen)
        where = "alone on its row" if columns == self.budget.label_columns else "sharing a row"
        message = f"button label '{key}' is {display_width(text) + extra} columns wide, over {self.origin} ({columns} for a button {where})"
        self.problems.append(locale.located.problem(tuple(key.split(".")), message))


def _named(text: str, zone: str) -> str:
    """Returns a "where" text with the longest zone name and a time in it."""
    return text.replace("{zone}", zone).replace("{now}", "22:30")
