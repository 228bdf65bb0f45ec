"""An SQLite database written by an older bot upgrades itself when the new bot opens it."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.store import Commit, DuplicateUpdate, SchemaError, SqliteStore, StoredConversation
from bot.store.migrations import Migration
from bot.store.migrations.sqlite import SQLITE_MIGRATIONS
from bot.store.sqlite import migrate

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
LATEST = SQLITE_MIGRATIONS[-1].version


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def connect(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path, isolation_level=None))


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def indexes(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_the_schema_history_is_numbered_without_gaps() -> None:
    assert [step.version for step in SQLITE_MIGRATIONS] == list(range(1, len(SQLITE_MIGRATIONS) + 1))
    assert LATEST >= 2


async def test_a_new_database_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async with SqliteStore(path):
        pass

    with connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {"quiet_start", "quiet_end", "timezone_asked_at"} <= columns(db, "chats")


async def test_a_version_1_database_keeps_its_rows_and_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conversation = StoredConversation(
        flow_id="cancel_esim", flow_version="1", state="wait_confirmation", language="fr"
    )
    with connect(path) as db:
        assert migrate(db, target=1) == 1
        assert "quiet_start" not in columns(db, "chats")
        db.execute(
            "INSERT INTO chats (chat_id, language, timezone, conversation, screen_message_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                7,
                "fr",
                "Europe/Paris",
                json.dumps(
                    {
                        "flow_id": "cancel_esim",
                        "flow_version": "1",
                        "state": "wait_confirmation",
                        "language": "fr",
                    }
                ),
                99,
                micros(START),
            ),
        )
        db.execute(
            "INSERT INTO reminders (chat_id, name, due_at, sequence) VALUES (?, ?, ?, ?)",
            (7, "confirmation", micros(START + timedelta(days=1)), 1),
        )
        db.execute(
            "INSERT INTO outbox (chat_id, payload, created_at) VALUES (?, ?, ?)",
            (7, json.dumps({"text": "Bonjour"}), micros(START)),
        )
        db.execute(
            "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)", (500, micros(START))
        )

    async with SqliteStore(path) as store:
        record = await store.load_chat(7)
        assert record is not None
        assert record.conversation == conversation
        assert record.screen_message_id == 99
        assert (record.settings.language, record.settings.timezone) == ("fr", "Europe/Paris")
        assert (record.settings.quiet_start, record.settings.quiet_end) == (time(21, 0), time(8, 0))
        assert await store.next_due_at() == START + timedelta(days=1)
        [message] = await store.pending_outbox(10)
        assert dict(message.payload) == {"text": "Bonjour"}
        with pytest.raises(DuplicateUpdate):
            await store.commit(Commit(chat_id=7, update_id=500), START)

    with connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert "flow_events_by_chat" in indexes(db)


async def test_opening_an_up_to_date_database_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore(path) as store:
        await store.commit(Commit(chat_id=1, update_id=1), START)

    async with SqliteStore(path) as store:
        assert await store.load_chat(1) is not None


async def test_a_database_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with connect(path) as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")

    store = SqliteStore(path)
    with pytest.raises(SchemaError, match="newer"):
        await store.open()
    await store.close()


def test_a_failed_step_leaves_the_database_at_the_last_complete_version(tmp_path: Path) -> None:
    broken = (*SQLITE_MIGRATIONS, Migration(LATEST + 1, "broken", ("CREATE TABLE chats (x)",)))
    with connect(tmp_path / "bot.sqlite3") as db:
        with pytest.raises(SchemaError, match="broken"):
            migrate(db, broken)

        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST


def test_a_step_that_fails_only_when_committed_is_rolled_back(tmp_path: Path) -> None:
    # A deferred foreign key is checked at COMMIT, which then fails and leaves the transaction open.
    orphan = Migration(
        LATEST + 1,
        "orphan reminder",
        (
            "PRAGMA defer_foreign_keys = ON",
            "INSERT INTO reminders (chat_id, name, due_at, sequence) VALUES (404, 'email', 0, 1)",
            f"PRAGMA user_version = {LATEST + 1}",
        ),
    )
    with connect(tmp_path / "bot.sqlite3") as db:
        db.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(SchemaError, match=r"orphan reminder.*FOREIGN KEY"):
            migrate(db, (*SQLITE_MIGRATIONS, orphan))

        assert not db.in_transaction
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute("SELECT count(*) FROM reminders").fetchone()[0] == 0


def test_a_step_that_sqlite_rolls_back_itself_reports_its_own_error(tmp_path: Path) -> None:
    refused = Migration(
        LATEST + 1,
        "refused insert",
        (
            "CREATE TABLE notes (text TEXT)",
            "CREATE TRIGGER no_notes BEFORE INSERT ON notes BEGIN SELECT RAISE(ROLLBACK, 'no notes'); END",
            "INSERT INTO notes VALUES ('hello')",
        ),
    )
    with connect(tmp_path / "bot.sqlite3") as db:
        with pytest.raises(SchemaError, match=r"refused insert.*no notes"):
            migrate(db, (*SQLITE_MIGRATIONS, refused))

        assert not db.in_transaction
        assert migrate(db) == LATEST
        assert "notes" not in {row[0] for row in db.execute("SELECT name FROM sqlite_master")}


async def test_a_store_keeps_working_after_a_write_that_failed(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "bot.sqlite3") as store:
        await store.commit(Commit(chat_id=1, update_id=1), START)
        with pytest.raises(DuplicateUpdate):
            await store.commit(
                Commit(chat_id=1, update_id=1, conversation=None, outbox=[{"text": "x"}]), START
            )

        [message] = await store.commit(Commit(chat_id=1, update_id=2, outbox=[{"text": "hello"}]), START)
        assert await store.pending_outbox(10) == [message]
        await store.record_delivery(message.id, 1, None)
        assert await store.pending_outbox(10) == []
