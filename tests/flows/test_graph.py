"""One walk over a flow's edges: what the validator checks, the engine compiles and the diagram draws."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.diagram import mermaid
from bot.flows import Edge, FlowBundle, FlowValidationError, Trigger, edges, load_bundle

MINI = Path(__file__).parent / "cases" / "valid"


def summary(edge: Edge) -> tuple[str, str, str | None, str]:
    return edge.trigger.value, edge.source, edge.target, edge.name


def test_every_way_through_the_small_flow_is_one_edge(mini_bundle: FlowBundle) -> None:
    assert [summary(edge) for edge in edges(mini_bundle.flow)] == [
        ("button", "welcome", "request", "airalo"),
        ("toggle", "request", None, "t_backup"),
        ("button", "request", "waiting", "sent"),
        ("button", "waiting", "done", "got"),
        ("button", "support", "done", "0_0"),
        ("button", "done", "thanks", "0_0"),
        ("deep_link", "welcome", "request", "airalo"),
        ("reminder_confirmed", "waiting", "done", "email"),
        ("reminder_last", "waiting", "support", "email"),
    ]


def test_an_edge_knows_its_label_its_actions_and_where_it_is_written(mini_bundle: FlowBundle) -> None:
    first = next(edges(mini_bundle.flow))
    assert first.label == "welcome.airalo"
    assert [action.model_dump() for action in first.do] == [{"set": {"provider": "airalo"}}]
    assert first.origin == ("states", "welcome", "buttons", 0, 0)
    assert first.at == ("states", "welcome", "buttons", 0, 0, "to")


def test_branches_keep_their_order_and_conditions(default_bundle: FlowBundle) -> None:
    branches = [
        (edge.target, edge.when)
        for edge in edges(default_bundle.flow)
        if edge.source == "start" and edge.trigger is Trigger.BRANCH
    ]
    assert branches == [
        ("told_orange", {"entry": "orange"}),
        ("lost", {"entry": "lost"}),
        ("identify", {"provider": None}),
        ("opt_line", {"provider.kind": "local_operator"}),
        ("where_now", {"provider.kind": "home_carrier", "where": None}),
        ("home_goal", {"provider.kind": "home_carrier"}),
        ("esim_status", None),
    ]


def test_a_misspelt_target_shared_by_several_states_is_reported_once(tmp_path: Path) -> None:
    source = (MINI / "flow.yaml").read_text(encoding="utf-8")
    broken = source.replace("active_in: [waiting]", "active_in: [waiting, support]").replace(
        "confirmed: done", "confirmed: dnoe"
    )
    (tmp_path / "flow.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(tmp_path / "flow.yaml", MINI / "locales")
    assert [str(p).replace(f"{tmp_path}/", "") for p in caught.value.problems] == [
        "flow.yaml:16:16: unknown target 'dnoe' (did you mean 'done'?)"
    ]


def arrows(bundle: FlowBundle) -> list[str]:
    return [line.strip() for line in mermaid(bundle).splitlines() if " --> " in line]


def test_the_diagram_draws_a_reminder_from_every_state_it_waits_in(default_bundle: FlowBundle) -> None:
    drawn = arrows(default_bundle)
    for waiting in ("waiting", "wait_help"):
        # Mermaid joins the labels of two arrows between the same states with " | ".
        [confirmed] = [line for line in drawn if line.startswith(f"{waiting} --> follow_up: ")]
        assert confirmed.endswith("confirm_email confirmed")
        assert f"{waiting} --> no_reply: confirm_email x7" in drawn


def test_the_diagram_draws_every_branch_of_a_button_and_no_deep_link(default_bundle: FlowBundle) -> None:
    drawn = arrows(default_bundle)
    assert [line for line in drawn if line.startswith("start --> ")] == [
        "start --> told_orange: Let's start",
        "start --> lost: Let's start",
        "start --> identify: Let's start",
        "start --> opt_line: Let's start",
        "start --> where_now: Let's start",
        "start --> home_goal: Let's start",
        "start --> esim_status: Let's start",
    ]
    assert len(drawn) == len(set(drawn))
