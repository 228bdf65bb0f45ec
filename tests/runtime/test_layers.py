"""The layers import one way, all the way down: what a module imports, and what those import in turn.

Every module of the bot belongs to a layer (a new top-level module or package must say which); it may
reach, directly or through others, only its own layer and those below. python-telegram-bot is reached
only from the edge and the wiring, and nothing of the bot reaches the test tools (testkit, tests, bench).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"bot", "bot.errors", "bot.clock", "bot.fileclock", "bot.callbacks"}),
    frozenset({"bot.flows", "bot.localtime", "bot.places", "bot.words"}),
    frozenset({"bot.engine", "bot.store"}),
    frozenset(
        {
            "bot.runtime",
            "bot.reminders",
            "bot.plan",
            "bot.stats",
            "bot.stats_page",
            "bot.screen_titles",
            "bot.handoff",
            "bot.diagram",
            "bot.control",
            "bot.flowtests",
            "bot.console",
            "bot.simulated",
            "bot.settings",
            "bot.startup",
            "bot.redaction",
        }
    ),
    frozenset({"bot.telegram"}),
    frozenset({"bot.cli", "bot.__main__"}),
)
"""From the bottom up: the foundation, the flow definitions, the engine and the store, the application,
the Telegram edge, and the wiring (the command line)."""

APART: dict[str, tuple[str, ...]] = {
    "bot.engine": ("bot.store",),
    "bot.store": ("bot.engine", "bot.flows"),
}
"""What a package never reaches though the layers allow it: the engine and the store never each other
(conversations cross into the store as plain data), and loading the store never loads the flow loader."""

TELEGRAM_ALLOWED = LAYERS[-2] | LAYERS[-1]
TEST_TOOLS = ("testkit", "tests", "bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in BOT.rglob("*.py")}


def _run_time_nodes(tree: ast.Module) -> list[ast.AST]:
    """Returns the nodes of a module that run when it is imported or called: not ``if TYPE_CHECKING:`` blocks."""
    checking = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    skipped = {id(inner) for block in checking for statement in block.body for inner in ast.walk(statement)}
    return [node for node in ast.walk(tree) if id(node) not in skipped]


@cache
def direct_imports(module: str) -> frozenset[str]:
    """Returns every module a bot module imports when it runs, a submodule imported by name (from x import y)
    too; imports only for the type checker are not followed."""
    found: set[str] = set()
    for node in _run_time_nodes(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(name for name in found if name in MODULES or not name.startswith("bot."))


@cache
def reached(module: str) -> frozenset[str]:
    """Returns every module importing ``module`` imports, transitively (parent packages included)."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        parts = pending.pop().split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            if name not in seen:
                seen.add(name)
                if name in MODULES:
                    pending.extend(direct_imports(name))
    return frozenset(seen - {module})


def top_level(module: str) -> str:
    """Returns the top-level module or package of the bot a module belongs to: bot.runtime.chat -> bot.runtime."""
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> int:
    return next(index for index, members in enumerate(LAYERS) if top_level(module) in members)


def within(module: str, names: frozenset[str] | tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in names)


def bot_modules() -> list[str]:
    return sorted(MODULES)


def test_every_top_level_module_of_the_bot_has_a_layer() -> None:
    tops = {top_level(module) for module in MODULES}
    assert tops - frozenset().union(*LAYERS) == set()


@pytest.mark.parametrize("module", bot_modules())
def test_a_module_reaches_only_its_layer_and_those_below(module: str) -> None:
    layer = layer_of(module)
    above = {name for name in reached(module) if name in MODULES and layer_of(name) > layer}
    assert above == set()
    apart = APART.get(top_level(module), ())
    assert {name for name in reached(module) if within(name, apart)} == set()


@pytest.mark.parametrize("module", bot_modules())
def test_only_the_edge_and_the_wiring_reach_python_telegram_bot(module: str) -> None:
    if top_level(module) in TELEGRAM_ALLOWED:
        return
    assert {name for name in reached(module) if within(name, ("telegram",))} == set()


@pytest.mark.parametrize("module", bot_modules())
def test_nothing_of_the_bot_reaches_the_test_tools(module: str) -> None:
    assert {name for name in reached(module) if within(name, TEST_TOOLS)} == set()


def test_the_transitive_check_sees_what_a_direct_one_would_miss() -> None:
    # bot.runtime.messages reaches bot.localtime only through the store: the check follows such chains.
    assert "bot.store" in direct_imports("bot.runtime.messages")
    assert "bot.localtime" not in direct_imports("bot.runtime.messages")
    assert "bot.localtime" in reached("bot.runtime.messages")


def test_imports_only_for_the_type_checker_are_not_followed() -> None:
    # bot.localtime names the flows' DayWords only for typing: importing it does not load bot.flows.
    assert "bot.flows.languages" not in direct_imports("bot.localtime")
    assert not any(within(name, ("bot.flows",)) for name in reached("bot.store"))


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
        f"{path.relative_to(ROOT)}: {name}"
        for path in (BOT / "engine").rglob("*.py")
        for name in imported_names(path, "bot.callbacks") & wire
    }
    assert offending == set()
