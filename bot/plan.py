"""What a new flow version does to live conversations: who moves where, which reminders and buttons change.

``esim-bot validate --against <database>`` prints it before an operator ships an edit; the running bot logs
it at every reload. It counts from the store (:meth:`bot.store.Reports.standings`) and judges buttons by the
meanings of the versions served (:class:`bot.flows.meanings.FlowHistory`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.flows import FlowBundle
from bot.flows.meanings import Meanings, meanings_of, renamed
from bot.store import Standing

__all__ = ["Plan", "plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    """The effects of a flow version on the conversations stored, as counts an operator can read."""

    version: str
    conversations: int
    moves: Mapping[tuple[str, str], int]
    """(old state, where it goes) -> conversations: renamed, fallback or restart."""
    reminders: Mapping[tuple[str, str], int]
    """(reminder, what happens to it) -> pending reminders: renamed or dropped."""
    buttons: Mapping[tuple[str, str], int]
    """(state, button id) -> conversations whose screen shows that button, which stops working."""
    unknown_versions: Mapping[str, int]
    """Versions with no recorded meanings -> conversations: all their buttons say the flow was updated."""

    def as_lines(self) -> list[str]:
        """Returns the report, one line each, as the operator reads it."""
        lines = [f"flow version {self.version}: {self.conversations} conversations under way"]
        if not (self.moves or self.reminders or self.buttons or self.unknown_versions):
            lines.append(
                "nobody is affected: every conversation, reminder and button on screen stays as it is"
            )
        for (state, where), count in sorted(self.moves.items()):
            lines.append(f"state '{state}' is gone: {count} {_people(count)} {where}")
        for (name, what), count in sorted(self.reminders.items()):
            lines.append(f"reminder '{name}': {count} pending {what}")
        for (state, button), count in sorted(self.buttons.items()):
            lines.append(
                f"button '{button}' of '{state}' stops working on {count} {_screens(count)} (it answers that the flow was updated)"
            )
        for version, count in sorted(self.unknown_versions.items()):
            lines.append(
                f"{count} {_people(count)} on version {version}, never recorded here: their buttons answer that the flow was updated"
            )
        return lines

    def as_text(self) -> str:
        """Returns the report as text."""
        return "\n".join(self.as_lines())


def _people(count: int) -> str:
    return "conversation" if count == 1 else "conversations"


def _screens(count: int) -> str:
    return "screen" if count == 1 else "screens"


def plan(bundle: FlowBundle, standings: Sequence[Standing], history: Mapping[str, Meanings]) -> Plan:
    """Returns what serving ``bundle`` does to the conversations in ``standings``."""
    flow = bundle.flow
    new = meanings_of(flow, bundle.version)
    moved_states = {old: name for name, state in flow.states.items() for old in state.moved_from}
    moved_reminders = {old: name for name, r in flow.reminders.items() for old in r.moved_from}
    moves: Counter[tuple[str, str]] = Counter()
    reminders: Counter[tuple[str, str]] = Counter()
    buttons: Counter[tuple[str, str]] = Counter()
    unknown: Counter[str] = Counter()
    total = 0
    for standing in standings:
        if standing.flow_id != flow.id:
            continue
        total += standing.chats
        state = standing.state
        replaced = False  # a fallback or a restart shows another screen: none of the old buttons count
        if state not in flow.states:
            if state in moved_states:
                state = moved_states[state]
                moves[standing.state, f"move to '{state}' (moved_from)"] += standing.chats
            elif flow.fallback is not None:
                state, replaced = flow.fallback.to, True
                moves[standing.state, f"go to the fallback '{state}' with the notice"] += standing.chats
            else:
                state, replaced = flow.start, True
                moves[standing.state, f"start over at '{state}' (no moved_from, no fallback)"] += (
                    standing.chats
                )
        for name, count in standing.reminders.items():
            current = moved_reminders.get(name, name)
            if current not in flow.reminders:
                reminders[name, "dropped: the reminder is gone (no moved_from names it)"] += count
            elif state not in flow.reminders[current].active_in:
                reminders[name, f"dropped: its conversations land in '{state}', where it is not active"] += (
                    count
                )
            elif current != name:
                reminders[name, f"renamed to '{current}': it comes as planned"] += count
        if standing.flow_version == bundle.version:
            continue
        earlier = history.get(standing.flow_version)
        if earlier is None:
            unknown[standing.flow_version] += standing.chats
            continue
        for (old_state, button), meaning in earlier.buttons.items():
            now = new.buttons.get((state, button))
            if old_state == standing.state and (replaced or now != renamed(meaning, moved_states)):
                buttons[standing.state, button] += standing.chats
    return Plan(bundle.version, total, dict(moves), dict(reminders), dict(buttons), dict(unknown))
