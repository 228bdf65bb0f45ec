"""Texts in every language, loaded from locales/<language>.yaml and checked for Telegram's HTML subset."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType

from bot.flows.errors import Problem
from bot.flows.yamlsource import Located, parse_yaml

__all__ = ["PLACEHOLDER", "LocaleFile", "Texts", "html_problems", "load_locale_files", "placeholders"]

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)\}")
"""``{name}`` or ``{table_variable.field}``; nothing else in braces is ever evaluated."""

_ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "code": set(),
    "pre": set(),
    "a": {"href"},
    "tg-spoiler": set(),
    "blockquote": {"expandable"},
}


def placeholders(text: str) -> frozenset[str]:
    """Returns the placeholder names used in ``text``."""
    return frozenset(PLACEHOLDER.findall(text))


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> is not allowed by Telegram (use b, i, u, s, code, pre, a)")
        for name, _value in attrs:
            if name not in _ALLOWED_TAGS.get(tag, set()):
                self.errors.append(f"attribute '{name}' is not allowed on <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"closing </{tag}> does not match an open tag")
            return
        self.open.pop()


def html_problems(text: str) -> list[str]:
    """Returns why ``text`` is not valid Telegram HTML, or an empty list."""
    checker = _TagChecker()
    # A bare '&' or '<' is what operators most often get wrong: Telegram rejects the whole message.
    if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
        checker.errors.append("a bare '&' must be written &amp;")
    if re.search(r"<(?![a-zA-Z/])", text):
        checker.errors.append("a bare '<' must be written &lt;")
    checker.feed(text)
    checker.close()
    if checker.open:
        checker.errors.append(f"<{checker.open[-1]}> is never closed")
    return checker.errors


@dataclass(frozen=True, slots=True)
class LocaleFile:
    """One language's texts, flattened to dotted keys, with where each came from."""

    language: str
    located: Located
    texts: Mapping[str, str]


def _flatten(located: Located, problems: list[Problem]) -> dict[str, str]:
    flat: dict[str, str] = {}

    def visit(value: object, location: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                visit(child, (*location, key))
        elif isinstance(value, str):
            flat[".".join(map(str, location))] = value
        else:
            problems.append(located.problem(location, "a text must be a string (quote it)"))

    if not isinstance(located.data, dict):
        problems.append(located.problem((), "a locale file must be a mapping of keys to texts"))
        return flat
    visit(located.data, ())
    return flat


def load_locale_files(directory: Path) -> tuple[list[LocaleFile], list[Problem]]:
    """Reads every locales/*.yaml file; returns the files and the problems found in them."""
    files: list[LocaleFile] = []
    problems: list[Problem] = []
    # <language>.meta.yaml beside the texts says what else the bot knows of a language (bot.flows.languages).
    paths = sorted(path for path in directory.glob("*.yaml") if not path.name.endswith(".meta.yaml"))
    if not paths:
        problems.append(Problem(directory, 1, 1, "no locale files (<language>.yaml) found here"))
    for path in paths:
        located, found = parse_yaml(path)
        problems.extend(found)
        if located is None:
            continue
        flat = _flatten(located, problems)
        files.append(LocaleFile(path.stem, located, MappingProxyType(flat)))
    return files, problems


@dataclass(frozen=True, slots=True)
class Texts:
    """Every text in every language; complete by construction (the loader rejects missing keys)."""

    by_language: Mapping[str, Mapping[str, str]]

    @property
    def languages(self) -> tuple[str, ...]:
        """Returns the language codes: the names of the locales/<language>.yaml files."""
        return tuple(self.by_language)

    def get(self, language: str, key: str) -> str:
        """Returns the raw text (Telegram HTML with placeholders) for ``key`` in ``language``."""
        return self.by_language[language][key]
