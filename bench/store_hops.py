"""What one commit costs through each way of reaching SQLite from the event loop (issue 8, point 3).

    .venv/bin/python -m bench.store_hops            # about a minute on 2 cores
    .venv/bin/python -m bench.store_hops --quick    # a few seconds, small numbers

The same typical update (the press that sends the cancellation request: record the update id, save the
conversation, reschedule a reminder, queue the edited screen, record the funnel event, all in one
transaction) is committed through:

- (a) aiosqlite's private queue, ``Connection._execute(work, Connection._conn)``: the whole transaction is one
  function run on aiosqlite's thread, one hop (what ``bot/store/sqlite.py``'s ``_run`` did before issue 8);
- (b) aiosqlite's public calls only: ``BEGIN IMMEDIATE``, one ``await`` per statement, ``COMMIT``, with an
  ``asyncio.Lock`` so that two chats' transactions never interleave on the shared connection (eight hops);
- (c) the standard ``sqlite3`` module on a one-thread ``ThreadPoolExecutor`` (``loop.run_in_executor``): one
  hop, public APIs, no aiosqlite at all;
- (c2) ``asyncio.to_thread`` with a ``sqlite3`` connection shared by the default executor's threads behind a
  ``threading.Lock``: one hop;
- (d) for reference, ``sqlite3`` called on the event loop's thread: no hop (blocks the loop while it runs);
- (s) ``SqliteStore.commit`` as the store is now, with a real ``Commit``: whatever ``_run`` does today, plus
  the store's own work of turning a ``Commit`` into statements.

Each is measured one commit after another (latency, what one update waits) and with 64 commits in flight
(throughput, what a busy bot gets), as wall time and process CPU (all threads), in rounds whose order
alternates. Ratios are against (a) in the same round. Numbers are for reading, never for asserting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.store import Commit, FlowEvent, NewReminder, SqliteStore, StoredConversation

__all__ = ["PATHS", "TypicalUpdate", "main", "measure", "migrated"]

CHATS = 500
CONCURRENCY = 64
REMINDER = "confirm_email"
# The "prepare" screen of the default flow, roughly: 268 characters and five rows of buttons.
SCREEN_TEXT = "Before you ask for the refund, write down what the provider will want to see. " * 3
SCREEN_ROWS = [[f"Button {row}", "d", f"1:{row}:prepare:{row}"] for row in range(5)]

_RECORD_UPDATE = "INSERT OR IGNORE INTO processed_updates (update_id, processed_at) VALUES (?, ?)"
_UPSERT = (
    "INSERT INTO chats (chat_id, conversation, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (chat_id) DO UPDATE SET conversation = excluded.conversation, updated_at = excluded.updated_at"
)
_CANCEL = "DELETE FROM reminders WHERE chat_id = ? AND name = ?"
_SCHEDULE = "INSERT OR REPLACE INTO reminders (chat_id, name, due_at, sequence) VALUES (?, ?, ?, ?)"
_ENQUEUE = "INSERT INTO outbox (chat_id, payload, created_at) VALUES (?, ?, ?) RETURNING id"
_RECORD_EVENT = "INSERT INTO flow_events (chat_id, flow_id, flow_version, state, at) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class TypicalUpdate:
    """One button press's writes, as parameters ready for SQLite."""

    chat_id: int
    update_id: int
    now: int
    conversation: str
    payload: str

    @classmethod
    def number(cls, index: int) -> TypicalUpdate:
        """Returns the ``index``-th update of a run: chats take turns, update ids never repeat."""
        chat_id = 10_000 + index % CHATS
        conversation = {
            "flow_id": "cancel_esim",
            "flow_version": "bench",
            "state": "waiting",
            "language": "en",
            "step": 7,
            "variables": {"provider": "airalo"},
            "checklist": ["t_backup"],
            "finished": False,
        }
        payload = {"chat_id": chat_id, "edit": 1000 + index, "text": SCREEN_TEXT, "rows": SCREEN_ROWS}
        return cls(
            chat_id=chat_id,
            update_id=index,
            now=1_764_460_800_000_000 + index,
            conversation=json.dumps(conversation, separators=(",", ":")),
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        )

    def apply(self, db: sqlite3.Connection) -> int:
        """Writes the update in one transaction on a plain ``sqlite3`` connection; returns the outbox id."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute(_RECORD_UPDATE, (self.update_id, self.now)).rowcount == 0:
                raise RuntimeError(f"update {self.update_id} was already recorded")
            db.execute(_UPSERT, (self.chat_id, self.conversation, self.now))
            db.executemany(_CANCEL, [(self.chat_id, REMINDER)])
            db.executemany(_SCHEDULE, [(self.chat_id, REMINDER, self.now + 86_400_000_000, 1)])
            (outbox_id,) = db.execute(_ENQUEUE, (self.chat_id, self.payload, self.now)).fetchone()
            db.executemany(_RECORD_EVENT, [(self.chat_id, "cancel_esim", "bench", "waiting", self.now)])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        result: int = outbox_id
        return result

    async def apply_public(self, db: aiosqlite.Connection) -> int:
        """Writes the update in one transaction through aiosqlite's public calls, one hop each."""
        await db.execute("BEGIN IMMEDIATE")
        try:
            recorded = await db.execute(_RECORD_UPDATE, (self.update_id, self.now))
            if recorded.rowcount == 0:
                raise RuntimeError(f"update {self.update_id} was already recorded")
            await db.execute(_UPSERT, (self.chat_id, self.conversation, self.now))
            await db.executemany(_CANCEL, [(self.chat_id, REMINDER)])
            await db.executemany(_SCHEDULE, [(self.chat_id, REMINDER, self.now + 86_400_000_000, 1)])
            ((outbox_id,),) = await db.execute_fetchall(_ENQUEUE, (self.chat_id, self.payload, self.now))
            await db.executemany(_RECORD_EVENT, [(self.chat_id, "cancel_esim", "bench", "waiting", self.now)])
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        result: int = outbox_id
        return result

    def as_commit(self) -> tuple[Commit, datetime]:
        """Returns the same writes as the store's ``Commit``, and the moment to commit it at."""
        now = datetime(2025, 12, 1, tzinfo=UTC) + timedelta(microseconds=self.update_id)
        conversation = StoredConversation(
            flow_id="cancel_esim",
            flow_version="bench",
            state="waiting",
            language="en",
            step=7,
            variables={"provider": "airalo"},
            checklist=frozenset({"t_backup"}),
        )
        commit = Commit(
            chat_id=self.chat_id,
            update_id=self.update_id,
            conversation=conversation,
            cancel_reminders=frozenset({REMINDER}),
            schedule=[NewReminder(REMINDER, now + timedelta(days=1), 1)],
            outbox=[json.loads(self.payload)],
            events=[FlowEvent(self.chat_id, "cancel_esim", "bench", "waiting", now)],
        )
        return commit, now


