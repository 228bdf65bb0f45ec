"""Where the full bot's CPU goes per update: ``esim-bot run`` under cProfile, in the saturation scenario.

    python -m bench.profiling [--users 200] [--top 25]

Two profiled runs of the bot: one that only starts and serves the warm-up users, one that also serves the
measured users. Their difference, function by function, is the cost of the measured updates alone, without
imports, flow loading and start-up. cProfile sees the main thread only (aiosqlite's thread is not in it)
and roughly doubles the cost of Python calls, so read the shares, not the absolute times. Its clock is the
wall clock; time idle in ``select.epoll.poll`` (waiting for the network) is left out of the totals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pstats
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchApi, BotProcess, base_env, walk_users
from bench.stacks import PROJECT, all_stacks
from testkit.postgres import PostgresServer

__all__ = ["main"]

# (fragment of the file path, area), first match wins.
AREAS = (
    ("/site-packages/telegram/", "python-telegram-bot"),
    ("/site-packages/aiohttp/", "aiohttp client"),
    ("/site-packages/yarl/", "aiohttp client"),
    ("/site-packages/multidict/", "aiohttp client"),
    ("/site-packages/propcache/", "aiohttp client"),
    ("/site-packages/aiosqlite/", "aiosqlite (event-loop side)"),
    ("/site-packages/psycopg_pool/", "psycopg_pool"),
    ("/site-packages/psycopg", "psycopg"),
    ("/site-packages/transitions/", "transitions"),
    ("/site-packages/pydantic", "pydantic"),
    ("/bot/engine/", "bot.engine"),
    ("/bot/runtime/", "bot.runtime (service, locks)"),
    ("/bot/store/", "bot.store"),
    ("/bot/telegram/", "bot.telegram (handlers, delivery, request)"),
    ("/bot/", "bot (other)"),
    ("/asyncio/", "asyncio"),
    ("/logging/", "logging"),
    ("/json/", "json"),
    ("/urllib/", "urllib"),
    ("/concurrent/", "concurrent.futures"),
    ("/threading.py", "threading"),
    ("/enum.py", "enum"),
    ("/dataclasses.py", "dataclasses"),
)

Key = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class Cost:
    """One function's calls, own time and time including callees."""

    calls: int
    own: float
    total: float


def _area(key: Key) -> str:
    filename, _, name = key
    if filename == "~":
        if "socket" in name or "select" in name or "epoll" in name:
            return "socket and poll (C)"
        if "sqlite3" in name:
            return "sqlite3 (C, main thread)"
        if "json" in name or "encode" in name or "scanner" in name:
            return "json (C)"
        return "other built-ins (C)"
    for fragment, area in AREAS:
        if fragment in filename:
            return area
    return "other: " + "/".join(Path(filename).parts[-2:])


def _costs(path: Path) -> dict[Key, Cost]:
    stats = pstats.Stats(str(path))
    table: dict[Key, tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    return {key: Cost(calls, own, total) for key, (_, calls, own, total, _) in table.items()}


def _difference(before: dict[Key, Cost], after: dict[Key, Cost]) -> dict[Key, Cost]:
    zero = Cost(0, 0.0, 0.0)
    return {
        key: Cost(
            cost.calls - before.get(key, zero).calls,
            cost.own - before.get(key, zero).own,
            cost.total - before.get(key, zero).total,
        )
        for key, cost in after.items()
    }


def _name(key: Key) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    short = "/".join(parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-2:])
    return f"{short}:{line} {name}"


async def _profiled_run(
    workdir: Path, name: str, warmup: int, users: int, database: str | None = None, *, cpu_clock: bool = False
) -> tuple[Path, int]:
    """Runs (c) under cProfile for ``warmup`` users and then ``users`` more; returns the profile and updates.

    ``database`` is a PostgreSQL URL; without it, the bot keeps a SQLite file in ``workdir``."""
    stack = all_stacks(16, 64)["c"]
    output = workdir / f"{name}.prof"
    command = (
        sys.executable,
        "-m",
        "bench.profiled_bot",
        str(output),
        *(["--cpu-clock"] if cpu_clock else []),
    )
    async with BenchApi() as api:
        env = base_env()
        env.update(stack.env)
        env["PYTHONPATH"] = str(PROJECT)
        env.update(
            {
                "TELEGRAM_API_URL": api.base_url,
                "TELEGRAM_BOT_TOKEN": api.token,
                "BOT_DATABASE": database or str(workdir / f"{name}.sqlite3"),
                "BOT_MAX_MESSAGES_PER_SECOND": "0",
            }
        )
        process = BotProcess(command, env, workdir / f"{name}.log", cwd=workdir)
        await process.start()
        await asyncio.wait_for(api.get_updates_seen.wait(), 60)
        path = stack.path
        await walk_users(api, [1_000_000 + i for i in range(warmup)], clicks=10, path=path, timeout=60)
        walked = await walk_users(
            api, [2_000_000 + i for i in range(users)], clicks=10, path=path, timeout=60
        )
        if walked.failures:
            raise RuntimeError(f"profiled run failed: {walked.failures[:3]}")
        await process.stop(timeout=30)
    if not output.exists():
        raise RuntimeError(f"cProfile wrote no profile:\n{process.log_tail()}")
    return output, walked.updates


