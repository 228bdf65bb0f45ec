"""The flow benchmark still runs (its numbers are read in bench/RESULTS.md, never asserted here)."""

from __future__ import annotations

from pathlib import Path

from bench.flow_engine import engine_step_vs_bare_trigger, generated_flow
from bot.engine.engine import FlowEngine
from bot.flows import load_bundle


def test_the_generated_flow_loads_and_the_step_comparison_runs(tmp_path: Path) -> None:
    flow = generated_flow(tmp_path, 30)
    bundle = load_bundle(flow, tmp_path / "locales")
    assert len(FlowEngine(bundle).flow.states) == 30
    engine_step, bare_trigger = engine_step_vs_bare_trigger(rounds=50)
    assert engine_step > 0
    assert bare_trigger > 0
