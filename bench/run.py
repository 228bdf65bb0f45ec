"""Runs the benchmark: (a) bare PTB, (b) bare aiogram 3, (c) the full bot, alternating, in one run.

    python -m bench.run            # the full run, about 9 minutes on 2 cores
    python -m bench.run --quick    # a smoke run, under a minute; exits 1 if a stack fails

See bench/README.md for the scenarios and what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.harness import BenchApi, BotProcess, Usage, base_env, median, percentile, walk_users
from bench.seed import pending_counts, seed_database, waiting_conversation
from bench.stacks import PROJECT, Stack, all_stacks, baseline, on_postgres, variant
from testkit.postgres import PostgresServer

__all__ = ["main"]

MB = 1024 * 1024
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Config:
    """How big each scenario is."""

    users: int
    clicks: int
    warmup_users: int
    rounds: int
    latency: float
    think: float
    memory_chats: int
    dispatch_reminders: int
    dispatch_timeout: float
    fileclock_reminders: int
    stacks: tuple[str, ...]
    scenarios: tuple[str, ...]
    ptb_concurrency: int
    bot_concurrency: int
    step_timeout: float
    baseline: Path | None = None


@dataclass(slots=True)
class WalkRow:
    """One stack's run of one walking scenario (saturation or realistic)."""

    scenario: str
    stack: str
    round: int
    expected: int
    updates: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_update: float
    peak_rss_mb: float
    startup_s: float
    bench_cpu_share: float
    errors: dict[str, int]
    failures: list[str]
    exit_code: int | None = None
    thread_cpu_share: dict[str, float] = field(default_factory=dict)
    handed_out_per_update: float = float("nan")
    store_trips_per_update: float = float("nan")
    """PostgreSQL only: the bot's transactions on its database over the whole run (start-up and warm-up
    included) per update handled; each call of the store is one, so this counts its round trips."""

    @property
    def ok(self) -> bool:
        """Whether every update was answered and the bot exited cleanly."""
        return self.updates == self.expected and not self.failures and self.exit_code == 0


@dataclass(slots=True)
class StartupRow:
    """One start of one stack against an empty or a full database."""

    stack: str
    round: int
    conversations: int
    startup_s: float
    rss_mb: float
    peak_rss_mb: float
    exit_code: int | None
    seed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the bot started and stopped cleanly."""
        return self.startup_s == self.startup_s and self.exit_code == 0


@dataclass(slots=True)
class DispatchRow:
    """One reminder-dispatch run against the limit-enforcing fake."""

    variant: str
    reminders: int
    delivered: int
    duplicated: int
    pending: int
    lost: int
    answered_429: int
    seconds_to_all: float
    sustained_per_s: float
    slowest_10s_per_s: float
    cpu_ms_per_reminder: float
    peak_rss_mb: float
    exit_code: int | None
    errors: dict[str, int]

    @property
    def ok(self) -> bool:
        """Whether nothing was lost or duplicated and the bot exited cleanly."""
        return self.lost == 0 and self.duplicated == 0 and self.exit_code == 0


@dataclass(slots=True)
class Results:
    """Everything one run measured."""

    walks: list[WalkRow] = field(default_factory=list)
    startups: list[StartupRow] = field(default_factory=list)
    dispatches: list[DispatchRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Running one bot.
# ---------------------------------------------------------------------------------------------------------


def _env(stack: Stack, api: BenchApi, extra: dict[str, str], workdir: Path) -> dict[str, str]:
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    env.update(stack.env)
    if stack.full_bot and not stack.own_flow:
        # The flow as it was when the run began (see _snapshot): every stack and round runs the same one.
        env["BOT_FLOWS_DIR"] = str(workdir / "flows")
        env["BOT_LOCALES_DIR"] = str(workdir / "locales")
    env["TELEGRAM_API_URL"] = api.base_url
    env["TELEGRAM_BOT_TOKEN"] = api.token
    env.update(extra)
    return env


async def _start(stack: Stack, api: BenchApi, workdir: Path, name: str, extra: dict[str, str]) -> BotProcess:
    """Starts the stack and waits for its first getUpdates; raises if it dies or takes too long."""
    process = BotProcess(
        stack.command, _env(stack, api, extra, workdir), workdir / f"{name}.log", cwd=workdir
    )
    await process.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not api.get_updates_seen.is_set():
        if not process.alive or time.monotonic() > deadline:
            await process.stop()
            raise RuntimeError(f"{stack.title} did not start polling:\n{process.log_tail()}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(api.get_updates_seen.wait(), 0.1)
    return process


def _snapshot(workdir: Path) -> None:
    """Copies flows/ and locales/ into the work directory and checks the default flow loads and walks.

    Others may edit the flow while a run is going on; a snapshot keeps every round on the same flow.
    """
    for name in ("flows", "locales"):
        shutil.copytree(PROJECT / name, workdir / name)
    waiting_conversation(workdir)


def _database_env(
    stack: Stack, database: Path, *, rate_limit: bool, postgres: PostgresServer | None = None
) -> dict[str, str]:
    if not stack.full_bot:
        return {}
    if stack.postgres and postgres is None:
        raise RuntimeError(f"{stack.key} needs the run's PostgreSQL server")
    env = {"BOT_DATABASE": postgres.new_database("bench") if stack.postgres and postgres else str(database)}
    if not rate_limit:
        # 0 switches the rate limiter's overall cap off: the walking scenarios measure the bot, not the cap.
        env["BOT_MAX_MESSAGES_PER_SECOND"] = "0"
    return env


def _thread_shares(pid: int, before: Usage, after: Usage) -> dict[str, float]:
    """Returns each thread's share of the CPU spent between two usages: main, and the rest summed."""
    total = sum(after.threads.values()) - sum(before.threads.values())
    if total <= 0:
        return {}
    main = after.threads.get(pid, 0.0) - before.threads.get(pid, 0.0)
    return {"main": main / total, "other threads": (total - main) / total}


