"""Durable state: chats, conversations, reminders, processed updates, the outbox and funnel events."""

from bot.store.base import (
    ChatRecord,
    Commit,
    FlowEvent,
    FunnelStats,
    InboxUpdate,
    Journey,
    NewReminder,
    OutboxMessage,
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
    "ChatChanged",
    "ChatRecord",
    "Commit",
    "DuplicateUpdate",
    "FlowEvent",
    "FunnelStats",
    "InboxUpdate",
    "Journey",
    "NewReminder",
    "OutboxMessage",
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
