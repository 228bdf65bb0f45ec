"""The flow the runner's own tests walk: the validator's small valid flow, with the bot's own texts added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flows import FlowBundle, load_flows
from bot.runtime.texts import UI_TEXTS

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "flows" / "cases" / "valid"


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Returns ``base`` with ``over`` laid on top, nested mappings merged key by key."""
    result = dict(base)
    for key, value in over.items():
        below = result.get(key)
        result[key] = merged(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return result


@pytest.fixture(scope="session")
def mini_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with flows/mini.yaml and locales/{en,fr}.yaml: the small flow, complete enough to run."""
    root = tmp_path_factory.mktemp("mini")
    (root / "flows").mkdir()
    (root / "locales").mkdir()
    (root / "flows" / "mini.yaml").write_text(
        (VALID / "flow.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for language in ("en", "fr"):
        shipped = yaml.safe_load((ROOT / "locales" / f"{language}.yaml").read_text(encoding="utf-8"))
        mini = yaml.safe_load((VALID / "locales" / f"{language}.yaml").read_text(encoding="utf-8"))
        # The runtime's own texts (/restart, /stop, snoozing...) come from the shipped locales.
        texts = merged({"ui": shipped["ui"]}, mini)
        (root / "locales" / f"{language}.yaml").write_text(
            yaml.safe_dump(texts, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        # What the bot knows of the language besides its texts: places, day words (issue 11).
        # Without its words: they suggest the shipped flow's deep links, which the small flow does not have.
        meta = yaml.safe_load((ROOT / "locales" / f"{language}.meta.yaml").read_text(encoding="utf-8"))
        meta.pop("words", None)
        (root / "locales" / f"{language}.meta.yaml").write_text(
            yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return root


@pytest.fixture(scope="session")
def mini_bundles(mini_dir: Path) -> dict[str, FlowBundle]:
    """The small flow, loaded the way `esim-bot test` loads flows."""
    return load_flows(mini_dir / "flows", mini_dir / "locales", ui_texts=UI_TEXTS)