async def run_walk(
    stack: Stack,
    config: Config,
    workdir: Path,
    scenario: str,
    round_number: int,
    latency: float,
    postgres: PostgresServer | None = None,
) -> WalkRow:
    """Starts the stack, warms it up, then measures ``config.users`` users pressing through the flow."""
    name = f"{scenario}-{stack.key}-{round_number}"
    extra = _database_env(stack, workdir / f"{name}.sqlite3", rate_limit=False, postgres=postgres)
    warmed = 0
    async with BenchApi(latency=latency) as api:
        process = await _start(stack, api, workdir, name, extra)
        startup = (api.first_get_updates or float("nan")) - process.started_at
        try:
            warm = [1_000_000 + i for i in range(config.warmup_users)]
            warmup = await walk_users(
                api, warm, clicks=config.clicks, path=stack.path, timeout=config.step_timeout
            )
            warmed = warmup.updates
            mark = len(api.latencies)
            errors_before = api.errors()
            me = psutil.Process()
            bench_before = sum(me.cpu_times()[:2])
            before = process.usage()
            handed_before = api.handed_out
            users = [2_000_000 + i for i in range(config.users)]
            walked = await walk_users(
                api,
                users,
                clicks=config.clicks,
                path=stack.path,
                think=config.think,
                timeout=config.step_timeout,
            )
            after = process.usage()
            handed_out = api.handed_out - handed_before
            bench_cpu = sum(me.cpu_times()[:2]) - bench_before
            latencies = api.latencies[mark:]
        finally:
            exit_code = await process.stop()
    errors = {k: v - errors_before.get(k, 0) for k, v in api.errors().items() if v != errors_before.get(k, 0)}
    updates = max(walked.updates, 1)
    return WalkRow(
        scenario=scenario,
        stack=stack.key,
        round=round_number,
        expected=config.users * (config.clicks + 1),
        updates=walked.updates,
        seconds=walked.seconds,
        rate=walked.updates / walked.seconds if walked.seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        cpu_ms_per_update=(after.cpu - before.cpu) / updates * 1000,
        peak_rss_mb=after.peak_rss / MB,
        startup_s=startup,
        bench_cpu_share=bench_cpu / walked.seconds if walked.seconds > 0 else 0.0,
        errors=errors,
        failures=walked.failures[:5]
        + ([f"... {len(walked.failures) - 5} more"] if len(walked.failures) > 5 else []),
        exit_code=exit_code,
        thread_cpu_share=_thread_shares(process.pid, before, after),
        handed_out_per_update=handed_out / updates,
        store_trips_per_update=_transactions(extra["BOT_DATABASE"]) / (updates + warmed)
        if stack.postgres
        else float("nan"),
    )