class CommitPath:
    """One way of committing a typical update from a coroutine."""

    key = ""
    title = ""

    async def open(self, database: Path) -> None:
        """Connects to the (already migrated) database."""
        raise NotImplementedError

    async def commit(self, update: TypicalUpdate) -> None:
        """Commits one update."""
        raise NotImplementedError

    async def close(self) -> None:
        """Closes the connection and any thread of its own."""
        raise NotImplementedError


def _plain_connection(database: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=check_same_thread)
    _tune(db)
    return db


def _tune(db: sqlite3.Connection) -> None:
    # The store's settings (bot/store/sqlite.py, _prepare).
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")


class PrivateQueue(CommitPath):
    """(a) The whole transaction as one function on aiosqlite's own thread, through its private queue."""

    key = "a"
    title = "aiosqlite `_execute(work, _conn)`, one hop"

    async def open(self, database: Path) -> None:
        self.db = await aiosqlite.connect(database, isolation_level=None)
        await self.db._execute(_tune, self.db._conn)  # type: ignore[no-untyped-call]

    async def commit(self, update: TypicalUpdate) -> None:
        await self.db._execute(update.apply, self.db._conn)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self.db.close()


class PublicCalls(CommitPath):
    """(b) aiosqlite's public calls, one await per statement, one transaction at a time."""

    key = "b"
    title = "aiosqlite public calls, 8 hops, `asyncio.Lock`"

    async def open(self, database: Path) -> None:
        self.db = await aiosqlite.connect(database, isolation_level=None)
        for pragma in (
            "busy_timeout = 5000",
            "journal_mode = WAL",
            "synchronous = NORMAL",
            "foreign_keys = ON",
        ):
            await self.db.execute(f"PRAGMA {pragma}")
        # Without it a second chat's BEGIN would land inside the first chat's transaction.
        self.lock = asyncio.Lock()

    async def commit(self, update: TypicalUpdate) -> None:
        async with self.lock:
            await update.apply_public(self.db)

    async def close(self) -> None:
        await self.db.close()


