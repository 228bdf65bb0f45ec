"""Every text key in every language: present, with the placeholders the reference language has, in
Telegram's HTML subset, and within Telegram's length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.flows.checks.base import Limits, UiText
from bot.flows.checks.references import References
from bot.flows.errors import did_you_mean
from bot.flows.texts import LocaleFile, html_problems, placeholders

__all__ = ["TextCheck"]


@dataclass(slots=True)
class TextCheck:
    """Checks the texts the flow and the bot use, in every language."""

    refs: References
    locales: Sequence[LocaleFile]
    ui_texts: tuple[UiText, ...]
    limits: Limits
    default_language: str | None
    text_refs: list[tuple[str, tuple[str | int, ...]]]

    def run(self) -> None:
        """Checks every text key in every language: present, same placeholders, valid HTML, not too long."""
        if not self.locales:
            return
        referenced: dict[str, frozenset[str] | None] = dict.fromkeys(key for key, _ in self.text_refs)
        referenced |= {ui.key: ui.placeholders for ui in self.ui_texts}
        self.check_flow_keys()
        self.check_ui_keys()
        known = self.refs.known_placeholders()
        reference = next((f for f in self.locales if f.language == self.default_language), self.locales[0])
        for locale in self.locales:
            for key, text in locale.texts.items():
                allowed = referenced.get(key)
                self.check_text(locale, key, text, known if allowed is None else allowed, reference)

    def check_flow_keys(self) -> None:
        """Reports a text key the flow uses that some language lacks, where the flow uses it."""
        for key, location in self.text_refs:
            missing = [f.language for f in self.locales if key not in f.texts]
            if missing:
                # A key missing everywhere is most likely misspelt; one missing in a single language is not.
                hint = ""
                if len(missing) == len(self.locales):
                    hint = did_you_mean(key, set().union(*(f.texts for f in self.locales)))
                self.refs.report(location, f"text key '{key}' is missing in {', '.join(missing)}{hint}")

    def check_ui_keys(self) -> None:
        """Reports the texts the bot itself needs that a language lacks, once per language."""
        for locale in self.locales:
            absent = [ui.key for ui in self.ui_texts if ui.key not in locale.texts]
            if len(absent) == 1:
                hint = did_you_mean(absent[0], locale.texts)
                message = f"text key '{absent[0]}' is missing (the bot itself needs it){hint}"
                self.refs.problems.append(locale.located.problem((), message))
            elif absent:
                message = f"{len(absent)} texts the bot itself needs are missing: {', '.join(absent)}"
                self.refs.problems.append(locale.located.problem((), message))

    def check_text(
        self,
        locale: LocaleFile,
        key: str,
        text: str,
        allowed: frozenset[str] | set[str],
        reference: LocaleFile,
    ) -> None:
        """Checks one text: its placeholders (known, and as the reference language has them), length, HTML."""
        location = tuple(key.split("."))
        names = placeholders(text)
        found: list[str] = []
        for name in sorted(names - allowed):
            found.append(f"text '{key}' uses unknown placeholder '{{{name}}}'{did_you_mean(name, allowed)}")
        if locale is not reference and key in reference.texts:
            expected = placeholders(reference.texts[key])
            if names != expected:
                found.append(
                    f"text '{key}' has placeholders {sorted(names)} but {reference.language} has {sorted(expected)}"
                )
        if len(text) > self.limits.text_characters:
            found.append(
                f"text '{key}' is {len(text)} characters, over Telegram's {self.limits.text_characters}"
            )
        found += [f"text '{key}': {reason}" for reason in html_problems(text)]
        self.refs.problems += [locale.located.problem(location, message) for message in found]
