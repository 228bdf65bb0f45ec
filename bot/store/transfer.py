"""Moves a bot from its SQLite file to PostgreSQL: ``esim-bot migrate-store --from <file> --to <url>``.

Everything is copied in one PostgreSQL transaction: settings and conversations, pending reminders (with
their ids, so a reminder in flight is still consumed once), unsent messages, the funnel's events and
the update ids of the last two days (so an update Telegram delivers again is still applied once). The
target must be empty unless ``overwrite`` is given. The bot must be stopped while it runs.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bot.store.errors import StoreError
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore

__all__ = ["TargetNotEmptyError", "Transferred", "copy_sqlite_to_postgres"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TABLES = ("chats", "reminders", "outbox", "flow_events", "processed_updates", "tickets", "ticket_messages")
_TICKET_COLUMNS = "id, chat_id, language, opened_at, support_message_id, topic_id, answered_at, closed_at"
_TICKET_MESSAGE_COLUMNS = "ticket_id, direction, source_message_id, copy_id, at"


class TargetNotEmptyError(StoreError):
    """The PostgreSQL database already holds a bot's data; copying would mix two bots."""


@dataclass(frozen=True, slots=True)
class Transferred:
    """How many rows of each kind were copied."""

    chats: int
    conversations: int
    reminders: int
    outbox: int
    events: int
    updates: int

    def __str__(self) -> str:
        return (
            f"{self.chats} chats ({self.conversations} conversations), {self.reminders} reminders, "
            f"{self.outbox} unsent messages, {self.events} funnel events, {self.updates} update ids"
        )


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _same(value: object) -> object:
    return value


def _time(value: object) -> object:
    return time.fromisoformat(str(value))


def _flag(value: object) -> object:
    return bool(value)


def _stored_moment(value: object) -> object:
    return None if value is None else _EPOCH + timedelta(microseconds=int(str(value)))


# Every column of a chat, in both schemas; how an SQLite value becomes a PostgreSQL one where they differ.
_CHAT_COLUMNS = (
    "chat_id",
    "language",
    "timezone",
    "quiet_start",
    "quiet_end",
    "reminders_stopped",
    "blocked",
    "timezone_asked_at",
    "timezone_chosen",
    "conversation",
    "screen_message_id",
    "reminder_message_id",
    "updated_at",
    "version",
)
_CHAT_CONVERSIONS = {
    "quiet_start": _time,
    "quiet_end": _time,
    "reminders_stopped": _flag,
    "blocked": _flag,
    "timezone_chosen": _flag,
    "timezone_asked_at": _stored_moment,
    "updated_at": _stored_moment,
}
_CHAT_VALUES = {"conversation": "%s::jsonb"}


def _require_file(source: Path) -> None:
    if not source.is_file():
        raise StoreError(f"{source} does not exist")


async def _copy_tickets(
    cursor: psycopg.AsyncCursor[Any], tickets: list[tuple[Any, ...]], messages: list[tuple[Any, ...]]
) -> None:
    """Copies people's open and closed tickets, and which of their messages were relayed."""
    await cursor.executemany(
        f"INSERT INTO tickets ({_TICKET_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (tid, chat, language, _moment(opened), post, topic, _moment(answered), _moment(closed))
            for tid, chat, language, opened, post, topic, answered, closed in tickets
        ],
    )
    await cursor.executemany(
        f"INSERT INTO ticket_messages ({_TICKET_MESSAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
        [(tid, direction, source, copy, _moment(at)) for tid, direction, source, copy, at in messages],
    )