def _idle(key: Key) -> bool:
    return key[0] == "~" and ("poll' of 'select" in key[2] or "select' of 'select" in key[2])


def summary(costs: dict[Key, Cost], updates: int, top: int) -> str:
    """Returns the per-update profile as markdown: by area, then the costliest functions."""
    costs = {key: cost for key, cost in costs.items() if not _idle(key)}
    total = sum(cost.own for cost in costs.values())
    per_update = 1e6 / updates
    areas: dict[str, float] = defaultdict(float)
    for key, cost in costs.items():
        areas[_area(key)] += cost.own
    lines = [
        f"Profiled main-thread time, idle excluded: {total * per_update:.0f} us per update over {updates} updates "
        "(cProfile inflates Python calls; compare shares). Coroutine 'calls' count every resumption.",
        "",
        "| area (own time) | us per update | share |",
        "|---|---|---|",
    ]
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        if seconds * per_update >= 5:
            lines.append(f"| {area} | {seconds * per_update:.0f} | {seconds / total:.1%} |")
    lines += [
        "",
        f"Top {top} functions by own time:",
        "",
        "| function | calls per update | own us/update | with callees us/update |",
        "|---|---|---|---|",
    ]
    ranked = sorted(costs.items(), key=lambda item: -item[1].own)[:top]
    for key, cost in ranked:
        lines.append(
            f"| `{_name(key)}` | {cost.calls / updates:.1f} | {cost.own * per_update:.0f} | "
            f"{cost.total * per_update:.0f} |"
        )
    watched = (
        "process_update",
        "do_process_update",
        "choice_button",
        "command",
        "handle",
        "deliver",
        "_deliver_one",
        "delivered",
        "commit",
        "load_chat",
        "commit_and_claim",
        "press",
        "render",
        "de_json",
        "_post",
        "do_request",
        "callHandlers",
        "_log",
        "emit",
    )
    lines += [
        "",
        "Selected call sites, time with callees (coroutines: only while running, not while awaiting):",
        "",
        "| function | calls per update | with callees us/update |",
        "|---|---|---|",
    ]
    picked = [
        (key, cost)
        for key, cost in costs.items()
        if key[2] in watched and ("/bot/" in key[0] or "/telegram/" in key[0] or "/logging/" in key[0])
    ]
    for key, cost in sorted(picked, key=lambda item: -item[1].total)[:20]:
        if cost.calls > 0:
            lines.append(f"| `{_name(key)}` | {cost.calls / updates:.1f} | {cost.total * per_update:.0f} |")
    return "\n".join(lines)


async def profile(
    users: int, warmup: int, top: int, *, postgres: bool = False, cpu_clock: bool = False
) -> str:
    """Runs the two profiled runs and returns the summary of their difference."""
    with tempfile.TemporaryDirectory(prefix="esim-profile-") as directory, contextlib.ExitStack() as servers:
        workdir = Path(directory)
        server = servers.enter_context(PostgresServer()) if postgres else None
        urls = [server.new_database("profile") if server else None for _ in range(2)]
        baseline, _ = await _profiled_run(workdir, "baseline", warmup, 0, urls[0], cpu_clock=cpu_clock)
        measured, updates = await _profiled_run(
            workdir, "measured", warmup, users, urls[1], cpu_clock=cpu_clock
        )
        costs = _difference(_costs(baseline), _costs(measured))
    return summary(costs, updates, top)


def main(argv: Sequence[str] | None = None) -> int:
    """Profiles (c) and prints the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--postgres", action="store_true", help="the bot on a throwaway PostgreSQL server")
    parser.add_argument("--cpu-clock", action="store_true", help="time with the main thread's CPU clock")
    args = parser.parse_args(argv)
    print(
        asyncio.run(
            profile(args.users, args.warmup, args.top, postgres=args.postgres, cpu_clock=args.cpu_clock)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
