"""The layers import one way: the edge knows the core, the core knows the engine, nothing knows the edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"

FORBIDDEN = {
    "runtime": ("telegram", "bot.telegram"),
    "engine": ("telegram", "bot.telegram", "bot.runtime", "bot.store"),
    "store": ("telegram", "bot.telegram", "bot.runtime", "bot.engine"),
    "flows": ("telegram", "bot.telegram", "bot.runtime", "bot.engine", "bot.store"),
    "flowtests": ("telegram", "bot.telegram"),
}


def imported_modules(path: Path) -> set[str]:
    """Returns every module a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_ones_above_it(package: str) -> None:
    offending = {
        f"{path.relative_to(BOT.parent)}: {module}"
        for path in (BOT / package).rglob("*.py")
        for module in imported_modules(path)
        if any(module == banned or module.startswith(f"{banned}.") for banned in FORBIDDEN[package])
    }
    assert offending == set()


def imported_names(path: Path, module: str) -> set[str]:
    """Returns the names a source file imports from ``module``."""
    return {
        alias.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


def test_the_engine_takes_decoded_presses_and_never_reads_or_writes_callback_data() -> None:
    wire = {"encode", "decode"}
    offending = {
        f"{path.relative_to(BOT.parent)}: {name}"
        for path in (BOT / "engine").rglob("*.py")
        for name in imported_names(path, "bot.callbacks") & wire
    }
    assert offending == set()
