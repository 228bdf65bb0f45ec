"""A conversation as plain data, and what advancing it produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType

__all__ = [
    "CancelReminders",
    "Conversation",
    "Effect",
    "Ended",
    "EnteredState",
    "KeptReminder",
    "ScheduleReminder",
]

VariableValue = str | None


def _frozen(mapping: Mapping[str, VariableValue]) -> Mapping[str, VariableValue]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where one chat stands in one flow: everything needed to resume it after a restart.

    ``step`` counts the screens shown; buttons carry it so that a press on an older screen is recognised.
    ``asking`` names the confirmation the newest screen asks for (the runtime's, never the flow's), or None:
    a confirmation's button counts only on the screen that asks it.
    """

    flow_id: str
    flow_version: str
    state: str
    language: str
    step: int = 0
    variables: Mapping[str, VariableValue] = field(default_factory=lambda: _frozen({}))
    checklist: frozenset[str] = frozenset()
    finished: bool = False
    asking: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.variables, MappingProxyType):
            object.__setattr__(self, "variables", _frozen(self.variables))

    def with_language(self, language: str) -> Conversation:
        """Returns the same conversation in another language."""
        return replace(self, language=language)


@dataclass(frozen=True, slots=True)
class ScheduleReminder:
    """Remind this conversation after ``delay``; ``sequence`` counts from 1 for the first reminder."""

    name: str
    delay: timedelta
    sequence: int = 1


@dataclass(frozen=True, slots=True)
class KeptReminder:
    """A reminder kept while the conversation's reminders were off: it was due in ``due_in`` (negative once
    its moment passed), as number ``sequence``."""

    name: str
    due_in: timedelta
    sequence: int


@dataclass(frozen=True, slots=True)
class CancelReminders:
    """Cancel the named reminders of this conversation, or all of them when ``names`` is None."""

    names: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class EnteredState:
    """The conversation entered ``state``: a row for the operators' funnel statistics."""

    state: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The conversation reached a final state."""

    state: str


Effect = ScheduleReminder | CancelReminders | EnteredState | Ended
