"""The flow as a graph, walked once over its edges: every target exists, every button fits Telegram's
callback data, every state has a way out and is reachable."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from bot.callbacks import MAX_STEP_DIGITS
from bot.flows import model as m
from bot.flows.checks.base import VERSION_LENGTH, Limits, button_data
from bot.flows.checks.references import References
from bot.flows.graph import PRESSES, REMINDER_TRIGGERS, Edge, Location, Trigger, edges

__all__ = ["PathCheck"]


@dataclass(slots=True)
class PathCheck:
    """Checks where the flow's buttons and reminders lead."""

    refs: References
    limits: Limits

    @property
    def flow(self) -> m.Flow:
        return self.refs.flow

    def run(self) -> None:
        """Walks the flow's edges once: targets, buttons, ways out and reachability."""
        graph: dict[str, set[str]] = {}
        ways_out: dict[str, set[Trigger]] = {}
        targets: set[Location] = set()
        buttons: set[Location] = set()
        ids: dict[tuple[str, str], Location] = {}
        for edge in edges(self.flow):
            ways_out.setdefault(edge.source, set()).add(edge.trigger)
            if edge.target is not None:
                graph.setdefault(edge.source, set()).add(edge.target)
                # A reminder active in several states writes its target once: report it once.
                if edge.at not in targets:
                    targets.add(edge.at)
                    self.refs.state_ref(edge.target, edge.at)
            # The branches of one button are several edges; the button is checked once.
            if edge.trigger in PRESSES and edge.origin not in buttons:
                buttons.add(edge.origin)
                self.check_button(edge, ids)
        for name, state in self.flow.states.items():
            self.check_way_out(name, state, ways_out.get(name, set()))
        self.check_reachable(graph)

    def check_button(self, edge: Edge, ids: dict[tuple[str, str], Location]) -> None:
        if (edge.source, edge.name) in ids:
            self.refs.report(edge.origin, f"duplicate button id '{edge.name}' in state '{edge.source}'")
        ids[edge.source, edge.name] = edge.origin
        data = button_data("f" * VERSION_LENGTH, 10**MAX_STEP_DIGITS - 1, edge.source, edge.name)
        if len(data.encode()) > self.limits.callback_data_bytes:
            self.refs.report(
                edge.origin,
                f"button data '{data}' could exceed Telegram's {self.limits.callback_data_bytes}-byte limit: shorten the state or button id",
            )

    def check_way_out(self, name: str, state: m.State, triggers: set[Trigger]) -> None:
        here = ("states", name)
        leads_on = bool(triggers & {Trigger.BUTTON, Trigger.BRANCH})
        if state.final and leads_on:
            self.refs.report(
                (*here, "final"),
                f"final state '{name}' has buttons that lead on: remove 'final: true' or those buttons",
            )
        if not state.final and not leads_on and not triggers & REMINDER_TRIGGERS:
            self.refs.report(
                here,
                f"state '{name}' is not final and has no way out: add a button with 'to:' or 'final: true'",
                key=True,
            )

    def check_reachable(self, graph: dict[str, set[str]]) -> None:
        # Deep links start from the start state, so everything reachable lies beyond it.
        seen = {self.flow.start}
        queue = deque(seen)
        while queue:
            for target in graph.get(queue.popleft(), ()):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in self.flow.states:
            if name not in seen:
                self.refs.report(
                    ("states", name), f"state '{name}' is unreachable from '{self.flow.start}'", key=True
                )
