"""Durable state: chats, conversations, reminders, processed updates, the outbox and funnel events."""

from bot.store.base import (
    KEPT_RELEASES,
    ChatRecord,
    Commit,
    FlowEvent,
    FlowRelease,
    FunnelStats,
    InboxUpdate,
    NewReminder,
    OutboxMessage,
    ReleaseHead,
    Reminder,
    Standing,
    StateCount,
    Store,
    StoredConversation,
    UserSettings,
)
from bot.store.errors import ChatChanged, DuplicateUpdate, ReminderGone, SchemaError, StoreError
from bot.store.factory import is_postgres_url, local_folder, open_store, sqlite_path
from bot.store.sqlite import SqliteStore

__all__ = [
    "KEPT_RELEASES",
    "ChatChanged",
    "ChatRecord",
    "Commit",
    "DuplicateUpdate",
    "FlowEvent",
    "FlowRelease",
    "FunnelStats",
    "InboxUpdate",
    "NewReminder",
    "OutboxMessage",
    "ReleaseHead",
    "Reminder",
    "ReminderGone",
    "SchemaError",
    "SqliteStore",
    "Standing",
    "StateCount",
    "Store",
    "StoreError",
    "StoredConversation",
    "UserSettings",
    "is_postgres_url",
    "local_folder",
    "open_store",
    "sqlite_path",
]
