"""Flow loading and engine-step costs (issue 2): the default flow, a generated 500-state flow, and one engine
step against a bare ``transitions`` trigger, measured in the same process.

Run: ``.venv/bin/python -m bench.flow_engine`` (prints a Markdown table).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from transitions import Machine

from bot.callbacks import FlowPress
from bot.engine.engine import FlowEngine
from bot.flows import load_bundle
from bot.runtime.texts import UI_TEXTS

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "fr", "zh-Hans")


def timed(work: Callable[[], object], repeat: int) -> float:
    """Returns the median seconds of ``work`` over ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def generated_flow(folder: Path, states: int) -> Path:
    """Writes a chain of ``states`` screens with next/back/skip buttons and texts in three languages."""
    definition: dict[str, object] = {"id": "generated", "title": "Generated", "start": "s0", "states": {}}
    texts: dict[str, dict[str, str]] = {}
    table = definition["states"]
    assert isinstance(table, dict)
    for index in range(states):
        name = f"s{index}"
        last = index == states - 1
        buttons = [] if last else [[{"text": f"g.{name}.next", "to": f"s{index + 1}", "id": "next"}]]
        if index and not last:
            buttons.append([{"text": f"g.{name}.back", "to": f"s{index - 1}", "id": "back"}])
        if index + 2 < states:
            buttons.append([{"text": f"g.{name}.skip", "to": f"s{index + 2}", "id": "skip"}])
        table[name] = {"text": f"g.{name}.text", "buttons": buttons, "final": last}
        texts[name] = {"text": f"Screen {index}", "next": "Next", "back": "Back", "skip": "Skip"}
    folder.mkdir(parents=True, exist_ok=True)
    flow = folder / "flow.yaml"
    flow.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    locales = folder / "locales"
    locales.mkdir(exist_ok=True)
    for language in LANGUAGES:
        (locales / f"{language}.yaml").write_text(
            yaml.safe_dump({"g": texts}, allow_unicode=True), encoding="utf-8"
        )
    return flow


def engine_step_vs_bare_trigger(rounds: int = 20_000) -> tuple[float, float]:
    """Returns seconds per step: the engine pressing a checklist button (render included), a bare trigger."""
    bundle = load_bundle(ROOT / "flows" / "cancel_esim.yaml", ROOT / "locales", ui_texts=UI_TEXTS)
    engine = FlowEngine(bundle)
    start = engine.start("en", "home")
    go = next(b.press for row in start.screen.rows for b in row if isinstance(b.press, FlowPress))
    goal = engine.press(start.conversation, go)
    # "End the line" leads to the checklist screen, where a toggle re-renders the same screen.
    end = next(
        b.press
        for row in goal.screen.rows
        for b in row
        if isinstance(b.press, FlowPress) and b.press.button == "end"
    )
    result = engine.press(goal.conversation, end)
    toggle = next(
        b.press
        for row in result.screen.rows
        for b in row
        if isinstance(b.press, FlowPress) and "✅" not in b.label and "⬜" in b.label
    )
    conversation = result.conversation

    def engine_steps() -> None:
        current = conversation
        pressed = toggle
        for _ in range(rounds):
            step = engine.press(current, pressed)
            current = step.conversation
            first = step.screen.rows[0][0].press
            assert isinstance(first, FlowPress)
            pressed = first

    class Model:
        """A bare transitions model."""

    model = Model()
    Machine(
        model=model,
        states=list(bundle.flow.states),
        transitions=[{"trigger": "toggle", "source": "home_end", "dest": None}],
        initial="home_end",
        auto_transitions=False,
    )

    def bare_triggers() -> None:
        for _ in range(rounds):
            model.toggle()  # type: ignore[attr-defined]

    return timed(engine_steps, 3) / rounds, timed(bare_triggers, 3) / rounds


def main() -> None:
    """Prints the measurements as a Markdown table."""
    default_load = timed(
        lambda: load_bundle(ROOT / "flows" / "cancel_esim.yaml", ROOT / "locales", ui_texts=UI_TEXTS), 10
    )
    with tempfile.TemporaryDirectory() as folder:
        flow = generated_flow(Path(folder), 500)
        big_load = timed(lambda: load_bundle(flow, flow.parent / "locales"), 5)
        big_bundle = load_bundle(flow, flow.parent / "locales")
        big_compile = timed(lambda: FlowEngine(big_bundle), 5)
    engine_step, bare_trigger = engine_step_vs_bare_trigger()
    print("| measurement | time |")
    print("|---|---|")
    print(f"| load + validate the default flow (19 states, 3 languages) | {default_load * 1000:.1f} ms |")
    print(f"| load + validate a generated 500-state flow (3 languages) | {big_load * 1000:.1f} ms |")
    print(f"| compile the 500-state flow into its shared machine | {big_compile * 1000:.1f} ms |")
    print(f"| one engine step (press + new screen rendered) | {engine_step * 1e6:.1f} us |")
    print(f"| one bare transitions trigger (model added once) | {bare_trigger * 1e6:.1f} us |")
    print(f"| ratio engine step / bare trigger | {engine_step / bare_trigger:.1f}x |")


if __name__ == "__main__":
    main()
