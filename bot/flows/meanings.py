"""What each button of a flow version means, kept so that a button survives a reload that did not change it.

The flow version (:func:`bot.flows.loader.flow_version`) changes with any change to the flow's structure,
which makes every button on every screen "from another version". A button whose meaning (where it leads,
what it does, when it shows) is the same in the new version still does what the person expects: the
engine accepts it. The meanings of the versions served are kept in the store (``flow_versions``), so that
every instance, a restart with an empty ``data/``, and ``esim-bot validate --against`` still know them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bot.flows import model as m
from bot.flows.graph import button_id

__all__ = ["Meanings", "legacy_history", "meanings_of", "parsed_history", "renamed"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Meanings:
    """A flow version's button and reminder meanings, as canonical JSON, by (state, button) and reminder."""

    flow_id: str
    version: str
    buttons: Mapping[tuple[str, str], str]
    reminders: Mapping[str, str]

    def as_json(self) -> str:
        """Returns the meanings as a JSON document (as the store keeps them)."""
        buttons: dict[str, dict[str, str]] = {}
        for (state, button), meaning in self.buttons.items():
            buttons.setdefault(state, {})[button] = meaning
        document = {
            "flow_id": self.flow_id,
            "version": self.version,
            "buttons": buttons,
            "reminders": dict(self.reminders),
        }
        return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Meanings:
        """Reads meanings written by :meth:`as_json`; raises ValueError on anything else."""
        data = json.loads(text)
        try:
            buttons = {
                (str(state), str(button)): str(meaning)
                for state, row in data["buttons"].items()
                for button, meaning in row.items()
            }
            reminders = {str(name): str(meaning) for name, meaning in data["reminders"].items()}
            return cls(str(data["flow_id"]), str(data["version"]), buttons, reminders)
        except (KeyError, AttributeError, TypeError) as exc:
            raise ValueError(f"not a flow version's meanings: {exc}") from exc


def _canonical(model: m.Action | m.Button | m.Reminder, include: set[str]) -> str:
    return json.dumps(model.model_dump(mode="json", include=include), sort_keys=True, ensure_ascii=False)


def meanings_of(flow: m.Flow, version: str) -> Meanings:
    """Returns what every pressable button and every reminder's answers mean in ``flow``."""
    buttons: dict[tuple[str, str], str] = {}
    for name, state in flow.states.items():
        for row_index, row in enumerate(state.buttons):
            for column, button in enumerate(row):
                if isinstance(button, m.GotoButton):
                    meaning = _canonical(button, {"to", "do", "when"})
                elif isinstance(button, m.ToggleButton):
                    meaning = _canonical(button, {"toggle", "when"})
                else:
                    continue  # links and copies carry no callback data
                buttons[name, button_id(button, row_index, column)] = meaning
    reminders = {name: _canonical(r, {"confirmed", "after_last"}) for name, r in flow.reminders.items()}
    return Meanings(flow.id, version, MappingProxyType(buttons), MappingProxyType(reminders))


_TARGETS = ("to", "confirmed", "after_last")


def renamed(meaning: str, moves: Mapping[str, str]) -> str:
    """Returns an earlier meaning with the states it leads to renamed as ``moves`` says (old -> new).

    A button that led to a state since renamed (with ``moved_from``) still means the same.
    """
    if not moves:
        return meaning
    data = json.loads(meaning)
    for key in _TARGETS:
        target = data.get(key)
        if isinstance(target, str):
            data[key] = moves.get(target, target)
        elif isinstance(target, list):
            for branch in target:
                branch["to"] = moves.get(branch["to"], branch["to"])
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def parsed_history(stored: Mapping[str, str]) -> dict[str, Meanings]:
    """Returns the meanings the store keeps (version -> JSON document), by version; unreadable ones skipped."""
    found: dict[str, Meanings] = {}
    for version, text in stored.items():
        try:
            found[version] = Meanings.from_json(text)
        except ValueError as exc:  # JSONDecodeError is one
            # Without them, that version's old buttons only answer that the flow was updated: not worth stopping.
            logger.warning("skipping the stored meanings of flow version %s: %s", version, exc)
    return found


def legacy_history(directory: Path) -> list[tuple[Meanings, float]]:
    """Returns the meanings older bots wrote to ``data/flow-versions``, with when each was last served.

    Read once, to keep them in the store; nothing writes that folder any more.
    """
    found: list[tuple[Meanings, float]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append((Meanings.from_json(path.read_text(encoding="utf-8")), path.stat().st_mtime))
        except (OSError, ValueError) as exc:
            logger.warning("skipping flow history file %s: %s", path, exc)
    return found
