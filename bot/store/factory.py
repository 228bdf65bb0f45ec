"""Chooses the store from the database setting: a PostgreSQL URL, or else an SQLite file."""

from __future__ import annotations

from pathlib import Path

from bot.store.base import Store

__all__ = ["is_postgres_url", "local_folder", "open_store", "sqlite_path"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_SCHEME = "sqlite:///"


def is_postgres_url(database: str | Path) -> bool:
    """Tells whether the setting names a PostgreSQL database."""
    return str(database).startswith(_POSTGRES_SCHEMES)


def sqlite_path(database: str | Path) -> Path:
    """Returns the file an SQLite setting names: a plain path, or ``sqlite:///path``."""
    text = str(database)
    return Path(text.removeprefix(_SQLITE_SCHEME)) if text.startswith(_SQLITE_SCHEME) else Path(text)


def local_folder(database: str | Path) -> Path:
    """Returns the folder of this instance's own files (pid file, flow history): the SQLite file's folder,
    or ``data/`` in the working folder for PostgreSQL, which has no folder of its own here."""
    return Path("data") if is_postgres_url(database) else sqlite_path(database).parent


def open_store(database: str | Path) -> Store:
    """Returns an unopened store for ``BOT_DATABASE``: ``postgresql://...`` or an SQLite path."""
    if is_postgres_url(database):
        # Imported here so that a bot on SQLite never loads the PostgreSQL driver.
        from bot.store.postgres import PostgresStore
        from bot.store.url import checked_postgres_url

        return PostgresStore(checked_postgres_url(str(database)))
    from bot.store.sqlite import SqliteStore

    return SqliteStore(sqlite_path(database))
