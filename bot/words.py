"""Reads what a person typed: the deep links it points to (best first), and whether it holds private data.

The words come from each language's ``words:`` (:mod:`bot.flows.words`). A message and the words are
folded alike (case, accents, full-width forms); a word of five letters or more also matches with a small
typo (one edit, two from nine letters: a swap, a missing, extra or wrong letter). Chinese words match
inside the text, which has no spaces. A target scores its words found (hints count half, a typo a bit
less); the best three are suggested, ties in the order the language file lists them.

A small edit distance over a few hundred words costs microseconds per message: a fuzzy-matching library
(rapidfuzz) would add a compiled dependency for no difference people would notice.

What looks like a phone number, an e-mail address, an order number or a code is only detected, never
kept: :class:`Reading` holds the targets and a flag, not the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.flows.languages import Languages
from bot.flows.words import fold, is_cjk

__all__ = ["MOST_SUGGESTIONS", "Reading", "Vocabulary", "looks_private"]

MOST_SUGGESTIONS = 3
"""How many situations a typed message suggests at most."""

MOST_READ = 600
"""Only this much of a message is read (folded characters): a problem is told in its first lines, and a
flood of text costs no more than a long message."""
LONGEST_PHRASE = 4
"""A phrase of more words than this is read as its first words."""

HINT_WEIGHT = 0.5
TYPO_WEIGHT = 0.8
PHRASE_BONUS = 0.5
"""What each word of a phrase found whole adds beyond its first."""
FUZZY_FROM = 5
"""A word this long or longer also matches with one typo."""
TWO_TYPOS_FROM = 9
"""A word this long or longer also matches with two."""

# Each starts only where a run starts (the lookbehinds), so that a long message is read in linear time.
_PRIVATE = (
    re.compile(r"(?<![^\s@])[^\s@]+@[^\s@]+\.[^\s@]{2,}"),  # an e-mail address
    re.compile(
        r"(?<![\d+])\+?\d(?:[\s.\-/]?\d){5,}"
    ),  # six digits or more, however grouped: a phone, an order, a code
    # letters mixed with three digits or more: an order number or a code
    re.compile(
        r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d[A-Za-z0-9]*\d[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{6,}"
    ),
    re.compile(r"(?i)(?:pin|puk|code|otp|password|mot de passe|验证码|密码|口令)\W{0,3}\d{4,}"),
    re.compile(r"(?i)\bLPA:"),  # an eSIM activation code
)


def looks_private(text: str) -> bool:
    """Tells whether ``text`` looks like it holds a phone number, an e-mail address, an order number or a code."""
    return any(pattern.search(text) for pattern in _PRIVATE)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a typed message points to: deep links, best first (at most three), and whether it held private data."""

    targets: tuple[str, ...] = ()
    private: bool = False


@dataclass(frozen=True, slots=True)
class _Word:
    folded: str
    target: str
    weight: float
    cjk: bool


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every language's words, folded once; shared by all chats and reloaded with the texts."""

    words: Mapping[str, tuple[_Word, ...]]
    order: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, languages: Languages) -> Vocabulary:
        """Returns the vocabulary of ``languages`` (already validated)."""
        words: dict[str, tuple[_Word, ...]] = {}
        order: dict[str, tuple[str, ...]] = {}
        labels: dict[str, Mapping[str, str]] = {}
        for language, meta in languages.meta.items():
            if meta.words is None:
                continue
            wins = {fold(word): target for word, target in meta.words.wins.items()}
            found: list[_Word] = []
            for name, target in meta.words.targets.items():
                listed = [(w, 1.0) for w in target.words] + [(w, HINT_WEIGHT) for w in target.hints]
                for word, weight in listed:
                    folded = fold(word)
                    if folded and wins.get(folded, name) == name:
                        found.append(_Word(folded, name, weight, any(map(is_cjk, folded))))
            words[language] = tuple(found)
            order[language] = tuple(meta.words.targets)
            labels[language] = MappingProxyType({n: t.label for n, t in meta.words.targets.items()})
        return cls(MappingProxyType(words), MappingProxyType(order), MappingProxyType(labels))

    def label(self, language: str, target: str) -> str:
        """Returns a target's button label in ``language`` (its name when the language has no words)."""
        return self.labels.get(language, {}).get(target, target)

    def read(self, language: str, text: str) -> Reading:
        """Returns the deep links ``text`` points to in ``language``, best first, and whether it looks private."""
        private = looks_private(text)
        read = _Text.of(fold(_without_private(text) if private else text)[:MOST_READ])
        found: dict[str, list[_Match]] = {}
        for word in self.words.get(language, ()):
            match = _match(word, read)
            if match is not None:
                found.setdefault(word.target, []).append(match)
        scores = {target: _score(matches) for target, matches in found.items()}
        rank = {name: index for index, name in enumerate(self.order.get(language, ()))}
        best = sorted(scores, key=lambda name: (*(-part for part in scores[name]), rank.get(name, len(rank))))
        return Reading(tuple(best[:MOST_SUGGESTIONS]), private)