class OwnThread(CommitPath):
    """(c) ``sqlite3`` on a one-thread executor of our own: one hop, no aiosqlite."""

    key = "c"
    title = "`sqlite3` on a one-thread `ThreadPoolExecutor`, one hop"

    async def open(self, database: Path) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        self.db = await loop.run_in_executor(self.pool, _plain_connection, database)

    async def commit(self, update: TypicalUpdate) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, update.apply, self.db)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, self.db.close)
        self.pool.shutdown()


class ToThread(CommitPath):
    """(c2) ``asyncio.to_thread`` on the default executor, one shared connection behind a lock."""

    key = "c2"
    title = "`sqlite3` via `asyncio.to_thread`, `threading.Lock`, one hop"

    async def open(self, database: Path) -> None:
        self.db = _plain_connection(database, check_same_thread=False)
        self.lock = threading.Lock()

    def _apply(self, update: TypicalUpdate) -> int:
        with self.lock:
            return update.apply(self.db)

    async def commit(self, update: TypicalUpdate) -> None:
        await asyncio.to_thread(self._apply, update)

    async def close(self) -> None:
        self.db.close()


class OnTheLoop(CommitPath):
    """(d) ``sqlite3`` on the event loop's thread: no hop, but the loop waits for every commit."""

    key = "d"
    title = "`sqlite3` on the event loop's thread, no hop (reference)"

    async def open(self, database: Path) -> None:
        self.db = _plain_connection(database)

    async def commit(self, update: TypicalUpdate) -> None:
        update.apply(self.db)

    async def close(self) -> None:
        self.db.close()


class Store(CommitPath):
    """(s) The project's store as it is now, committing a real ``Commit``."""

    key = "s"
    title = "`SqliteStore.commit` as it is now (a real `Commit`)"

    async def open(self, database: Path) -> None:
        self.store = SqliteStore(database)
        await self.store.open()

    async def commit(self, update: TypicalUpdate) -> None:
        await self.store.commit(*update.as_commit())

    async def close(self) -> None:
        await self.store.close()


