"""Moves a bot from its SQLite file to PostgreSQL: ``esim-bot migrate-store --from <file> --to <url>``.

Everything is copied in one PostgreSQL transaction: settings and conversations, pending reminders (with
their ids, so a reminder in flight is still consumed once), unsent messages, the funnel's events, the
update ids of the last two days (so an update Telegram delivers again is still applied once), the updates
still in the inbox (fetched from Telegram, not yet handled), the flow releases with the button meanings
of every version served (so buttons on people's screens keep working on PostgreSQL), and people's questions
to the operators (tickets, with a question not yet posted, and the lines owed to the support chat). The target must be empty unless ``overwrite`` is given. The bot must be stopped while it runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bot.store.columns import CHAT_COLUMNS, Column, Kind, from_sqlite
from bot.store.errors import StoreError
from bot.store.postgres import PostgresStore, to_postgres
from bot.store.sqlite import SqliteStore

__all__ = ["TargetNotEmptyError", "Transferred", "copy_sqlite_to_postgres"]


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
    inbox: int = 0
    releases: int = 0

    def __str__(self) -> str:
        return (
            f"{self.chats} chats ({self.conversations} conversations), {self.reminders} reminders, "
            f"{self.outbox} unsent messages, {self.events} funnel events, {self.updates} update ids, "
            f"{self.inbox} updates in the inbox, {self.releases} flow releases"
        )


@dataclass(frozen=True, slots=True)
class _Table:
    """A table copied as it is: its columns (the same names and kinds in both schemas), in a stable order."""

    name: str
    columns: tuple[Column, ...]
    order: str = "rowid"

    def select(self) -> str:
        return f"SELECT {', '.join(column.name for column in self.columns)} FROM {self.name} ORDER BY {self.order}"

    def insert(self) -> str:
        names = ", ".join(column.name for column in self.columns)
        return f"INSERT INTO {self.name} ({names}) VALUES ({', '.join('%s' for _ in self.columns)})"

    def converted(self, row: Sequence[object]) -> tuple[object, ...]:
        """Returns a row read from SQLite as PostgreSQL parameters: read the SQLite way, written the PostgreSQL way."""
        return tuple(
            to_postgres(column.kind, from_sqlite(column.kind, raw))
            for column, raw in zip(self.columns, row, strict=True)
        )


_MOMENT, _DOCUMENT = Kind.MOMENT, Kind.DOCUMENT
_CHATS = _Table("chats", CHAT_COLUMNS)
# In the order they are written: a reminder or a message needs its chat.
_TABLES = (
    _CHATS,
    _Table(
        "reminders",
        (
            Column("id"),
            Column("chat_id"),
            Column("name"),
            Column("due_at", _MOMENT),
            Column("sequence"),
            Column("attempts"),
        ),
    ),
    _Table(
        "outbox",
        (Column("id"), Column("chat_id"), Column("payload", _DOCUMENT), Column("created_at", _MOMENT)),
    ),
    _Table(
        "flow_events",
        (
            Column("chat_id"),
            Column("flow_id"),
            Column("flow_version"),
            Column("state"),
            Column("at", _MOMENT),
        ),
        order="id",
    ),
    _Table("processed_updates", (Column("update_id"), Column("processed_at", _MOMENT))),
    _Table("inbox", (Column("update_id"), Column("payload", _DOCUMENT), Column("received_at", _MOMENT))),
    _Table(
        "flow_releases",
        (
            Column("number"),
            Column("flow_id"),
            Column("version"),
            Column("digest"),
            Column("files"),
            Column("published_at", _MOMENT),
        ),
        order="number",
    ),
    _Table(
        "flow_versions",
        (Column("flow_id"), Column("version"), Column("meanings"), Column("served_at", _MOMENT)),
    ),
    # People's questions to the operators, open or closed, and which of their messages were relayed.
    _Table(
        "tickets",
        (
            Column("id"),
            Column("chat_id"),
            Column("language"),
            Column("opened_at", _MOMENT),
            Column("support_message_id"),
            Column("topic_id"),
            Column("answered_at", _MOMENT),
            Column("closed_at", _MOMENT),
        ),
        order="id",
    ),
    _Table(
        "ticket_messages",
        (
            Column("ticket_id"),
            Column("direction"),
            Column("source_message_id"),
            Column("copy_id"),
            Column("at", _MOMENT),
            # A question not yet posted in the support chat keeps its text until it is: copied too, so
            # that the PostgreSQL instances post it.
            Column("text"),
        ),
    ),
    # The bot's lines owed to the support chat, not yet said there.
    _Table(
        "support_notices",
        (Column("id"), Column("ticket_id"), Column("kind"), Column("topic_id")),
        order="id",
    ),
)
# New rows continue after the copied ids, never reusing one (SQLite never does, even of a deleted row).
_SEQUENCES = (
    ("reminders", "id", "'reminders_id_seq'"),
    ("outbox", "id", "pg_get_serial_sequence('outbox', 'id')"),
    ("flow_releases", "number", "pg_get_serial_sequence('flow_releases', 'number')"),
    ("tickets", "id", "pg_get_serial_sequence('tickets', 'id')"),
    ("support_notices", "id", "pg_get_serial_sequence('support_notices', 'id')"),
)


def _require_file(source: Path) -> None:
    if not source.is_file():
        raise StoreError(f"{source} does not exist")


def _read(source: Path) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, int]]:
    """Returns every row of every copied table of the SQLite file, and the last id each table issued."""
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        rows = {table.name: db.execute(table.select()).fetchall() for table in _TABLES}
        issued = dict(db.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    return rows, issued


async def _make_room(connection: psycopg.AsyncConnection[Any], overwrite: bool) -> None:
    """Empties the target when told to; otherwise refuses one that holds anything of a bot."""
    names = ", ".join(table.name for table in _TABLES)
    await connection.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
    if overwrite:
        await connection.execute(f"TRUNCATE {names}")
        return
    held = " OR ".join(f"EXISTS (SELECT FROM {table.name})" for table in _TABLES)
    row = await (await connection.execute(f"SELECT {held}")).fetchone()
    if row is not None and row[0]:
        raise TargetNotEmptyError(
            "the PostgreSQL database already holds a bot's data; "
            "pass --overwrite to replace it with the SQLite file's"
        )


async def copy_sqlite_to_postgres(source: Path, target: str, *, overwrite: bool = False) -> Transferred:
    """Copies every row of the SQLite file ``source`` into the PostgreSQL database ``target``."""
    _require_file(source)
    # Opening each store brings its schema up to date, so both sides have the columns read below.
    async with SqliteStore(source):
        pass
    async with PostgresStore(target, max_connections=1):
        pass
    rows, issued = _read(source)
    connect = psycopg.AsyncConnection.connect
    async with await connect(target, autocommit=True) as connection, connection.transaction():
        await _make_room(connection, overwrite)
        async with connection.cursor() as cursor:
            for table in _TABLES:
                await cursor.executemany(table.insert(), [table.converted(row) for row in rows[table.name]])
        for table_name, column, sequence in _SEQUENCES:
            await connection.execute(
                f"SELECT setval({sequence}, greatest((SELECT max({column}) FROM {table_name}), %s, 0) + 1, false)",
                (issued.get(table_name, 0),),
            )
    conversation = [column.name for column in CHAT_COLUMNS].index("conversation")
    return Transferred(
        chats=len(rows["chats"]),
        conversations=sum(1 for chat in rows["chats"] if chat[conversation] is not None),
        reminders=len(rows["reminders"]),
        outbox=len(rows["outbox"]),
        events=len(rows["flow_events"]),
        updates=len(rows["processed_updates"]),
        inbox=len(rows["inbox"]),
        releases=len(rows["flow_releases"]),
    )
