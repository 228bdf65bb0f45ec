"""Errors raised by the store.

StoreError                  the store's root (a bot.errors.BotError): anything it refuses or fails to do
├── DuplicateUpdate         the update was already processed; nothing was changed
├── ReminderGone            the reminder being consumed was cancelled or replaced meanwhile; nothing was changed
├── ChatChanged             the chat changed since it was loaded (another process); nothing was changed
└── SchemaError             the database cannot be brought to this code's schema version
"""

from __future__ import annotations

from bot.errors import BotError

__all__ = ["ChatChanged", "DuplicateUpdate", "ReminderGone", "SchemaError", "StoreError"]


class StoreError(BotError):
    """Something the store refused or failed to do."""


class DuplicateUpdate(StoreError):  # noqa: N818 the interface names what happened
    """The Telegram update was already committed; applying it again would repeat its effects."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was already processed")
        self.update_id = update_id


class ReminderGone(StoreError):  # noqa: N818 the interface names what happened
    """The reminder being consumed no longer exists: the conversation moved on, stopped or was forgotten."""

    def __init__(self, reminder_id: int) -> None:
        super().__init__(f"reminder {reminder_id} no longer exists")
        self.reminder_id = reminder_id


class ChatChanged(StoreError):  # noqa: N818 the interface names what happened
    """The chat was changed by another commit since it was loaded: load it again and redo the work."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"chat {chat_id} changed since it was loaded")
        self.chat_id = chat_id


class SchemaError(StoreError):
    """The database was written by a newer version of the bot, or a migration failed."""
