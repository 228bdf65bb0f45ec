"""The stored rows described once: each column's name and kind, and how each backend keeps a kind.

The chats table is written by every commit and read by every load, on both backends; ``migrate-store`` copies
every table from SQLite to PostgreSQL. All three read this module: a commit's columns come from
:func:`written`, a loaded row becomes a :class:`ChatRecord` in :func:`chat_record`, the upsert and the load are
the same SQL text (:func:`upsert_sql`, :func:`load_sql`), and a copied value is read the SQLite way and
written the PostgreSQL way (:func:`from_sqlite`, ``bot.store.postgres.to_postgres``, kept there so that a
bot on SQLite never loads the PostgreSQL driver). A new column is one line here and a
schema step per backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from functools import cache
from types import MappingProxyType
from typing import TypeVar

from bot.store.base import ChatRecord, Commit, StoredConversation, UserSettings, require_aware
from bot.store.codec import conversation_data, stored_conversation

__all__ = [
    "CHAT_COLUMNS",
    "Column",
    "Kind",
    "after_commit",
    "after_delivery",
    "as_conversation",
    "as_document",
    "chat_record",
    "from_sqlite",
    "load_sql",
    "to_sqlite",
    "upsert_sql",
    "written",
]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Kind(Enum):
    """What a column holds, as Python sees it; each backend keeps each kind its own way."""

    PLAIN = "plain"
    """Text or an integer: the same on both backends."""
    FLAG = "flag"
    """A bool: SQLite's 0 or 1, PostgreSQL's BOOLEAN."""
    CLOCK = "clock"
    """A time of day: SQLite's ISO text, PostgreSQL's TIME."""
    MOMENT = "moment"
    """An aware datetime: SQLite's microseconds since the epoch (UTC), PostgreSQL's TIMESTAMPTZ."""
    CONVERSATION = "conversation"
    """A :class:`StoredConversation`: JSON text on SQLite, JSONB on PostgreSQL."""
    DOCUMENT = "document"
    """A JSON object (an outbox payload, an update): JSON text on SQLite, JSONB on PostgreSQL."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name in both schemas, and its kind."""

    name: str
    kind: Kind = Kind.PLAIN


CHAT_COLUMNS: tuple[Column, ...] = (
    Column("chat_id"),
    Column("language"),
    Column("timezone"),
    Column("quiet_start", Kind.CLOCK),
    Column("quiet_end", Kind.CLOCK),
    Column("reminders_stopped", Kind.FLAG),
    Column("blocked", Kind.FLAG),
    Column("timezone_asked_at", Kind.MOMENT),
    Column("timezone_chosen", Kind.FLAG),
    Column("conversation", Kind.CONVERSATION),
    Column("screen_message_id"),
    Column("reminder_message_id"),
    Column("updated_at", Kind.MOMENT),
    Column("version"),
)
"""Every column of a chat that a commit writes or a load reads (the outbox claim is the outbox's own)."""

_CHAT_KINDS = {column.name: column.kind for column in CHAT_COLUMNS}


def _micros(moment: datetime) -> int:
    require_aware(moment, "a stored moment")
    return (moment - _EPOCH) // _MICROSECOND


