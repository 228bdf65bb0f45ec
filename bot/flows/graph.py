"""The flow as a graph: one walk over its edges, read by the validator, the engine and the diagram.

Every way a conversation can move is an :class:`Edge`: a button press (to one state, to one of several
branches, or staying put to tick a checklist item), a deep link, and a reminder's "confirmed" answer or
its last sending. The walk yields them in a fixed order (states with their buttons in file order, then
deep links, then reminders), so branches keep the order in which the first that holds wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from bot.flows import model as m

__all__ = ["PRESSES", "REMINDER_TRIGGERS", "Edge", "Location", "Trigger", "button_id", "edges"]

Location = tuple[str | int, ...]
"""A path into the flow's YAML data, e.g. ``("states", "start", "buttons", 0, 0, "to")``."""


class Trigger(Enum):
    """What makes a conversation follow an edge."""

    BUTTON = "button"
    BRANCH = "branch"
    TOGGLE = "toggle"
    DEEP_LINK = "deep_link"
    REMINDER_CONFIRMED = "reminder_confirmed"
    REMINDER_LAST = "reminder_last"


PRESSES = frozenset({Trigger.BUTTON, Trigger.BRANCH, Trigger.TOGGLE})
"""Triggers fired by a button press: the button's id travels in its callback data."""

REMINDER_TRIGGERS = frozenset({Trigger.REMINDER_CONFIRMED, Trigger.REMINDER_LAST})


@dataclass(frozen=True, slots=True)
class Edge:
    """One way a conversation can move from ``source``: to ``target``, or nowhere (a checklist tick)."""

    trigger: Trigger
    source: str
    target: str | None
    name: str
    """The button's id, or the deep link's or reminder's name."""
    label: str | None
    """The text key the button shows; None for deep links and reminders."""
    origin: Location
    """Where the button, deep link or reminder is written."""
    at: Location
    """Where the target is written (the origin itself for a checklist tick)."""
    when: m.Condition | None = None
    """The branch's condition; the first branch of a button that holds is taken."""
    do: tuple[m.Action, ...] = ()
    """What following the edge does before the target is entered."""


def button_id(button: m.GotoButton | m.ToggleButton, row: int, column: int) -> str:
    """Returns a button's stable id: its own ``id``, the checklist item it toggles, or its position."""
    if isinstance(button, m.ToggleButton):
        return f"t_{button.toggle}"
    return button.id or f"{row}_{column}"


def edges(flow: m.Flow) -> Iterator[Edge]:
    """Yields every edge of the flow, states first, then deep links, then reminders."""
    for state_name, state in flow.states.items():
        for row_index, row in enumerate(state.buttons):
            for column, button in enumerate(row):
                if isinstance(button, m.GotoButton | m.ToggleButton):
                    origin: Location = ("states", state_name, "buttons", row_index, column)
                    yield from _pressed(
                        flow, state_name, button, button_id(button, row_index, column), origin
                    )
    for link_name, link in flow.deep_links.items():
        origin = ("deep_links", link_name)
        yield Edge(
            Trigger.DEEP_LINK,
            flow.start,
            link.to,
            link_name,
            None,
            origin,
            (*origin, "to"),
            do=tuple(link.do),
        )
    for reminder_name, reminder in flow.reminders.items():
        origin = ("reminders", reminder_name)
        for waiting in reminder.active_in:
            yield Edge(
                Trigger.REMINDER_CONFIRMED,
                waiting,
                reminder.confirmed,
                reminder_name,
                None,
                origin,
                (*origin, "confirmed"),
            )
            if reminder.after_last:
                yield Edge(
                    Trigger.REMINDER_LAST,
                    waiting,
                    reminder.after_last,
                    reminder_name,
                    None,
                    origin,
                    (*origin, "after_last"),
                )


def _pressed(
    flow: m.Flow, state: str, button: m.GotoButton | m.ToggleButton, identifier: str, origin: Location
) -> Iterator[Edge]:
    if isinstance(button, m.ToggleButton):
        tick = m.ToggleAction(toggle=button.toggle)
        label = flow.checklist.get(button.toggle)
        yield Edge(Trigger.TOGGLE, state, None, identifier, label, origin, origin, do=(tick,))
        return
    do = tuple(button.do)
    if isinstance(button.to, str):
        yield Edge(Trigger.BUTTON, state, button.to, identifier, button.text, origin, (*origin, "to"), do=do)
        return
    for index, branch in enumerate(button.to):
        yield Edge(
            Trigger.BRANCH,
            state,
            branch.to,
            identifier,
            button.text,
            origin,
            (*origin, "to", index, "to"),
            when=branch.when,
            do=do,
        )
