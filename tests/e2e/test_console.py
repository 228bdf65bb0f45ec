"""The console walks the same engine in a terminal: driven end to end as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def console(*args: str, keys: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=keys,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_the_console_walks_from_start_to_thanks_in_french() -> None:
    # start, home carrier, France, end the line, tick, next, submitted, reminder now, confirmed, confirmed,
    # later, yes
    result = console("--lang", "fr", keys="1\n2\n1\n2\n1\n4\n1\nw\n1\n1\n9\n1\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Je ne vous demanderai jamais" in out
    assert "[1] ✅" in out, "the ticked checklist item shows its mark"
    assert "— reminder —" in out
    assert "the conversation is finished" in out


def test_the_console_explains_unknown_input_and_quits_on_q() -> None:
    result = console(keys="hello\n99\nq\n")
    assert result.returncode == 0
    assert "Type a button's number" in result.stdout
    assert "There is no button 99." in result.stdout
