"""Errors raised while loading flows and texts.

Hierarchy::

    FlowError                 every problem with an operator's YAML
    └── FlowValidationError   one or more problems, each with its file, line and column
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BotError

__all__ = ["FlowError", "FlowValidationError", "Problem", "did_you_mean"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem in one file, printed the way a compiler would."""

    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class FlowError(BotError):
    """Root of every error about flow or text files."""


class FlowValidationError(FlowError):
    """A flow or its texts failed to load; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__("\n".join([*map(str, self.problems), summary]))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Returns ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, [c for c in choices if c != word], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
