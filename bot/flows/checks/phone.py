"""What a phone shows: ready-made messages a copy button holds, and every screen and label within the
flow's budget in every language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.flows import model as m
from bot.flows.budget import display_lines, display_width
from bot.flows.checks.base import Limits
from bot.flows.checks.references import References
from bot.flows.texts import PLACEHOLDER, LocaleFile, placeholders

__all__ = ["PhoneCheck"]


@dataclass(slots=True)
class PhoneCheck:
    """Checks copy buttons' messages and the phone budget."""

    refs: References
    locales: Sequence[LocaleFile]
    limits: Limits

    @property
    def flow(self) -> m.Flow:
        return self.refs.flow

    def run(self) -> None:
        """Checks the copied messages, then the budget."""
        self.check_copy_texts()
        self.check_budget()

    def copy_keys(self, copy: str) -> list[str]:
        """Returns the text keys a copy button may copy: its own key, or that field of every provider."""
        if not copy.startswith("{"):
            return [copy]
        field_name = copy.strip("{}").partition(".")[2]
        keys = []
        for provider in self.flow.providers.values():
            key = provider.texts.get(field_name) or getattr(provider, field_name, None)
            if isinstance(key, str):
                keys.append(key)
        return keys

    def copy_buttons(self) -> Iterator[m.CopyButton]:
        for state in self.flow.states.values():
            for row in state.buttons:
                yield from (button for button in row if isinstance(button, m.CopyButton))

    def check_copy_texts(self) -> None:
        keys = dict.fromkeys(key for button in self.copy_buttons() for key in self.copy_keys(button.copy_))
        limit = self.limits.copy_text_characters
        for locale in self.locales:
            for key in keys:
                text = locale.texts.get(key)
                if text is None:
                    continue
                where = tuple(key.split("."))
                if placeholders(text) or "<" in text or "&" in text:
                    message = f"message '{key}' is copied as plain text: no placeholders, tags or entities"
                    self.refs.problems.append(locale.located.problem(where, message))
                if len(text) > limit:
                    message = f"message '{key}' is {len(text)} characters, over the {limit} a copy button holds: shorten it, or show it in a <pre> block"
                    self.refs.problems.append(locale.located.problem(where, message))

    def providers_for(self, condition: m.Condition | None) -> list[m.Provider | None]:
        """Returns the provider rows a screen variant can show: those its condition allows."""
        rows: list[m.Provider | None] = list(self.flow.providers.values()) or [None]
        for path, expected in (condition or {}).items():
            variable, _, attribute = path.partition(".")
            if variable not in self.refs.table_variables():
                continue
            allowed = set(expected if isinstance(expected, list) else [expected])
            if attribute:
                rows = [row for row in rows if row is not None and getattr(row, attribute) in allowed]
            else:
                rows = [self.flow.providers[name] for name in allowed if name in self.flow.providers]
        return rows

    def rendered(self, texts: Mapping[str, str], key: str, provider: m.Provider | None) -> str:
        """Returns a text as a screen shows it for ``provider``: its fields filled, other variables empty."""
        tables = self.refs.table_variables()

        def fill(match: Any) -> str:
            variable, _, attribute = match[1].partition(".")
            if variable not in tables or provider is None or not attribute:
                return ""
            if attribute in m.PROVIDER_PLAIN_FIELDS:
                return str(getattr(provider, attribute))
            field_key = provider.texts.get(attribute) or getattr(provider, attribute, None)
            return self.rendered(texts, field_key, provider) if isinstance(field_key, str) else ""

        return PLACEHOLDER.sub(fill, texts.get(key, ""))

    def check_budget(self) -> None:
        budget = self.flow.budget
        if budget is None or not self.locales:
            return
        where = self.refs.located.where(("budget",), key=True)
        origin = f"the budget at {self.refs.located.path}:{where.line}"
        screens: list[tuple[str, list[m.TextVariant]]] = [
            (f"reminder '{name}'", [m.TextVariant(text=reminder.text), m.TextVariant(text=reminder.help)])
            for name, reminder in self.flow.reminders.items()
        ]
        for name, state in self.flow.states.items():
            variants = [m.TextVariant(text=state.text)] if isinstance(state.text, str) else list(state.text)
            screens.append((f"screen '{name}'", variants))
        reported: set[tuple[str, str]] = set()
        for what, variants in screens:
            for variant in variants:
                for locale in self.locales:
                    seen = (locale.language, variant.text) in reported
                    if not seen and self.screen_over_budget(budget, origin, what, variant, locale):
                        reported.add((locale.language, variant.text))
        for state in self.flow.states.values():
            for row in state.buttons:
                limit = budget.label_columns if len(row) == 1 else budget.shared_label_columns
                for button in row:
                    for key, extra, columns in self.labels(button, limit, budget.label_columns):
                        for locale in self.locales:
                            seen = (locale.language, f"{key}@{columns}") in reported
                            if not seen and self.label_over_budget(
                                budget, origin, key, extra, columns, locale
                            ):
                                reported.add((locale.language, f"{key}@{columns}"))

    def screen_over_budget(
        self, budget: m.Budget, origin: str, what: str, variant: m.TextVariant, locale: LocaleFile
    ) -> bool:
        """Reports a text longer than the budget with the provider that makes it longest; tells if it did."""
        worst, lines = "", 0
        for provider in self.providers_for(variant.when):
            count = display_lines(self.rendered(locale.texts, variant.text, provider), budget.columns)
            if count > lines:
                worst, lines = (provider.name if provider else ""), count
        if lines <= budget.lines:
            return False
        shown = f" with {worst}" if worst and "{" in locale.texts.get(variant.text, "") else ""
        message = f"{what}{shown} is {lines} lines at {budget.columns} columns, over {origin} ({budget.lines} lines)"
        self.refs.problems.append(locale.located.problem(tuple(variant.text.split(".")), message))
        return True

    def labels(self, button: m.Button, limit: int, alone: int) -> list[tuple[str, int, int]]:
        """Returns (text key, columns the bot adds, width allowed) for each label a button can show."""
        if isinstance(button, m.GotoButton | m.UrlButton | m.CopyButton):
            return [(button.text, 0, limit)]
        if isinstance(button, m.ToggleButton) and button.toggle in self.flow.checklist:
            # The bot puts a ✅ or ⬜ and a space in front of a checklist label.
            return [(self.flow.checklist[button.toggle], 3, limit)]
        if isinstance(button, m.LinksButton):
            group = button.links.partition(".")[2]
            # Each link gets a row of its own.
            return [(link.text, 0, alone) for p in self.flow.providers.values() for link in getattr(p, group)]
        return []

    def label_over_budget(
        self, budget: m.Budget, origin: str, key: str, extra: int, columns: int, locale: LocaleFile
    ) -> bool:
        """Reports a label wider than the budget allows on its row; tells if it did."""
        text = locale.texts.get(key)
        if text is None or display_width(text) + extra <= columns:
            return False
        where = "alone on its row" if columns == budget.label_columns else "sharing a row"
        message = f"button label '{key}' is {display_width(text) + extra} columns wide, over {origin} ({columns} for a button {where})"
        self.refs.problems.append(locale.located.problem(tuple(key.split(".")), message))
        return True