@dataclass(frozen=True, slots=True)
class _Text:
    """A folded message, with its runs of one to four tokens glued, each at its offset in ``glued``."""

    glued: str
    windows: Mapping[int, tuple[tuple[str, int, int], ...]]
    """Number of tokens -> (the tokens glued, start offset, end offset), in order."""

    @classmethod
    def of(cls, folded: str) -> _Text:
        tokens = folded.split()
        offsets = [0]
        for token in tokens:
            offsets.append(offsets[-1] + len(token))
        windows = {
            size: tuple(
                ("".join(tokens[start : start + size]), offsets[start], offsets[start + size])
                for start in range(len(tokens) - size + 1)
            )
            for size in range(1, LONGEST_PHRASE + 2)
        }
        return cls("".join(tokens), windows)


@dataclass(frozen=True, slots=True)
class _Match:
    """Where a word was found, as character offsets in the text with its spaces taken out, and how well."""

    start: int
    end: int
    weight: float
    hint: bool


def _score(matches: list[_Match]) -> tuple[float, float]:
    """Returns a target's score: its words, then its hints (a hint never outweighs a word). A stretch of
    text counts once, for its best match: "airalo" is not also three near misses of it."""
    kept: list[_Match] = []
    for match in sorted(matches, key=lambda m: (m.hint, -m.weight)):
        if all(match.end <= other.start or match.start >= other.end for other in kept):
            kept.append(match)
    words = sum(m.weight for m in kept if not m.hint)
    return words, sum(m.weight for m in kept if m.hint)


def _without_private(text: str) -> str:
    for pattern in _PRIVATE:
        text = pattern.sub(" ", text)
    return text


def _match(word: _Word, text: _Text) -> _Match | None:
    """Returns where ``word`` is in the text (the best of its places), or None when it is not there."""
    hint = word.weight < 1.0
    target = word.folded.replace(" ", "")
    if word.cjk:
        at = text.glued.find(target)
        return None if at < 0 else _Match(at, at + len(target), word.weight, hint)
    width = min(word.folded.count(" ") + 1, LONGEST_PHRASE)
    fuzzy = len(target) >= FUZZY_FROM
    allowed = 2 if len(target) >= TWO_TYPOS_FROM else 1
    best: _Match | None = None
    for size in sorted({width, width + 1, max(width - 1, 1)}):
        for window, start, end in text.windows.get(size, ()):
            if window == target:
                # A phrase found whole says more than any one of its words ("orange nc" over "orange").
                weight = word.weight * (1.0 + PHRASE_BONUS * (width - 1))
            elif fuzzy and size == width and window[0] == target[0] and _near(window, target, allowed):
                weight = word.weight * TYPO_WEIGHT
            else:
                continue
            if best is None or weight > best.weight:
                best = _Match(start, end, weight, hint)
    return best


def _near(window: str, target: str, allowed: int) -> bool:
    return abs(len(window) - len(target)) <= allowed and _distance(window, target, allowed) <= allowed


def _distance(a: str, b: str, most: int) -> int:
    """Returns the edit distance of ``a`` and ``b`` (a swap of neighbours counts one), or ``most + 1``
    as soon as it is sure to be over ``most``."""
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if min(current) > most:
            return most + 1
        before, previous = previous, current
    return previous[-1]
