"""A PostgreSQL database gets its schema from whichever instance starts first, even when they start together."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from bot.store import Commit, SchemaError, StoredConversation
from bot.store.migrations import Migration
from bot.store.migrations.postgres import POSTGRES_MIGRATIONS
from bot.store.postgres import PostgresStore, migrate
from testkit.postgres import PostgresServer
from tests.store.conftest import START

LATEST = POSTGRES_MIGRATIONS[-1].version
CONVERSATION = StoredConversation(flow_id="cancel_esim", flow_version="1", state="start", language="en")


def schema_version(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    assert row is not None
    return int(row[0])


def test_the_schema_history_is_numbered_without_gaps() -> None:
    assert [step.version for step in POSTGRES_MIGRATIONS] == list(range(1, len(POSTGRES_MIGRATIONS) + 1))


async def test_instances_starting_together_on_an_empty_database_all_come_up(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    stores = [PostgresStore(url, max_connections=2) for _ in range(4)]

    await asyncio.gather(*(store.open() for store in stores))
    try:
        # Each one works on the same schema: what one commits, the others read.
        await stores[0].commit(Commit(chat_id=1, conversation=CONVERSATION), START)
        for store in stores:
            record = await store.load_chat(1)
            assert record is not None
            assert record.conversation == CONVERSATION
    finally:
        await asyncio.gather(*(store.close() for store in stores))
    assert schema_version(url) == LATEST


async def test_a_database_from_a_newer_bot_is_refused(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    newer = Migration(LATEST + 1, "from the future", ("CREATE TABLE future (id INTEGER)",))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        assert await migrate(connection, (*POSTGRES_MIGRATIONS, newer)) == LATEST + 1

    with pytest.raises(SchemaError, match="newer"):
        await PostgresStore(url).open()


async def test_a_failing_step_leaves_the_database_at_the_last_complete_one(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    broken = Migration(LATEST + 1, "broken", ("CREATE TABLE half (id INTEGER)", "SELECT no_such_function()"))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        with pytest.raises(SchemaError, match="no_such_function"):
            await migrate(connection, (*POSTGRES_MIGRATIONS, broken))

    assert schema_version(url) == LATEST
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT to_regclass('half')").fetchone() == (None,)
