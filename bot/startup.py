"""What the bot checks before it starts: each problem becomes one line that says what to fix."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from bot.errors import BotError
from bot.settings import Settings
from bot.store import SchemaError, SqliteStore, Store, is_postgres_url, sqlite_path
from bot.store.url import DatabaseUrlError, checked_postgres_url

__all__ = ["PRIVATE_FOLDER", "StartupError", "database_for_run", "opened_store", "webhook_secret"]


PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


class StartupError(BotError):
    """The bot cannot start (or go on): the message is one line telling the operator what to fix."""


def database_for_run(settings: Settings) -> str | Path:
    """Returns the database to run with: a PostgreSQL URL as it is, or the SQLite file, creating the default
    folder (an explicit one must exist)."""
    if is_postgres_url(settings.database):
        return _checked(settings.database)
    path = sqlite_path(settings.database)
    if "database" not in settings.model_fields_set:
        # data/ is git-ignored, so a fresh clone has no such folder; the default is ours to create.
        try:
            path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror}"
            ) from exc
    return path


@asynccontextmanager
async def opened_store(database: str | Path) -> AsyncIterator[Store]:
    """Opens the store ``database`` names; one it cannot open raises StartupError with the reason."""
    if is_postgres_url(database):
        async with _opened_postgres(str(database)) as store:
            yield store
        return
    path = sqlite_path(database)
    _probe(path)
    store = SqliteStore(path)
    try:
        await store.open()
    except (sqlite3.Error, OSError, SchemaError) as exc:
        raise StartupError(database_problem(path, exc)) from exc
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _opened_postgres(url: str) -> AsyncIterator[Store]:
    import psycopg
    import psycopg_pool

    from bot.store.postgres import PostgresStore

    store = PostgresStore(_checked(url))
    try:
        await store.open()
    except (psycopg.Error, psycopg_pool.PoolTimeout, SchemaError) as exc:
        # The URL may hold a password: the message names the setting, never its value.
        raise StartupError(f"cannot open the PostgreSQL database of BOT_DATABASE: {exc}") from exc
    try:
        yield store
    finally:
        await store.close()


def _checked(url: str) -> str:
    """Returns a PostgreSQL URL psycopg can read; raises StartupError naming what is wrong, password masked."""
    try:
        return checked_postgres_url(url)
    except DatabaseUrlError as exc:
        raise StartupError(f"cannot use {exc}") from None


def _create_private(path: Path) -> None:
    """Creates the database file readable by the bot's user only, unless it exists: it holds conversations.

    SQLite gives the -wal and -shm files beside it the same mode.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _probe(path: Path) -> None:
    """Opens the file once with the standard library, which fails cleanly where aiosqlite's thread would not."""
    try:
        _create_private(path)
    except OSError as exc:
        raise StartupError(database_problem(path, exc)) from exc
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise StartupError(database_problem(path, exc)) from exc
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise StartupError(database_problem(path, exc)) from exc
    finally:
        connection.close()


def database_problem(path: Path, error: BaseException) -> str:
    """Explains in one line why the database at ``path`` could not be opened."""
    where = f"cannot open the database {path} (BOT_DATABASE)"
    folder = path.parent
    if isinstance(error, SchemaError):
        return f"{where}: {error}"
    if path.is_dir():
        return f"{where}: it is a folder; BOT_DATABASE names the file, e.g. {path / 'esim-bot.sqlite3'}"
    if not folder.exists():
        return f"{where}: the folder {folder} does not exist (create it, or set BOT_DATABASE to another path)"
    if not folder.is_dir():
        return f"{where}: {folder} is a file, not a folder"
    refused = _refusal(path)
    denied = refused in (errno.EACCES, errno.EPERM, errno.EROFS)
    if denied or not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"{where}: permission denied; the bot must be able to write the file and its folder "
            "(SQLite keeps a journal beside it)"
        )
    if refused is not None:
        return f"{where}: {os.strerror(refused)}"
    if isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error):
        return f"{where}: the file is not an SQLite database (another file has this name?)"
    return f"{where}: {error}"


def _refusal(path: Path) -> int | None:
    """Returns the error number the system gives for opening ``path`` to write, or None if it can be."""
    existed = path.exists()
    try:
        descriptor = os.open(path, os.O_RDWR if existed else os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return exc.errno
    os.close(descriptor)
    if not existed:
        path.unlink()  # only made to ask the question
    return None


# What Telegram accepts as a webhook's secret_token (Bot API, setWebhook).
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def webhook_secret(settings: Settings) -> str | None:
    """Returns the webhook secret from BOT_WEBHOOK_SECRET or the file BOT_WEBHOOK_SECRET_FILE names, or None."""
    given = settings.webhook_secret.get_secret_value().strip() if settings.webhook_secret else ""
    path = settings.webhook_secret_file
    if given and path is not None:
        raise StartupError("set BOT_WEBHOOK_SECRET or BOT_WEBHOOK_SECRET_FILE, not both")
    if path is not None:
        try:
            given = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise StartupError(
                f"cannot read the webhook secret from {path} (BOT_WEBHOOK_SECRET_FILE): {why}"
            ) from exc
    if not given:
        return None
    if not _SECRET_TOKEN.fullmatch(given):
        where = "BOT_WEBHOOK_SECRET_FILE" if path is not None else "BOT_WEBHOOK_SECRET"
        raise StartupError(
            f"the webhook secret ({where}) must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)"
        )
    return given
