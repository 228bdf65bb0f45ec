"""The README shows the shipped flow as it is: its diagram is what `esim-bot diagram` draws today."""

from __future__ import annotations

from pathlib import Path

from bot.diagram import mermaid
from bot.flows import FlowBundle

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_diagram_is_current(default_bundle: FlowBundle) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    drawn = mermaid(default_bundle)
    body = drawn[drawn.index("stateDiagram-v2") :]
    assert f"```mermaid\n{body}\n```" in readme, "run `esim-bot diagram` and paste it into README.md"


def test_the_readme_lists_every_deep_link(default_bundle: FlowBundle) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Commands people can send") :]
    for name in default_bundle.flow.deep_links:
        assert f"`{name}`" in section, name
