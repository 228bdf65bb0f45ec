"""The words people type, per language: what each points to, and the checks ``esim-bot validate`` runs on them.

Each ``locales/<language>.meta.yaml`` may have a ``words:`` section. Its ``targets`` are deep links of the
flow (a deep link names a situation or a provider and lands on the first screen, warning included): each
has the label of its suggestion button, the ``words`` that point to it (brands, their loose spellings and
local names, situations) and weaker ``hints`` that suggest it only when nothing stronger does. A word
listed under two targets must say which one it suggests (``wins``). Every language lists the same targets.

Words are compared folded (:func:`fold`): case, accents and full-width forms set aside, so an operator
writes each word once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from bot.flows.errors import Problem, did_you_mean
from bot.flows.model import Id
from bot.flows.yamlsource import Located, parse_yaml

if TYPE_CHECKING:
    from bot.flows.languages import Languages
    from bot.flows.model import Flow

__all__ = ["Target", "Words", "check_words", "fold", "is_cjk"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Frozen):
    """One suggestion: its button's label, and what typed points to it."""

    label: str = Field(min_length=1, description="The suggestion button's label, plain text")
    words: list[str] = Field(default_factory=list, description="Brands, names and situations that point here")
    hints: list[str] = Field(
        default_factory=list, description="Weaker words: they suggest this when nothing stronger is typed"
    )


class Words(_Frozen):
    """A language's typed words: the deep links they suggest, and which one a shared word suggests."""

    targets: dict[Id, Target] = Field(min_length=1, description="A deep link of the flow: its suggestion")
    wins: dict[str, Id] = Field(
        default_factory=dict, description="A word listed under several targets: the one it suggests"
    )


def is_cjk(character: str) -> bool:
    """Tells whether a character is written without spaces between words (Chinese, Japanese, Korean)."""
    return unicodedata.east_asian_width(character) == "W" and character.isalpha()


def fold(text: str) -> str:
    """Returns ``text`` as typed words are compared: lower case, no accents, full-width forms made plain,
    punctuation as spaces, and a space between a run of Chinese and a run of Latin letters."""
    plain = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", plain)
    out: list[str] = []
    previous_cjk: bool | None = None
    for character in decomposed:
        if unicodedata.combining(character):
            continue
        if not character.isalnum():
            out.append(" ")
            previous_cjk = None
            continue
        cjk = is_cjk(character)
        if previous_cjk is not None and cjk != previous_cjk:
            out.append(" ")
        out.append(character)
        previous_cjk = cjk
    return " ".join("".join(out).split())


def check_words(flow: Flow, locales_dir: Path, languages: Languages | None) -> list[Problem]:
    """Returns the problems of every language's words: unknown targets, a word pointing two ways without
    saying which wins, and a language that does not cover the same targets as the others."""
    if languages is None:
        return []
    problems: list[Problem] = []
    covered: dict[str, tuple[Located, frozenset[str]]] = {}
    bare: list[str] = []
    for language, meta in languages.meta.items():
        if meta.words is None:
            bare.append(language)
            continue
        path = locales_dir / f"{language}.meta.yaml"
        located, _ = parse_yaml(path)
        if located is None:
            continue
        problems += _targets(located, meta.words, flow.deep_links)
        problems += _shared(located, meta.words)
        covered[language] = (located, frozenset(meta.words.targets))
    everything = frozenset[str]().union(*(targets for _, targets in covered.values()))
    for language in bare if everything else ():
        path = locales_dir / f"{language}.meta.yaml"
        names = ", ".join(sorted(everything))
        problems.append(Problem(path, 1, 1, f"language '{language}' has no words: add words: for {names}"))
    for language, (located, targets) in covered.items():
        missing = sorted(everything - targets)
        if missing:
            message = f"language '{language}' has no words for {', '.join(missing)}, as the others have"
            problems.append(located.problem(("words", "targets"), message, key=True))
    return problems


def _targets(located: Located, words: Words, deep_links: Mapping[str, object]) -> list[Problem]:
    """Returns a problem for each target or winner that is not a deep link of the flow."""
    locate = located.problem
    found = []
    for name in words.targets:
        if name not in deep_links:
            hint = did_you_mean(name, deep_links)
            found.append(
                locate(("words", "targets", name), f"unknown target '{name}': not a deep link{hint}")
            )
    for word, winner in words.wins.items():
        if winner not in words.targets:
            hint = did_you_mean(winner, words.targets)
            found.append(
                locate(("words", "wins", word), f"'{word}' wins for '{winner}', not a target here{hint}")
            )
    return found


def _shared(located: Located, words: Words) -> list[Problem]:
    """Returns a problem for each word under several targets that does not say which one wins."""
    locate = located.problem
    owners: dict[str, list[str]] = {}
    where: dict[str, tuple[str, str, int]] = {}
    for name, target in words.targets.items():
        for kind, listed in (("words", target.words), ("hints", target.hints)):
            for index, word in enumerate(listed):
                folded = fold(word)
                if not folded:
                    found = locate(("words", "targets", name, kind, index), f"'{word}' has no letters")
                    return [found]
                if name not in owners.setdefault(folded, []):
                    owners[folded].append(name)
                where.setdefault(folded, (name, kind, index))
    winners = {fold(word) for word in words.wins}
    problems = []
    for folded, names in owners.items():
        if len(names) > 1 and folded not in winners:
            name, kind, index = where[folded]
            message = f"'{folded}' points to {', '.join(names)}: say which wins under words: wins:"
            problems.append(locate(("words", "targets", name, kind, index), message))
    for word in words.wins:
        if len(owners.get(fold(word), ())) < 2:
            problems.append(
                locate(("words", "wins", word), f"'{word}' points one way only: it needs no 'wins'")
            )
    return problems
