"""The store is a storage layer: importing it loads neither the flow loader nor the engine."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.process import ROOT


def test_importing_the_store_and_both_backends_loads_nothing_of_the_flows_or_the_engine() -> None:
    script = (
        "import sys, bot.store, bot.store.postgres, bot.store.transfer\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.flows', 'bot.engine', 'bot.runtime'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