def _transactions(url: str) -> int:
    """Returns how many transactions a PostgreSQL database saw (read once its users have disconnected:
    a server process reports its counts when it ends)."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return 0 if row is None else int(row[0])


async def run_startup(stack: Stack, workdir: Path, round_number: int, conversations: int) -> StartupRow:
    """Starts the stack against a database of ``conversations`` (each with a pending reminder)."""
    name = f"startup-{stack.key}-{conversations}-{round_number}"
    database = workdir / f"{name}.sqlite3"
    seed_seconds = 0.0
    if stack.full_bot:
        seeded = time.monotonic()
        later = datetime.now(UTC) + timedelta(days=30)
        await seed_database(database, workdir, chats=conversations, reminders_due=later)
        seed_seconds = time.monotonic() - seeded
    async with BenchApi() as api:
        process = await _start(stack, api, workdir, name, _database_env(stack, database, rate_limit=True))
        startup = (api.first_get_updates or float("nan")) - process.started_at
        try:
            # Let the first poll, the scheduler's first query and any lazy set-up happen before reading RSS.
            await asyncio.sleep(1.0)
            usage = process.usage()
        finally:
            exit_code = await process.stop()
    return StartupRow(
        stack=stack.key,
        round=round_number,
        conversations=conversations,
        startup_s=startup,
        rss_mb=usage.rss / MB,
        peak_rss_mb=usage.peak_rss / MB,
        exit_code=exit_code,
        seed_s=seed_seconds,
    )


async def _advance_clock_file(path: Path, start: datetime, stop: asyncio.Event) -> None:
    """Keeps writing ``start`` plus the real time elapsed into ``path``, atomically, every 10 ms."""
    began = time.monotonic()
    temporary = path.with_suffix(".tmp")
    while not stop.is_set():
        moment = start + timedelta(seconds=time.monotonic() - began)
        temporary.write_text(moment.isoformat(), encoding="utf-8")
        temporary.replace(path)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.01)


async def run_dispatch(
    stack: Stack, workdir: Path, reminders: int, patience: float, *, clock_file: bool
) -> DispatchRow:
    """Sends ``reminders`` reminders due at once through the limit-enforcing fake and checks each arrived once.

    With ``clock_file`` the reminders fall due tomorrow and the bot's BOT_CLOCK_FILE jumps there once it
    polls (then keeps moving with real time); without it they are already due when the bot starts.
    """
    variant = "BOT_CLOCK_FILE jump" if clock_file else "due at start, system clock"
    name = f"dispatch-{'clockfile' if clock_file else 'system'}"
    database = workdir / f"{name}.sqlite3"
    first_chat = 7_000_000_000
    now = datetime.now(UTC)
    due = now + timedelta(days=1) if clock_file else now - timedelta(seconds=1)
    await seed_database(
        database, workdir, chats=reminders, reminders_due=due, first_chat_id=first_chat, quiet_hours=False
    )
    extra = _database_env(stack, database, rate_limit=True)
    clock_path = workdir / f"{name}.clock"
    if clock_file:
        extra["BOT_CLOCK_FILE"] = str(clock_path)
    stop_clock = asyncio.Event()
    chats = range(first_chat, first_chat + reminders)
    async with BenchApi(enforce_limits=True, accept_any_chat=True) as api:
        process = await _start(stack, api, workdir, name, extra)
        began = time.monotonic()
        clock_task = (
            asyncio.create_task(_advance_clock_file(clock_path, due + timedelta(seconds=1), stop_clock))
            if clock_file
            else None
        )
        try:
            while time.monotonic() - began < patience and process.alive:
                if sum(1 for chat in chats if api.sent_by_chat[chat]) >= reminders:
                    break
                await asyncio.sleep(0.25)
            usage = process.usage()
        finally:
            stop_clock.set()
            if clock_task is not None:
                await clock_task
            exit_code = await process.stop()
    counts = [api.sent_by_chat[chat] for chat in chats]
    delivered = sum(1 for count in counts if count)
    duplicated = sum(count - 1 for count in counts if count > 1)
    still_due, unsent = pending_counts(database, first_chat, reminders)
    undelivered = {chat for chat, count in zip(chats, counts, strict=True) if not count}
    pending = len(undelivered & (still_due | unsent))
    times = sorted(api.send_times)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return DispatchRow(
        variant=variant,
        reminders=reminders,
        delivered=delivered,
        duplicated=duplicated,
        pending=pending,
        lost=len(undelivered) - pending,
        answered_429=api.count(429),
        seconds_to_all=span if delivered == reminders else float("nan"),
        sustained_per_s=(len(times) - 1) / span if span > 0 else 0.0,
        slowest_10s_per_s=_slowest_window(times, 10.0),
        cpu_ms_per_reminder=usage.cpu / max(delivered, 1) * 1000,
        peak_rss_mb=usage.peak_rss / MB,
        exit_code=exit_code,
        errors=api.errors(),
    )


def _slowest_window(times: Sequence[float], width: float) -> float:
    """Returns the lowest send rate over any full ``width``-second window between the first and last send."""
    if len(times) < 2 or times[-1] - times[0] < width:
        return float("nan")
    slowest = float("inf")
    start = times[0]
    index = 0
    while start + width <= times[-1]:
        while times[index] < start:
            index += 1
        end = index
        while end < len(times) and times[end] < start + width:
            end += 1
        slowest = min(slowest, (end - index) / width)
        start += 1.0
    return slowest


# ---------------------------------------------------------------------------------------------------------
# Reporting.
# ---------------------------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def _median_of(rows: Sequence[WalkRow], attribute: str) -> float:
    return median([float(getattr(row, attribute)) for row in rows])


def walk_table(results: Results, scenario: str, stacks: dict[str, Stack]) -> list[str]:
    """Returns the markdown table of one walking scenario: medians over rounds, and the ratios."""
    rows = [row for row in results.walks if row.scenario == scenario]
    if not rows:
        return []
    lines = [
        "| stack | updates/s | p50 latency ms | p99 latency ms | bot CPU ms/update | peak RSS MB | fake+driver CPU "
        "| handed out per update | complete |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}
    trips: list[str] = []
    for key, stack in stacks.items():
        mine = [row for row in rows if row.stack == key]
        if not mine:
            continue
        rates[key] = _median_of(mine, "rate")
        cpu[key] = _median_of(mine, "cpu_ms_per_update")
        complete = sum(row.updates for row in mine), sum(row.expected for row in mine)
        lines.append(
            f"| {stack.title} | {_fmt(rates[key], 0)} | {_fmt(_median_of(mine, 'p50_ms'))} | "
            f"{_fmt(_median_of(mine, 'p99_ms'))} | {_fmt(cpu[key], 2)} | "
            f"{_fmt(_median_of(mine, 'peak_rss_mb'), 0)} | {_fmt(_median_of(mine, 'bench_cpu_share') * 100, 0)}% | "
            f"{_fmt(_median_of(mine, 'handed_out_per_update'), 2)} | {complete[0]}/{complete[1]} |"
        )
        if stack.postgres:
            trips.append(
                f"- ({key}): {_median_of(mine, 'store_trips_per_update'):.2f} store round trips per update"
            )
    lines.append("")
    lines += trips
    for key in rates:
        sqlite_key = "c" if key.endswith("@pg") else None
        if sqlite_key is not None and sqlite_key in cpu and cpu[sqlite_key] > 0:
            lines.append(f"- ({key})/({sqlite_key}): CPU per update {cpu[key] / cpu[sqlite_key]:.2f}x")
    for key in rates:
        for base in ("a", "b"):
            if key.startswith("c") and base in rates and rates[base] > 0:
                lines.append(
                    f"- ({key})/({base}): updates/s {rates[key] / rates[base]:.2f}x, "
                    f"CPU per update {cpu[key] / cpu[base]:.2f}x"
                )
    return lines


def report(results: Results, config: Config, stacks: dict[str, Stack]) -> str:
    """Returns the whole report as markdown."""
    out: list[str] = []
    titles = {
        "saturation": f"Saturation: {config.users} users, no think time, instant API",
        "realistic": f"Realistic: {config.users} users, {config.latency * 1000:.0f} ms per API call",
    }
    for scenario, title in titles.items():
        table = walk_table(results, scenario, stacks)
        if table:
            out += [
                f"### {title} ({config.clicks + 1} updates per user, median of {config.rounds} rounds)",
                "",
                *table,
                "",
            ]
    if results.startups:
        out += [
            "### Memory and start-up",
            "",
            "| stack | stored conversations + pending reminders | start to first getUpdates s | RSS after start MB | peak RSS MB |",
            "|---|---|---|---|---|",
        ]
        groups: dict[tuple[str, int], list[StartupRow]] = {}
        for row in results.startups:
            groups.setdefault((row.stack, row.conversations), []).append(row)
        for (key, conversations), rows in groups.items():
            out.append(
                f"| {stacks[key].title} | {conversations:,} | {_fmt(median([r.startup_s for r in rows]), 2)} | "
                f"{_fmt(median([r.rss_mb for r in rows]))} | {_fmt(median([r.peak_rss_mb for r in rows]))} |"
            )
        out.append("")
    if results.dispatches:
        out += [
            "### Reminder dispatch (fake enforces 30 msg/s overall, 1/s per chat)",
            "",
            "| variant | reminders | delivered | sustained msg/s | slowest 10 s msg/s | 429s | lost | duplicated | "
            "still pending | bot CPU ms/reminder | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in results.dispatches:
            out.append(
                f"| {row.variant} | {row.reminders:,} | {row.delivered:,} | {_fmt(row.sustained_per_s)} | "
                f"{_fmt(row.slowest_10s_per_s)} | {row.answered_429} | {row.lost} | {row.duplicated} | "
                f"{row.pending} | {_fmt(row.cpu_ms_per_reminder, 2)} | {_fmt(row.peak_rss_mb, 0)} |"
            )
        out.append("")
    if results.problems:
        out += ["### Problems", "", *[f"- {problem}" for problem in results.problems], ""]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    """Returns what the numbers depend on: CPUs, Python, package versions."""
    packages = [
        "python-telegram-bot",
        "aiogram",
        "aiohttp",
        "httpx",
        "httpcore",
        "aiosqlite",
        "transitions",
        "psutil",
    ]
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


# ---------------------------------------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------------------------------------


def stacks_for(config: Config) -> dict[str, Stack]:
    """Returns the stacks asked for by key, including ``c+tweak`` variants; raises ValueError on others."""
    known = all_stacks(config.ptb_concurrency, config.bot_concurrency)
    chosen: dict[str, Stack] = {}
    for key in config.stacks:
        if key.endswith("@pg"):
            chosen[key] = on_postgres(
                stacks_for(replace(config, stacks=(key.removesuffix("@pg"),)))[key[:-3]]
            )
        elif key.startswith("c+"):
            chosen[key] = variant(key, config.bot_concurrency)
        elif key == "c0" and config.baseline is not None:
            chosen[key] = baseline(config.baseline, config.bot_concurrency)
        elif key in known:
            chosen[key] = known[key]
        else:
            raise ValueError(
                f"unknown stack {key!r}; known: {', '.join(known)}, c+<tweak>[+<tweak>...], c0 (with --baseline),"
                " and any of c, c+..., c0 followed by @pg (on PostgreSQL)"
            )
    return chosen


def _rotated(keys: Sequence[str], round_number: int) -> list[str]:
    """Alternates the order of stacks from round to round, so no stack always runs first or last."""
    ordered = list(keys)
    return ordered if round_number % 2 == 0 else ordered[::-1]


async def run(config: Config, workdir: Path) -> Results:
    """Runs every scenario asked for and returns what was measured."""
    with contextlib.ExitStack() as servers:
        stacks = stacks_for(config)
        postgres = None
        if any(stack.postgres for stack in stacks.values()):
            postgres = servers.enter_context(PostgresServer())
        return await _run(config, workdir, stacks, postgres)


async def _run(
    config: Config, workdir: Path, stacks: dict[str, Stack], postgres: PostgresServer | None
) -> Results:
    results = Results()
    chosen = [stacks[key] for key in config.stacks]
    try:
        _snapshot(workdir)
    except Exception as exc:
        results.problems.append(f"the default flow does not load or walk to 'waiting': {exc}")
        return results

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    for scenario, latency in (("saturation", 0.0), ("realistic", config.latency)):
        if scenario not in config.scenarios:
            continue
        for round_number in range(config.rounds):
            for key in _rotated([s.key for s in chosen], round_number):
                stack = stacks[key]
                try:
                    row = await run_walk(stack, config, workdir, scenario, round_number, latency, postgres)
                except Exception as exc:
                    results.problems.append(f"{scenario} {stack.title}: {exc}")
                    log(f"{scenario} {key} round {round_number}: FAILED {exc}")
                    continue
                results.walks.append(row)
                if not row.ok:
                    results.problems.append(
                        f"{scenario} {stack.title}: {row.updates}/{row.expected} updates answered, "
                        f"exit code {row.exit_code}, failures {row.failures}"
                    )
                log(
                    f"{scenario} {key} round {round_number}: {row.rate:.0f} updates/s, p50 {row.p50_ms:.1f} ms, "
                    f"p99 {row.p99_ms:.1f} ms, {row.cpu_ms_per_update:.2f} ms CPU/update, "
                    f"peak RSS {row.peak_rss_mb:.0f} MB, handed out {row.handed_out_per_update:.2f}x, "
                    f"{row.updates}/{row.expected}, errors {row.errors}"
                )
    if "startup" in config.scenarios:
        runs: list[tuple[Stack, int]] = [(stack, 0) for stack in chosen if stack.key in ("a", "b")]
        if "c" in config.stacks:
            runs += [(stacks["c"], 0), (stacks["c"], config.memory_chats)]
        for round_number in range(config.rounds):
            for stack, conversations in runs if round_number % 2 == 0 else runs[::-1]:
                try:
                    started = await run_startup(stack, workdir, round_number, conversations)
                except Exception as exc:
                    results.problems.append(f"startup {stack.title} {conversations}: {exc}")
                    log(f"startup {stack.key} {conversations}: FAILED {exc}")
                    continue
                results.startups.append(started)
                if not started.ok:
                    results.problems.append(
                        f"startup {stack.title} {conversations}: exit code {started.exit_code}"
                    )
                log(
                    f"startup {stack.key} {conversations:,} conversations: {started.startup_s:.2f} s, "
                    f"RSS {started.rss_mb:.1f} MB (peak {started.peak_rss_mb:.1f}), seeded in {started.seed_s:.1f} s"
                )
    if "dispatch" in config.scenarios and "c" in config.stacks:
        for reminders, clock_file in ((config.dispatch_reminders, False), (config.fileclock_reminders, True)):
            if reminders <= 0:
                continue
            try:
                dispatched = await run_dispatch(
                    stacks["c"], workdir, reminders, config.dispatch_timeout, clock_file=clock_file
                )
            except Exception as exc:
                results.problems.append(f"dispatch (clock file {clock_file}): {exc}")
                log(f"dispatch: FAILED {exc}")
                continue
            results.dispatches.append(dispatched)
            if not dispatched.ok:
                results.problems.append(
                    f"dispatch {dispatched.variant}: lost {dispatched.lost}, duplicated {dispatched.duplicated}, "
                    f"exit code {dispatched.exit_code}"
                )
            log(
                f"dispatch {dispatched.variant}: {dispatched.delivered}/{reminders} delivered, "
                f"{dispatched.sustained_per_s:.1f} msg/s, 429s {dispatched.answered_429}, lost {dispatched.lost}, "
                f"duplicated {dispatched.duplicated}, pending {dispatched.pending}, errors {dispatched.errors}"
            )
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, under a minute: a smoke run")
    parser.add_argument("--users", type=int, help="simulated users per walking scenario (default 200)")
    parser.add_argument("--rounds", type=int, help="rounds per scenario, stacks alternating (default 2)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call in 'realistic'")
    parser.add_argument("--think", type=float, default=0.0, help="seconds a user waits before each press")
    parser.add_argument(
        "--stacks",
        default="a,a2,b,c",
        help="comma-separated: a, a2, b, c, c+<tweak>, c0; <c stack>@pg: on PostgreSQL",
    )
    parser.add_argument(
        "--scenarios", default="saturation,realistic,startup,dispatch", help="comma-separated scenarios"
    )
    parser.add_argument(
        "--memory-chats", type=int, help="stored conversations for 'startup' (default 100000)"
    )
    parser.add_argument("--reminders", type=int, help="reminders due at once for 'dispatch' (default 10000)")
    parser.add_argument("--fileclock-reminders", type=int, help="reminders for the BOT_CLOCK_FILE variant")
    parser.add_argument("--dispatch-timeout", type=float, help="seconds to wait for the reminders")
    parser.add_argument("--ptb-concurrency", type=int, default=16, help="concurrent_updates of (a) and (a2)")
    parser.add_argument("--bot-concurrency", type=int, default=64, help="BOT_CONCURRENT_UPDATES of (c)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier source tree (git archive REV | tar -x -C DIR): adds stack c0, its bot on its own flow",
    )
    parser.add_argument("--json", type=Path, help="also write every raw measurement to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    return parser


def _config(args: argparse.Namespace) -> Config:
    quick = bool(args.quick)

    def pick(value: int | float | None, full: int | float, small: int | float) -> Any:
        return value if value is not None else (small if quick else full)

    reminders = int(pick(args.reminders, 10_000, 60))
    return Config(
        users=int(pick(args.users, 200, 20)),
        clicks=10,
        warmup_users=10 if quick else 20,
        rounds=int(pick(args.rounds, 2, 1)),
        latency=args.latency,
        think=args.think,
        memory_chats=int(pick(args.memory_chats, 100_000, 2_000)),
        dispatch_reminders=reminders,
        dispatch_timeout=float(pick(args.dispatch_timeout, reminders / 20 + 60, 30)),
        fileclock_reminders=int(pick(args.fileclock_reminders, 300, 30)),
        stacks=tuple(key.strip() for key in args.stacks.split(",") if key.strip()),
        scenarios=tuple(name.strip() for name in args.scenarios.split(",") if name.strip()),
        ptb_concurrency=args.ptb_concurrency,
        bot_concurrency=args.bot_concurrency,
        step_timeout=30.0,
        baseline=args.baseline,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark, prints the report; returns 1 if any stack failed to complete its work."""
    args = _parser().parse_args(argv)
    config = _config(args)
    try:
        stacks = stacks_for(config)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="esim-bench-"))
    began = time.monotonic()
    try:
        results = asyncio.run(run(config, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}", file=sys.stderr)
    elapsed = time.monotonic() - began
    shown = {key: stacks[key] for key in config.stacks}
    print(report(results, config, shown))
    info = machine()
    print(
        f"{info['cpus']} CPUs, Python {info['python']}, "
        + ", ".join(f"{name} {version}" for name, version in info["packages"].items())
        + f"; total {elapsed:.0f} s"
    )
    if args.json is not None:
        payload = {
            "config": asdict(config),
            "machine": info,
            "seconds": elapsed,
            "walks": [asdict(row) for row in results.walks],
            "startups": [asdict(row) for row in results.startups],
            "dispatches": [asdict(row) for row in results.dispatches],
            "problems": results.problems,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return 1 if results.problems else 0


if __name__ == "__main__":
    sys.exit(main())
