"""The stacks under test and how each one is started."""

from __future__ import annotations

import ast
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["FULL_BOT_PATH", "PROJECT", "Stack", "all_stacks", "baseline", "on_postgres", "variant"]

PROJECT = Path(__file__).resolve().parents[1]

# Button ids a user presses through the default flow, after /start: 11 presses, 12 updates in all. It
# touches every kind of step: plain moves, variables set, a checklist toggle, a reminder scheduled ("sent",
# followed by "where are you now?" as a message of its own) and all reminders cancelled ("later" enters "done").
FULL_BOT_PATH = (
    "go",
    "home",
    "france",
    "home",
    "end",
    "t_backup",
    "next",
    "sent",
    "got_it",
    "confirmed",
    "later",
)


@dataclass(frozen=True, slots=True)
class Stack:
    """One bot under test: its command, its environment, and the buttons its users press."""

    key: str
    title: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    path: tuple[str, ...] | None = None
    full_bot: bool = False
    own_flow: bool = False
    """The flow comes from the stack's own ``BOT_FLOWS_DIR``, not from the run's snapshot of this one."""
    postgres: bool = False
    """The bot's store is a fresh database on the run's throwaway PostgreSQL server, not a SQLite file."""


def on_postgres(stack: Stack) -> Stack:
    """Returns a full-bot stack (``c``, ``c0``, ``c+tweak``) as ``<key>@pg``: the same bot on PostgreSQL."""
    if not stack.full_bot:
        raise ValueError(f"{stack.key!r} has no store to put on PostgreSQL")
    return replace(
        stack,
        key=f"{stack.key}@pg",
        title=f"{stack.title.replace(', SQLite', '')}, PostgreSQL",
        postgres=True,
    )


def _esim_bot() -> tuple[str, ...]:
    """Returns the installed ``esim-bot run`` next to this interpreter, or ``python -m bot run``."""
    script = Path(sys.executable).with_name("esim-bot")
    if script.exists():
        return (str(script), "run")
    found = shutil.which("esim-bot")
    return (found, "run") if found else (sys.executable, "-m", "bot", "run")


def all_stacks(ptb_concurrency: int, bot_concurrency: int) -> dict[str, Stack]:
    """Returns every stack by key: a, a2, b, c."""
    ptb = (sys.executable, "-m", "bench.bots.ptb_bare")
    return {
        "a": Stack(
            "a",
            f"(a) bare PTB, HTTPX, concurrent_updates({ptb_concurrency})",
            ptb,
            {"BENCH_REQUEST": "httpx", "BENCH_CONCURRENT_UPDATES": str(ptb_concurrency)},
        ),
        "a2": Stack(
            "a2",
            f"(a2) bare PTB, AiohttpRequest, concurrent_updates({ptb_concurrency})",
            ptb,
            {"BENCH_REQUEST": "aiohttp", "BENCH_CONCURRENT_UPDATES": str(ptb_concurrency)},
        ),
        "b": Stack("b", "(b) bare aiogram 3", (sys.executable, "-m", "bench.bots.aiogram_bare")),
        "c": Stack(
            "c",
            f"(c) esim-bot run, SQLite, {bot_concurrency} concurrent",
            _esim_bot(),
            {
                "BOT_CONCURRENT_UPDATES": str(bot_concurrency),
                "BOT_FLOWS_DIR": str(PROJECT / "flows"),
                "BOT_LOCALES_DIR": str(PROJECT / "locales"),
            },
            path=FULL_BOT_PATH,
            full_bot=True,
        ),
    }


def variant(key: str, bot_concurrency: int) -> Stack:
    """Returns (c) with experimental tweaks from ``bench/variant_bot.py``: ``c+tweak+tweak`` or ``c+all``."""
    from bench.variant_bot import TWEAKS

    names = key.split("+")[1:]
    tweaks = list(TWEAKS) if names == ["all"] else names
    unknown = set(tweaks) - set(TWEAKS)
    if unknown or not tweaks:
        raise ValueError(f"unknown tweaks in {key!r}: {sorted(unknown)}; known: {', '.join(TWEAKS)}, all")
    base = all_stacks(16, bot_concurrency)["c"]
    return Stack(
        key,
        f"(c) + {' + '.join(tweaks)}",
        (sys.executable, "-m", "bench.variant_bot"),
        {**base.env, "BENCH_TWEAKS": ",".join(tweaks)},
        path=base.path,
        full_bot=True,
    )


def _scripted_path(stacks_py: Path) -> tuple[str, ...]:
    """Returns the ``FULL_BOT_PATH`` that an earlier ``bench/stacks.py`` walks its own flow by."""
    for node in ast.parse(stacks_py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "FULL_BOT_PATH" for target in node.targets
        ):
            path = ast.literal_eval(node.value)
            if isinstance(path, tuple) and all(isinstance(step, str) for step in path):
                return path
    raise ValueError(f"{stacks_py} has no FULL_BOT_PATH tuple of button ids")


def baseline(source: Path, bot_concurrency: int) -> Stack:
    """Returns (c0): the bot of an earlier source tree (``git archive REV | tar -x -C DIR``), its own flow
    walked by its own ``bench/stacks.py`` path, to compare with (c) in the same minutes."""
    source = source.resolve()
    return Stack(
        "c0",
        f"(c0) esim-bot run from {source.name}, SQLite, {bot_concurrency} concurrent",
        # The tree on PYTHONPATH comes before this checkout's editable install, so `bot` is the old one.
        (sys.executable, "-m", "bot", "run"),
        {
            "PYTHONPATH": str(source),
            "BOT_CONCURRENT_UPDATES": str(bot_concurrency),
            "BOT_FLOWS_DIR": str(source / "flows"),
            "BOT_LOCALES_DIR": str(source / "locales"),
        },
        path=_scripted_path(source / "bench" / "stacks.py"),
        full_bot=True,
        own_flow=True,
    )
