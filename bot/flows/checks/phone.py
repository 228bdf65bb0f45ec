"""What a phone shows: ready-made messages a copy button holds, and every screen and label within the
flow's budget in every language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.flows import model as m
from bot.flows.budget import PhoneBudget
from bot.flows.checks.base import Limits
from bot.flows.checks.references import References
from bot.flows.languages import Languages
from bot.flows.texts import PLACEHOLDER, LocaleFile, placeholders
from bot.flows.yamlsource import Located
from bot.places import Places

__all__ = ["PhoneCheck"]


@dataclass(slots=True)
class PhoneCheck:
    """Checks copy buttons' messages and the phone budget."""

    refs: References
    locales: Sequence[LocaleFile]
    limits: Limits
    languages: Languages | None = None

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

    @property
    def located(self) -> Located:
        return self.refs.located

    def check_budget(self) -> None:
        """Checks every message as people see it against the flow's budget (bot.flows.budget)."""
        budget = self.flow.budget
        if budget is None or not self.locales:
            return
        places = Places.of(self.languages) if self.languages is not None else None
        self.refs.problems.extend(PhoneBudget(self, budget, places).check())