async def copy_sqlite_to_postgres(source: Path, target: str, *, overwrite: bool = False) -> Transferred:
    """Copies every row of the SQLite file ``source`` into the PostgreSQL database ``target``."""
    _require_file(source)
    # Opening each store brings its schema up to date, so both sides have the columns read below.
    async with SqliteStore(source):
        pass
    async with PostgresStore(target, max_connections=1):
        pass
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        chats = db.execute(f"SELECT {', '.join(_CHAT_COLUMNS)} FROM chats").fetchall()
        reminders = db.execute(
            "SELECT id, chat_id, name, due_at, sequence, attempts FROM reminders"
        ).fetchall()
        outbox = db.execute("SELECT id, chat_id, payload, created_at FROM outbox").fetchall()
        events = db.execute(
            "SELECT chat_id, flow_id, flow_version, state, at FROM flow_events ORDER BY id"
        ).fetchall()
        updates = db.execute("SELECT update_id, processed_at FROM processed_updates").fetchall()
        # SQLite never reuses an id (AUTOINCREMENT), even of a deleted row: neither does the copy.
        issued = dict(db.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        tickets = db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets").fetchall()
        ticket_messages = db.execute(f"SELECT {_TICKET_MESSAGE_COLUMNS} FROM ticket_messages").fetchall()
    connect = psycopg.AsyncConnection.connect
    async with await connect(target, autocommit=True) as connection, connection.transaction():
        await connection.execute("LOCK TABLE chats, processed_updates, flow_events IN EXCLUSIVE MODE")
        if overwrite:
            await connection.execute(f"TRUNCATE {', '.join(_TABLES)}")
        else:
            cursor = await connection.execute(
                "SELECT EXISTS (SELECT FROM chats) OR EXISTS (SELECT FROM flow_events)"
                " OR EXISTS (SELECT FROM processed_updates)"
            )
            row = await cursor.fetchone()
            if row is not None and row[0]:
                raise TargetNotEmptyError(
                    "the PostgreSQL database already holds a bot's data; "
                    "pass --overwrite to replace it with the SQLite file's"
                )
        async with connection.cursor() as cursor:
            await cursor.executemany(
                f"INSERT INTO chats ({', '.join(_CHAT_COLUMNS)})"
                f" VALUES ({', '.join(_CHAT_VALUES.get(column, '%s') for column in _CHAT_COLUMNS)})",
                [
                    tuple(
                        _CHAT_CONVERSIONS.get(name, _same)(value)
                        for name, value in zip(_CHAT_COLUMNS, chat, strict=True)
                    )
                    for chat in chats
                ],
            )
            await cursor.executemany(
                "INSERT INTO reminders (id, chat_id, name, due_at, sequence, attempts)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (rid, chat, name, _moment(due), seq, tries)
                    for rid, chat, name, due, seq, tries in reminders
                ],
            )
            await cursor.executemany(
                "INSERT INTO outbox (id, chat_id, payload, created_at) VALUES (%s, %s, %s::jsonb, %s)",
                [(mid, chat, payload, _moment(created)) for mid, chat, payload, created in outbox],
            )
            await cursor.executemany(
                "INSERT INTO flow_events (chat_id, flow_id, flow_version, state, at) VALUES (%s, %s, %s, %s, %s)",
                [(chat, flow, version, state, _moment(at)) for chat, flow, version, state, at in events],
            )
            await cursor.executemany(
                "INSERT INTO processed_updates (update_id, processed_at) VALUES (%s, %s)",
                [(update_id, _moment(at)) for update_id, at in updates],
            )
            await _copy_tickets(cursor, tickets, ticket_messages)
        # New reminders, messages and tickets continue after the copied ids, never reusing one.
        for table, sequence in (
            ("reminders", "'reminders_id_seq'"),
            ("outbox", "pg_get_serial_sequence('outbox', 'id')"),
            ("tickets", "pg_get_serial_sequence('tickets', 'id')"),
        ):
            await connection.execute(
                f"SELECT setval({sequence}, greatest((SELECT max(id) FROM {table}), %s, 0) + 1, false)",
                (issued.get(table, 0),),
            )
    return Transferred(
        chats=len(chats),
        conversations=sum(1 for chat in chats if chat[_CHAT_COLUMNS.index("conversation")] is not None),
        reminders=len(reminders),
        outbox=len(outbox),
        events=len(events),
        updates=len(updates),
    )