PATHS: tuple[type[CommitPath], ...] = (PrivateQueue, PublicCalls, OwnThread, ToThread, OnTheLoop, Store)


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement: commits, wall seconds and process CPU seconds."""

    commits: int
    wall: float
    cpu: float

    @property
    def wall_us(self) -> float:
        """Returns wall microseconds per commit."""
        return self.wall / self.commits * 1e6

    @property
    def cpu_us(self) -> float:
        """Returns process CPU microseconds per commit (all threads)."""
        return self.cpu / self.commits * 1e6

    @property
    def per_second(self) -> float:
        """Returns commits per second."""
        return self.commits / self.wall


async def _timed(work: Callable[[], Awaitable[None]], commits: int) -> Sample:
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    return Sample(commits, time.perf_counter() - wall, time.process_time() - cpu)


async def measure(
    path: CommitPath, database: Path, commits: int, concurrency: int, warm_up: int = CHATS
) -> Sample:
    """Commits ``commits`` typical updates through ``path``, ``concurrency`` at a time, after a warm-up.

    The warm-up's commits create every chat, so the timed ones update chats rather than insert them.
    """
    await path.open(database)
    try:
        first = warm_up
        for index in range(first):
            await path.commit(TypicalUpdate.number(index))
        updates = [TypicalUpdate.number(first + index) for index in range(commits)]

        async def one_after_another() -> None:
            for update in updates:
                await path.commit(update)

        async def in_flight() -> None:
            queue = iter(updates)

            async def worker() -> None:
                for update in queue:
                    await path.commit(update)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        return await _timed(one_after_another if concurrency == 1 else in_flight, commits)
    finally:
        await path.close()


async def migrated(database: Path) -> None:
    """Creates the store's schema in ``database``."""
    async with SqliteStore(database):
        pass


async def run(commits: int, rounds: int) -> dict[str, dict[str, list[Sample]]]:
    """Returns the samples per mode ("latency", "throughput") and path key, rounds alternating in order."""
    samples: dict[str, dict[str, list[Sample]]] = {"latency": {}, "throughput": {}}
    with tempfile.TemporaryDirectory(prefix="store-hops-") as folder:
        for round_number in range(rounds):
            order = PATHS if round_number % 2 == 0 else tuple(reversed(PATHS))
            for mode, concurrency in (("latency", 1), ("throughput", CONCURRENCY)):
                for path_type in order:
                    database = Path(folder) / f"{path_type.key}-{mode}-{round_number}.sqlite3"
                    await migrated(database)
                    sample = await measure(path_type(), database, commits, concurrency)
                    samples[mode].setdefault(path_type.key, []).append(sample)
    return samples


def _median(values: list[float]) -> float:
    return statistics.median(values)


def report(samples: dict[str, dict[str, list[Sample]]], commits: int, rounds: int) -> str:
    """Returns the results as Markdown tables, medians over rounds, ratios against (a) round by round."""
    lines: list[str] = []
    titles = {path.key: path.title for path in PATHS}
    headings = {
        "latency": f"### One commit after another ({commits} commits, median of {rounds} rounds)",
        "throughput": f"### {CONCURRENCY} commits in flight ({commits} commits, median of {rounds} rounds)",
    }
    for mode in ("latency", "throughput"):
        base = samples[mode]["a"]
        lines += [
            headings[mode],
            "",
            "| path | us/commit (wall) | commits/s | CPU us/commit | wall vs (a) | CPU vs (a) |",
            "|---|---|---|---|---|---|",
        ]
        for key, title in titles.items():
            runs = samples[mode][key]
            wall_ratio = _median([run.wall_us / ref.wall_us for run, ref in zip(runs, base, strict=True)])
            cpu_ratio = _median([run.cpu_us / ref.cpu_us for run, ref in zip(runs, base, strict=True)])
            lines.append(
                f"| ({key}) {title} | {_median([r.wall_us for r in runs]):.0f} "
                f"| {_median([r.per_second for r in runs]):.0f} | {_median([r.cpu_us for r in runs]):.0f} "
                f"| {wall_ratio:.2f}x | {cpu_ratio:.2f}x |"
            )
        lines.append("")
    lines.append(
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs every path in alternating rounds and prints the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.store_hops", description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=3000, help="timed commits per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="300 commits, 1 round: a smoke run")
    options = parser.parse_args(argv)
    commits, rounds = (300, 1) if options.quick else (options.commits, options.rounds)
    started = time.perf_counter()
    samples = asyncio.run(run(commits, rounds))
    print(report(samples, commits, rounds))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
