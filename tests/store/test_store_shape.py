"""The store's shape: a storage layer that loads nothing of the flows, made of small roles."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

from bot.store import (
    ChatStore,
    Coordination,
    FlowReleases,
    Inbox,
    Outbox,
    ReminderQueue,
    Reports,
    SqliteStore,
    Store,
    SupportNotices,
    TicketRelays,
    Tickets,
)
from bot.store.postgres import PostgresStore
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


ROLES = (
    ChatStore,
    Outbox,
    ReminderQueue,
    Inbox,
    Coordination,
    Reports,
    FlowReleases,
    Tickets,
    TicketRelays,
    SupportNotices,
)


def test_the_store_is_its_small_roles_and_nothing_else() -> None:
    methods = {
        role: {name for name, value in vars(role).items() if inspect.iscoroutinefunction(value)}
        for role in ROLES
    }
    assert all(len(names) <= 6 for names in methods.values()), methods
    everything = {
        name
        for name, value in inspect.getmembers(Store)
        if inspect.iscoroutinefunction(value) and not name.startswith("__")
    }
    assert everything - {"open", "close"} == set().union(*methods.values())
    # A backend implements every role (by name: the roles are protocols, so a caller may ask for two at once):
    # the contract suite runs each of them on both.
    assert all(role in backend.__mro__ for backend in (SqliteStore, PostgresStore) for role in ROLES)


# Callers name the roles they use: only the store itself, its doors and the wiring handle the whole Store.
WHOLE_STORE_ALLOWED = (
    "bot/store/",  # the store's own modules and its factory
    "bot/startup.py",  # opens a store from BOT_DATABASE for the commands
    "bot/telegram/app.py",  # the wiring: builds the store and hands each part its roles
    "bot/cli.py",
    "bot/telegram/resources.py",  # the bot's resources: opens the store at start and closes it at the end
)


def whole_store_annotations(source: str, filename: str) -> list[str]:
    """Returns ``file:line name`` for each parameter or annotated attribute typed with the whole ``Store``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        annotated: list[tuple[str, ast.expr | None, int]] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [argument for argument in (arguments.vararg, arguments.kwarg) if argument is not None]
            annotated += [(argument.arg, argument.annotation, argument.lineno) for argument in every]
        elif isinstance(node, ast.AnnAssign):
            annotated.append((ast.unparse(node.target), node.annotation, node.lineno))
        for name, annotation, line in annotated:
            if annotation is not None and _names_store(annotation):
                found.append(f"{filename}:{line} {name}")
    return found


def _names_store(annotation: ast.expr) -> bool:
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Store":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Store":
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                quoted = ast.parse(node.value, mode="eval").body  # a forward reference, or any other text
            except SyntaxError:
                continue
            if _names_store(quoted):
                return True
    return False


def test_outside_the_store_and_the_wiring_callers_take_roles_not_the_whole_store() -> None:
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(WHOLE_STORE_ALLOWED):
            found += whole_store_annotations(path.read_text(encoding="utf-8"), relative)
    assert found == [], "type these by the roles they use (bot/store/base.py), not Store"


def test_the_check_sees_the_whole_store_however_it_is_written() -> None:
    source = """
from bot import store
def load(chats: Store, clock: int) -> None: ...
async def send(*, outbox: store.Store | None = None) -> None: ...
class Desk:
    kept: "Store"
    def __init__(self, tickets: Tickets) -> None:
        self.everything: list[Store] = []
"""
    assert whole_store_annotations(source, "bot/x.py") == [
        "bot/x.py:3 chats",
        "bot/x.py:4 outbox",
        "bot/x.py:6 kept",
        "bot/x.py:8 self.everything",
    ]
