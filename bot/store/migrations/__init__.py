"""Schema migrations, one numbered step per schema change; a database records the last step it ran.

Steps are never edited once released: a change to the schema is a new step at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: the statements that take a database from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]
