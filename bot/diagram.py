"""Draws a flow: Mermaid text through transitions' diagram support, and SVG/PNG where Graphviz exists."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any, Literal

from transitions.extensions import GraphMachine

from bot.flows import FlowBundle
from bot.flows.graph import Edge, Location, Trigger, edges
from bot.store import FunnelStats

__all__ = ["graphviz_available", "mermaid", "render_funnel", "render_image"]

# How full a screen's box is filled: the share of started conversations that reached it, light to dark.
_FUNNEL_FILLS = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6")
_NEVER_REACHED = "#eeeeee"
# transitions outlines the machine's current state; a funnel has none.
_PLAIN = {"color": "black", "peripheries": "1"}


def _label(bundle: FlowBundle, language: str, key: str) -> str:
    text = bundle.texts.get(language, key)
    # Diagram labels must be one short line without markup or the diagram syntax's own characters.
    plain = re.sub(r"<[^>]+>", "", text).splitlines()[0] if text.strip() else key
    return re.sub(r"[:;\[\]{}\"#|<>]", " ", plain).strip()[:40] or key


def _machine(bundle: FlowBundle, language: str | None, engine: Literal["graphviz", "mermaid"]) -> Any:
    language = language or bundle.languages.default
    flow = bundle.flow
    states: list[dict[str, Any]] = [
        {"name": name, "final": state.final} for name, state in flow.states.items()
    ]
    transitions: list[dict[str, Any]] = []
    # A button whose branches meet again is drawn once per target; ticks and deep links are not drawn.
    drawn: set[tuple[Location, str, str]] = set()
    for edge in edges(flow):
        if (
            edge.target is None
            or edge.trigger is Trigger.DEEP_LINK
            or (edge.origin, edge.source, edge.target) in drawn
        ):
            continue
        drawn.add((edge.origin, edge.source, edge.target))
        transitions.append(
            {"trigger": _trigger(bundle, language, edge), "source": edge.source, "dest": edge.target}
        )

    class Drawing:
        """The one model a diagram needs."""

    model = Drawing()
    GraphMachine(
        model=model,
        states=states,
        transitions=transitions,
        initial=flow.start,
        auto_transitions=False,
        graph_engine=engine,
        title=flow.title,
        show_conditions=False,
    )
    return model


def _trigger(bundle: FlowBundle, language: str, edge: Edge) -> str:
    if edge.trigger is Trigger.REMINDER_CONFIRMED:
        return f"{edge.name} confirmed"
    if edge.trigger is Trigger.REMINDER_LAST:
        return f"{edge.name} x{bundle.flow.reminders[edge.name].count}"
    return _label(bundle, language, edge.label or edge.name)


def mermaid(bundle: FlowBundle, language: str | None = None) -> str:
    """Returns the flow as a Mermaid state diagram."""
    graph = _machine(bundle, language, "mermaid").get_graph()
    # transitions styles the machine's current state; a flow diagram has no current state.
    lines = str(graph.draw(None)).splitlines()
    kept = [line for line in lines if not line.strip().startswith(("classDef ", "Class "))]
    kept += [f"  {name} --> [*]" for name, state in bundle.flow.states.items() if state.final]
    return "\n".join(line for line in kept if line.strip() or line == "").rstrip()


def graphviz_available() -> bool:
    """Tells whether Graphviz (the dot program and its Python package) can draw images here."""
    return shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None


def render_image(bundle: FlowBundle, path: Path, language: str | None = None) -> None:
    """Writes the flow as an SVG or PNG image (by the file's suffix) with Graphviz."""
    graph = _machine(bundle, language, "graphviz").get_graph()
    graph.draw(str(path), format=path.suffix.lstrip(".") or "svg", prog="dot")


def render_funnel(bundle: FlowBundle, stats: FunnelStats, path: Path, language: str | None = None) -> None:
    """Writes the flow as an SVG or PNG image with its funnel on it: how many reached each screen and
    stopped there, each screen shaded by the share of conversations that reached it."""
    graph = _machine(bundle, language, "graphviz").get_graph()
    started = stats.started
    counts = {count.state: count for count in stats.states}
    for name in bundle.flow.states:
        count = counts.get(name)
        if count is None or count.reached == 0:
            # A second statement for a node overrides the attributes of the first.
            graph.node(
                name, label=f"{name}\\nnobody", fillcolor=_NEVER_REACHED, fontcolor="#777777", **_PLAIN
            )
            continue
        share = count.reached / started if started else 1.0
        fill = _FUNNEL_FILLS[min(int(share * len(_FUNNEL_FILLS)), len(_FUNNEL_FILLS) - 1)]
        label = f"{name}\\nreached {count.reached} ({share:.0%})\\nstopped here {count.dropped_off}"
        graph.node(name, label=label, fillcolor=fill, **_PLAIN)
    graph.graph_attr["label"] = (
        f"{bundle.flow.title}: {stats.since:%Y-%m-%d} to {stats.until:%Y-%m-%d} UTC, "
        f"{started} started, {stats.confirmed} confirmed"
    )
    graph.draw(str(path), format=path.suffix.lstrip(".") or "svg", prog="dot")
