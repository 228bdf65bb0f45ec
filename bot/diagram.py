"""Draws a flow: Mermaid text through transitions' diagram support, and SVG/PNG where Graphviz exists."""

from __future__ import annotations

import html
import importlib.util
import math
import re
import shutil
import textwrap
from collections import deque
from pathlib import Path
from typing import Any, Literal

from graphviz import Digraph
from transitions.extensions import GraphMachine

from bot.flows import FlowBundle
from bot.flows.graph import Edge, Location, Trigger, edges
from bot.flows.model import Flow
from bot.screen_titles import LabelFont, flow_title, label_font, report_text, screen_title
from bot.stats import FunnelReport

__all__ = [
    "funnel_drawing",
    "funnel_graph",
    "graphviz_available",
    "mermaid",
    "render_funnel",
    "render_image",
]


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


# -- the funnel an operator reads: the main way top-down, sized for a laptop screen --------------------

# A screen's fill: the share of those who reached it that stopped there, white (none) to red (all).
_STOP_FILLS = ("#ffffff", "#fff0e6", "#fdd0b8", "#fca486", "#f5735a", "#e0443a")
# Final screens are where people finish, not where they give up.
_FINISHED_FILL = "#e5f5e0"
# 13.3 x 7.5 inches at 96 pixels an inch: 1280 x 720, a laptop screen less the browser's bars.
_LAPTOP_SIZE = "13.3,7.5"
_FAINT = "#b0b0b0"
_MAX_PEN_WIDTH = 7.0
# Screens reached by fewer than this share of the people who started are left out of the picture.
_FEWEST_DRAWN = 0.02


def _depths(flow: Flow) -> dict[str, int]:
    """Returns how many steps each state is from the start, the shortest way."""
    depths = {flow.start: 0}
    queue = deque([flow.start])
    forward: dict[str, list[str]] = {}
    for edge in edges(flow):
        if edge.target is not None:
            forward.setdefault(edge.source, []).append(edge.target)
    while queue:
        state = queue.popleft()
        for target in forward.get(state, []):
            if target not in depths:
                depths[target] = depths[state] + 1
                queue.append(target)
    return depths


def _fill(reached: int, stopped: int, final: bool) -> str:
    if final:
        return _FINISHED_FILL
    share = stopped / reached if reached else 0.0
    return _STOP_FILLS[min(math.ceil(share * (len(_STOP_FILLS) - 1)), len(_STOP_FILLS) - 1)]


def _screen_label(title: str, counts: str) -> str:
    """Returns a screen's Graphviz label: its title on two lines at most, and ``counts`` (HTML) below."""
    wrapped = "<BR/>".join(
        html.escape(line) for line in textwrap.wrap(title, 18, max_lines=2, placeholder=" …")
    )
    return f'<{wrapped}<BR/><FONT POINT-SIZE="9" COLOR="#444444">{counts}</FONT>>'


def funnel_graph(bundle: FlowBundle, report: FunnelReport, language: str | None = None) -> Digraph:
    """Returns the funnel as a Graphviz graph: the screens people reached, top-down, the way they went."""
    language = language or bundle.languages.default
    flow = bundle.flow
    font = label_font(language)
    fontname = font.family if font else "sans-serif"
    graph = Digraph(
        flow.id,
        engine="dot",
        graph_attr={
            "rankdir": "TB",
            "size": _LAPTOP_SIZE,
            "nodesep": "0.12",
            "ranksep": "0.3",
            "fontname": fontname,
            "fontsize": "14",
            "labelloc": "t",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": fontname,
            "fontsize": "12",
            "margin": "0.08,0.04",
        },
        edge_attr={"fontname": fontname, "fontsize": "10", "arrowsize": "0.6", "color": "#555555"},
    )
    # The main way: screens few people reached would crowd it out of a laptop's screen (the table has them).
    fewest = max(1, math.ceil(_FEWEST_DRAWN * report.stats.started))
    counts = {count.state: count for count in report.stats.states if count.reached >= fewest}
    for name, state in flow.states.items():
        if name in counts:
            title = screen_title(bundle, language, name, font)
            reached, stopped = counts[name].reached, counts[name].dropped_off
            shown = report_text(bundle, language, "picture.counts", reached=reached, stopped=stopped)
            graph.node(name, _screen_label(title, shown), fillcolor=_fill(reached, stopped, state.final))
    _draw_steps(graph, flow, report, frozenset(counts))
    graph.graph_attr["label"] = _caption(
        bundle, report, language, font, len(flow.states) - len(counts), fewest
    )
    return graph


def _caption(
    bundle: FlowBundle,
    report: FunnelReport,
    language: str,
    font: LabelFont | None,
    left_out: int,
    fewest: int,
) -> str:
    """Returns the picture's caption in ``language``: what it shows, how to read it, what it leaves out."""
    stats = report.stats
    lines = [
        report_text(
            bundle,
            language,
            "picture.caption",
            title=flow_title(bundle, language, font),
            since=f"{stats.since:%Y-%m-%d}",
            until=f"{stats.until:%Y-%m-%d}",
            started=stats.started,
            confirmed=stats.confirmed,
        ),
        report_text(bundle, language, "picture.legend"),
        report_text(bundle, language, "picture.left_out", count=left_out)
        if fewest == 1
        else report_text(bundle, language, "picture.left_out_few", count=left_out, fewest=fewest),
    ]
    # A plain Graphviz label: the texts' HTML entities become their characters; each line ends with "\n".
    return "".join(f"{html.unescape(line)}\n" for line in lines)


def _draw_steps(graph: Digraph, flow: Flow, report: FunnelReport, drawn: frozenset[str]) -> None:
    """Draws the ways people took between drawn screens that the flow offers: back faint, start over not."""
    offered = {(edge.source, edge.target) for edge in edges(flow) if edge.trigger is not Trigger.DEEP_LINK}
    depths = _depths(flow)
    taken = [
        step
        for step in report.steps
        if (step.source, step.target) in offered and {step.source, step.target} <= drawn
    ]
    widest = max((step.chats for step in taken), default=1)
    for step in taken:
        if step.target == flow.start:
            continue
        if depths.get(step.target, 0) < depths.get(step.source, 0):
            # Back: only a faint hint that people went back, which does not pull the layout.
            graph.edge(
                step.source, step.target, color=_FAINT, constraint="false", arrowsize="0.4", penwidth="0.6"
            )
            continue
        width = 1.0 + (_MAX_PEN_WIDTH - 1.0) * step.chats / widest
        graph.edge(
            step.source, step.target, label=f" {step.chats}", penwidth=f"{width:.1f}", weight=str(step.chats)
        )


def funnel_drawing(
    bundle: FlowBundle, report: FunnelReport, image: str, language: str | None = None
) -> bytes:
    """Returns the funnel drawn as an ``svg`` or ``png`` image, sized for a laptop screen."""
    # unflatten staggers the many leaves of a wide flow over a few ranks, so the picture grows downwards.
    graph = funnel_graph(bundle, report, language)
    # Graphviz writes an SVG's size in points, 72 an inch, which browsers show at 96 pixels an inch.
    graph.graph_attr["dpi"] = "96" if image == "png" else "72"
    graph = graph.unflatten(stagger=3, fanout=True, chain=4)
    drawing: bytes = graph.pipe(format=image)
    return drawing


def render_funnel(bundle: FlowBundle, report: FunnelReport, path: Path, language: str | None = None) -> None:
    """Writes the funnel as an SVG or PNG image (by the file's suffix), sized for a laptop screen."""
    path.write_bytes(funnel_drawing(bundle, report, path.suffix.lstrip(".") or "svg", language))
