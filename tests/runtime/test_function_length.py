"""Functions in bot/ stay short enough to read at once: at most 60 lines each."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
MOST_LINES = 60


def long_functions() -> set[str]:
    """Returns every function of bot/ longer than MOST_LINES, as "path: name"."""
    found = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > MOST_LINES:
                    found.add(f"{path.relative_to(BOT.parent)}: {node.name}")
    return found


def test_no_function_in_bot_is_longer_than_sixty_lines() -> None:
    assert long_functions() == set()
