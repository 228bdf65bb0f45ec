"""Durable state: chats, conversations, reminders, processed updates, the outbox and funnel events."""

from bot.store.base import (
    ChatRecord,
    Commit,
    FlowEvent,
    FunnelStats,
    InboxUpdate,
    NewReminder,
    OutboxMessage,
    Reminder,
    Standing,
    StateCount,
    Store,
    StoredConversation,
    UserSettings,
)
from bot.store.errors import DuplicateUpdate, ReminderGone, SchemaError, StoreError
from bot.store.sqlite import SqliteStore

__all__ = [
    "ChatRecord",
    "Commit",
    "DuplicateUpdate",
    "FlowEvent",
    "FunnelStats",
    "InboxUpdate",
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
]
