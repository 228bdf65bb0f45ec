"""Fixtures of the storage contract suite: every backend runs every test.

A backend is a factory of unopened stores that all reach the same database, so a test can close its
store and open another one, as the bot does across a restart. PostgreSQL runs in a throwaway server
started once per session (``testkit.postgres``), each test on a fresh database; nothing is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.store import SqliteStore, Store
from bot.store.postgres import PostgresStore
from testkit.postgres import PostgresServer

StoreFactory = Callable[[], Store]
Backend = Callable[[pytest.FixtureRequest, Path], StoreFactory]


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    path = tmp_path / "bot.sqlite3"
    return lambda: SqliteStore(path)


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    return lambda: PostgresStore(url, max_connections=4)


BACKENDS: dict[str, Backend] = {"sqlite": _sqlite, "postgresql": _postgres}


START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(params=sorted(BACKENDS))
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Returns a factory of stores on one fresh database of the backend under test."""
    backend: Backend = BACKENDS[request.param]
    return backend(request, tmp_path)


@pytest.fixture
async def store(new_store: StoreFactory) -> AsyncIterator[Store]:
    """Returns an open store on a fresh database."""
    async with new_store() as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    """Returns a fake clock at a fixed moment."""
    return FakeClock(START)
