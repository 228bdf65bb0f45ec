"""Fixtures of the reminder scheduler's tests: a store of every backend the contract suite knows, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.store import Store
from tests.store.conftest import BACKENDS, Backend

StoreFactory = Callable[[], Store]

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
