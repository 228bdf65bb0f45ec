"""The facts file a flow rests on, parsed once into frozen claims that texts cite by ID.

The file (``flows/facts/<name>.md``, a copy of the shared research) is Markdown written for people. A claim is
a bullet or a table row that starts with its ID in square brackets and ends with one confidence word::

    - [airalo.reinstall] A deleted eSIM usually cannot be reinstalled. Source: ... Conf: sure.
    | [ubigi.wait] | Ubigi | Refund within 10 business days. | Ubigi EN page | sure |

"(derived)" after the word marks our own conclusion. Every other ``[id]`` in the file only points to a claim
(the "What changed" and "Still NOT FOUND" lists); the item of "What changed" that starts with **Retired**
lists IDs that no text may cite any more. A malformed claim is a problem at its ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from bot.flows.errors import Problem

__all__ = ["Claim", "Confidence", "Facts", "load_facts", "parse_facts"]

CLAIM_ID = r"[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_*-]+)+"
"""``airalo.refund.withdrawal``: dotted lowercase words (``*`` only in a reference to a family)."""

_BULLET = re.compile(rf"^- \[({CLAIM_ID})\]\s*(.*)$")
_ROW = re.compile(rf"^\|\s*\[({CLAIM_ID})\]\s*\|(.*)\|\s*$")
_CONFIDENCE = re.compile(r"(sure|likely|unsure|conflicting|NOT FOUND)( \(derived\))?")
_BULLET_CONF = re.compile(rf"Conf:\s*{_CONFIDENCE.pattern}\.?\s*$")
_REFERENCE = re.compile(rf"\[({CLAIM_ID})\]")
_VERSION = re.compile(r"\(version (\d+)\)")


class Confidence(StrEnum):
    """How sure the research is; each word allows its own wording (the file's "How the bot may word")."""

    SURE = "sure"
    LIKELY = "likely"
    UNSURE = "unsure"
    CONFLICTING = "conflicting"
    NOT_FOUND = "NOT FOUND"

    @property
    def stated(self) -> bool:
        """Tells whether a text may state a claim of this confidence (hedged when likely)."""
        return self in (Confidence.SURE, Confidence.LIKELY)


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim of the facts file: its ID, confidence, whether we derived it, and where it is written."""

    id: str
    confidence: Confidence
    derived: bool
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Every claim of one facts file by ID, the retired IDs, and the file's version."""

    path: Path
    version: int | None
    claims: Mapping[str, Claim]
    retired: frozenset[str]


def parse_facts(path: Path, source: str) -> tuple[Facts, list[Problem]]:
    """Parses a facts file's text; returns its claims and every malformed or duplicate claim as a problem."""
    lines = source.splitlines()
    problems: list[Problem] = []
    claims: dict[str, Claim] = {}
    items = _items(lines)
    written = {item[2] for item in items}
    for number, text, identifier, confidence, derived in items:
        if confidence is None:
            message = f"claim '{identifier}' has no confidence word: end it with 'Conf: sure' (or likely, unsure, conflicting, NOT FOUND)"
            problems.append(Problem(path, number, 1, message))
        elif identifier in claims:
            first = claims[identifier].line
            problems.append(
                Problem(path, number, 1, f"duplicate claim '{identifier}' (first at line {first})")
            )
        else:
            claims[identifier] = Claim(identifier, confidence, derived, number, text)
    retired = _retired(lines)
    for number, line in enumerate(lines, start=1):
        for match in _REFERENCE.finditer(line):
            name = match[1]
            if "*" in name or name in written or name in retired:
                continue
            problems.append(Problem(path, number, match.start() + 1, f"'[{name}]' points to no claim"))
    for name in sorted(retired & claims.keys()):
        problems.append(Problem(path, claims[name].line, 1, f"claim '{name}' is listed as retired"))
    version = _VERSION.search(lines[0]) if lines else None
    facts = Facts(path, int(version[1]) if version else None, MappingProxyType(claims), frozenset(retired))
    return facts, problems


def load_facts(path: Path) -> tuple[Facts | None, list[Problem]]:
    """Reads and parses a facts file; returns None with one problem when it cannot be read."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 1, 1, f"cannot read the facts file: {exc}")]
    return parse_facts(path, source)


Item = tuple[int, str, str, Confidence | None, bool]


def _items(lines: list[str]) -> list[Item]:
    """Returns (line, text, ID, confidence, derived) for each claim: bullets with their continuation lines, rows."""
    items: list[Item] = []
    index = 0
    while index < len(lines):
        row = _ROW.match(lines[index])
        bullet = _BULLET.match(lines[index])
        if row:
            cells = [cell.strip() for cell in row[2].split("|")]
            word = _CONFIDENCE.fullmatch(cells[-1])
            items.append((index + 1, " ".join(cells[:-1]), row[1], *_confidence(word)))
        elif bullet:
            start, parts = index, [bullet[2]]
            while index + 1 < len(lines) and lines[index + 1].startswith("  "):
                index += 1
                parts.append(lines[index].strip())
            text = " ".join(parts)
            items.append((start + 1, text, bullet[1], *_confidence(_BULLET_CONF.search(text))))
        index += 1
    return items


def _confidence(match: re.Match[str] | None) -> tuple[Confidence | None, bool]:
    if match is None:
        return None, False
    return Confidence(match[1]), bool(match[2])


def _retired(lines: list[str]) -> set[str]:
    """Returns the IDs the "What changed" item starting with **Retired** lists."""
    retired: set[str] = set()
    inside = False
    for line in lines:
        if re.match(r"^\d+\. \*\*Retired\*\*", line):
            inside = True
        elif inside and (not line.startswith("   ") or not line.strip()):
            inside = False
        if inside:
            retired |= set(_REFERENCE.findall(line))
    return retired
