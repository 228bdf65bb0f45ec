"""aiosqlite's private queue, which the SQLite store relies on, still behaves as the store expects.

``_run`` in bot/store/sqlite.py sends each whole transaction to aiosqlite's thread in one hop through
``aiosqlite.Connection._execute(fn, *args)`` and ``Connection._conn``, which aiosqlite keeps private (it has
no public way to run a function on its connection: omnilib/aiosqlite#19). Measured in bench/RESULTS.md
("aiosqlite: one hop through its private queue"): the public calls cost a typical commit 2.4-3.2x the
time and CPU. pyproject.toml therefore caps aiosqlite below its next minor release, and these tests fail,
naming the reason, the day a release changes what ``_run`` relies on.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
from pathlib import Path

import aiosqlite
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from bot.store.sqlite import _run

ROOT = Path(__file__).resolve().parents[2]
REASON = (
    "bot/store/sqlite.py `_run` runs each transaction as one function on aiosqlite's thread through the "
    f"private aiosqlite.Connection._execute(fn, *args) and Connection._conn, and aiosqlite {version('aiosqlite')} "
    "changed them. Keep aiosqlite below this release in pyproject.toml (then ./scripts/lock), or switch `_run` "
    "to the public fallback measured in bench/RESULTS.md (sqlite3 on a one-thread ThreadPoolExecutor) after "
    "re-running `python -m bench.store_hops`."
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """Returns an open aiosqlite connection, opened as the store opens it."""
    async with aiosqlite.connect(tmp_path / "guard.sqlite3", isolation_level=None) as connection:
        yield connection


def test_the_private_queue_and_connection_are_still_there() -> None:
    execute = inspect.getattr_static(aiosqlite.Connection, "_execute", None)
    assert inspect.iscoroutinefunction(execute), REASON
    assert list(inspect.signature(execute).parameters) == ["self", "fn", "args", "kwargs"], REASON
    assert isinstance(inspect.getattr_static(aiosqlite.Connection, "_conn", None), property), REASON


async def test_a_transaction_runs_on_aiosqlite_s_own_thread_against_its_own_connection(
    db: aiosqlite.Connection,
) -> None:
    await db.execute("CREATE TABLE notes (text TEXT)")

    def write(connection: sqlite3.Connection) -> tuple[int, bool]:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO notes VALUES ('one')")
        connection.execute("INSERT INTO notes VALUES ('two')")
        connection.execute("COMMIT")
        return threading.get_ident(), isinstance(connection, sqlite3.Connection)

    first_thread, is_sqlite3 = await _run(db, write)
    second_thread, _ = await _run(db, write)

    assert is_sqlite3, REASON
    assert first_thread == second_thread != threading.get_ident(), REASON
    # aiosqlite's public calls see the rows: _conn is the very connection aiosqlite itself uses.
    assert [row[0] for row in await db.execute_fetchall("SELECT text FROM notes")] == ["one", "two"] * 2, (
        REASON
    )


async def test_two_transactions_sent_at_once_never_interleave(db: aiosqlite.Connection) -> None:
    await db.execute("CREATE TABLE steps (step TEXT)")

    def transaction(name: str) -> Callable[[sqlite3.Connection], None]:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN IMMEDIATE")  # raises if the other transaction is still open
            connection.execute("INSERT INTO steps VALUES (?)", (f"{name} begins",))
            time.sleep(0.02)  # time for the other one to start, were the work run on several threads
            connection.execute("INSERT INTO steps VALUES (?)", (f"{name} ends",))
            connection.execute("COMMIT")

        return work

    await asyncio.gather(_run(db, transaction("a")), _run(db, transaction("b")))

    steps = [row[0] for row in await db.execute_fetchall("SELECT step FROM steps ORDER BY rowid")]
    assert steps in (
        ["a begins", "a ends", "b begins", "b ends"],
        ["b begins", "b ends", "a begins", "a ends"],
    ), REASON


async def test_an_error_in_the_work_reaches_the_caller_and_the_connection_stays_usable(
    db: aiosqlite.Connection,
) -> None:
    def fail(connection: sqlite3.Connection) -> None:
        connection.execute("SELECT 1")
        raise LookupError("no such chat")

    with pytest.raises(LookupError, match="no such chat"):
        await _run(db, fail)
    assert await _run(db, lambda connection: connection.execute("SELECT 41 + 1").fetchone()[0]) == 42, REASON


def test_aiosqlite_is_capped_below_the_next_release_and_the_installed_one_is_within() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    (requirement,) = [Requirement(item) for item in dependencies if Requirement(item).name == "aiosqlite"]
    assert any(spec.operator == "<" for spec in requirement.specifier), (
        "pyproject.toml must cap aiosqlite: bot/store/sqlite.py relies on its private Connection._execute"
    )
    installed = Version(version("aiosqlite"))
    assert installed in requirement.specifier, (
        f"aiosqlite {installed} is installed but pyproject.toml allows {requirement.specifier}: "
        "install from the locks (./scripts/install test)"
    )
