"""PostgreSQL: callers beyond the pool's connections wait their turn in the store, not in psycopg_pool's queue.

psycopg_pool's queue costs each waiter a task and a timer on Python 3.11 (``asyncio.wait_for``); at saturation
nearly every store trip waited there (bench/RESULTS.md). The pool's own timeout still bounds a wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import PoolTimeout

from bot.store.postgres import PostgresStore
from testkit.postgres import PostgresServer

CONNECTIONS = 2


@pytest.fixture
async def store(postgres_server: PostgresServer) -> AsyncIterator[PostgresStore]:
    async with PostgresStore(postgres_server.new_database(), max_connections=CONNECTIONS) as opened:
        yield opened


async def test_callers_beyond_the_connections_wait_their_turn_outside_the_pools_queue(
    store: PostgresStore,
) -> None:
    assert store._pool is not None

    async def slow() -> None:
        async with store._connection() as connection:
            await connection.execute("SELECT pg_sleep(0.05)")

    async def busy() -> None:
        await asyncio.gather(*(slow() for _ in range(10)), *(store.load_chat(chat) for chat in range(10)))

    await busy()  # the pool opens with one connection and grows to two meanwhile
    assert store._pool.get_stats()["pool_size"] == CONNECTIONS
    before = store._pool.get_stats().get("requests_queued", 0)
    await busy()

    # All twenty were served by the two connections, and none queued in the pool.
    assert store._pool.get_stats().get("requests_queued", 0) == before


async def test_a_turn_waited_for_too_long_times_out_as_the_pool_would(store: PostgresStore) -> None:
    assert store._pool is not None
    store._pool.timeout = 0.3
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with store._connection():
            held.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(CONNECTIONS)]
    await held.wait()
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(PoolTimeout):
        await store.load_chat(1)
    assert time.monotonic() - started < 2
    release.set()
    await asyncio.gather(*holders)
    assert await store.load_chat(1) is None