def _json(value: Mapping[str, object]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def as_conversation(value: object) -> StoredConversation:
    """Returns ``value``, a conversation; raises TypeError for anything else."""
    if not isinstance(value, StoredConversation):
        raise TypeError(f"not a stored conversation: {value!r}")
    return value


def as_document(value: object) -> Mapping[str, object]:
    """Returns ``value``, a JSON object; raises TypeError for anything else."""
    if not isinstance(value, Mapping):
        raise TypeError(f"not a JSON object: {value!r}")
    return value


_TO_SQLITE: dict[Kind, Callable[[object], object]] = {
    Kind.PLAIN: lambda value: value,
    Kind.FLAG: lambda value: int(bool(value)),
    Kind.CLOCK: lambda value: value.isoformat() if isinstance(value, time) else str(value),
    Kind.MOMENT: lambda value: _micros(value) if isinstance(value, datetime) else value,
    Kind.CONVERSATION: lambda value: _json(conversation_data(as_conversation(value))),
    Kind.DOCUMENT: lambda value: _json(as_document(value)),
}
_FROM_SQLITE: dict[Kind, Callable[[object], object]] = {
    Kind.PLAIN: lambda raw: raw,
    Kind.FLAG: bool,
    Kind.CLOCK: lambda raw: time.fromisoformat(str(raw)),
    Kind.MOMENT: lambda raw: _EPOCH + int(str(raw)) * _MICROSECOND,
    Kind.CONVERSATION: lambda raw: stored_conversation(json.loads(str(raw))),
    Kind.DOCUMENT: lambda raw: MappingProxyType(json.loads(str(raw))),
}


def to_sqlite(kind: Kind, value: object) -> object:
    """Returns a value as SQLite keeps it (None stays None)."""
    return None if value is None else _TO_SQLITE[kind](value)


def from_sqlite(kind: Kind, raw: object) -> object:
    """Returns a value SQLite kept, as Python sees it (None stays None)."""
    return None if raw is None else _FROM_SQLITE[kind](raw)


def _settings_columns(settings: UserSettings) -> dict[str, object]:
    return {
        "language": settings.language,
        "timezone": settings.timezone,
        "quiet_start": settings.quiet_start,
        "quiet_end": settings.quiet_end,
        "reminders_stopped": settings.reminders_stopped,
        "blocked": settings.blocked,
        "timezone_asked_at": settings.timezone_asked_at,
        "timezone_chosen": settings.timezone_chosen,
    }


def written(commit: Commit, now: datetime, store: Callable[[Kind, object], object]) -> dict[str, object]:
    """Returns the chat columns ``commit`` writes, each value as ``store`` (a backend's ``to_...``) keeps it."""
    values: dict[str, object] = {"chat_id": commit.chat_id, "updated_at": now}
    if commit.settings is not None:
        values |= _settings_columns(commit.settings)
    if commit.conversation is not None:
        values["conversation"] = commit.conversation
    if commit.delete_conversation:
        values |= {"conversation": None, "screen_message_id": None, "reminder_message_id": None}
    if commit.screen_message_id is not None:
        values["screen_message_id"] = commit.screen_message_id
    return {name: store(_CHAT_KINDS[name], value) for name, value in values.items()}


def chat_record(row: Sequence[object], read: Callable[[Kind, object], object]) -> ChatRecord:
    """Returns the chat a :func:`load_sql` row holds, each value read as ``read`` (a backend's ``from_...``) says."""
    values = {column.name: read(column.kind, raw) for column, raw in zip(CHAT_COLUMNS, row, strict=True)}
    chat_id = int(str(values["chat_id"]))
    asked = values["timezone_asked_at"]
    settings = UserSettings(
        chat_id=chat_id,
        language=None if values["language"] is None else str(values["language"]),
        timezone=str(values["timezone"]),
        quiet_start=_typed(values["quiet_start"], time),
        quiet_end=_typed(values["quiet_end"], time),
        reminders_stopped=bool(values["reminders_stopped"]),
        blocked=bool(values["blocked"]),
        timezone_asked_at=None if asked is None else _typed(asked, datetime),
        timezone_chosen=bool(values["timezone_chosen"]),
    )
    conversation = values["conversation"]
    return ChatRecord(
        settings=settings,
        conversation=None if conversation is None else _typed(conversation, StoredConversation),
        screen_message_id=_optional_int(values["screen_message_id"]),
        updated_at=_typed(values["updated_at"], datetime),
        reminder_message_id=_optional_int(values["reminder_message_id"]),
        version=int(str(values["version"])),
    )


def after_commit(before: ChatRecord | None, commit: Commit, now: datetime) -> ChatRecord | None:
    """Returns what :func:`load_sql` reads once ``commit`` is applied on ``before``, the chat as it stood at
    ``commit.expected_version`` (None: never seen), without asking the store; None when that cannot be told
    (no expected version, or a new chat whose settings the commit leaves to the schema's defaults).

    The store applies a commit as :func:`written` says and counts one version: the same here, so a record kept
    in memory is the row as stored (tests/store/test_records_after.py compares both on every backend).
    """
    if commit.expected_version is None or commit.expected_version != (
        0 if before is None else before.version
    ):
        return None
    if before is None:
        if commit.settings is None:
            return None
        values: dict[str, object] = {
            "conversation": None,
            "screen_message_id": None,
            "reminder_message_id": None,
        }
    else:
        values = _settings_columns(before.settings) | {
            "conversation": before.conversation,
            "screen_message_id": before.screen_message_id,
            "reminder_message_id": before.reminder_message_id,
        }
    values |= written(commit, now, lambda _kind, value: value)
    conversation = values["conversation"]
    if conversation is not None:
        # As a load reads it back: the codec's own types, whatever the engine handed over.
        values["conversation"] = stored_conversation(conversation_data(as_conversation(conversation)))
    values["version"] = commit.expected_version + 1
    return chat_record([values[column.name] for column in CHAT_COLUMNS], lambda _kind, value: value)


def after_delivery(
    record: ChatRecord, screen_message_id: int | None, reminder_message_id: int | None
) -> ChatRecord:
    """Returns ``record`` once a delivery recorded the message now showing its screen or its latest reminder:
    each given one replaces the old, and either counts one more version (bot/store/base.py)."""
    if screen_message_id is None and reminder_message_id is None:
        return record
    return replace(
        record,
        screen_message_id=record.screen_message_id if screen_message_id is None else screen_message_id,
        reminder_message_id=record.reminder_message_id
        if reminder_message_id is None
        else reminder_message_id,
        version=record.version + 1,
    )


def _typed(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


@cache
def upsert_sql(columns: tuple[str, ...], placeholder: str) -> str:
    """Returns the upsert of a chat's ``columns``, parameters named as ``placeholder`` (``:{}`` or ``%({})s``)
    says; every write counts one more version of the chat."""
    for name in columns:
        if name not in _CHAT_KINDS:
            raise ValueError(f"not a chat column: {name!r}")  # names come from written(), never from data
    names = ", ".join(columns)
    values = ", ".join(placeholder.format(name) for name in columns)
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns if name != "chat_id")
    return (
        f"INSERT INTO chats ({names}) VALUES ({values}) "
        f"ON CONFLICT (chat_id) DO UPDATE SET {updates}, version = chats.version + 1"
    )


def load_sql(placeholder: str) -> str:
    """Returns the query of one chat's row, by chat id given as ``placeholder``, in :data:`CHAT_COLUMNS`' order."""
    return (
        f"SELECT {', '.join(column.name for column in CHAT_COLUMNS)} FROM chats WHERE chat_id = {placeholder}"
    )
