"""The root of every error the bot itself raises, so that a caller can catch all of them at once.

Each area keeps its errors beside its code and derives them from :class:`BotError`::

    BotError                      the root: the bot refused or failed to do something
    ├── FlowError                 bot.flows.errors: a flow version or its texts
    │   └── FlowValidationError   a flow or its texts failed to load (every problem listed)
    ├── StoreError                bot.store.errors: anything the store refuses or fails to do
    │   ├── DuplicateUpdate       the update was already processed; nothing was changed
    │   ├── ReminderGone          the reminder being consumed was cancelled or replaced meanwhile
    │   ├── ChatChanged           the chat changed since it was loaded (another process)
    │   ├── SchemaError           the database cannot be brought to this code's schema version
    │   └── TargetNotEmptyError   bot.store.transfer: migrate-store's target already holds data
    ├── CallbackDataTooLong       bot.callbacks: over Telegram's 64 bytes (also a ValueError)
    ├── StartupError              bot.startup: the bot cannot start (one line for the operator)
    ├── MissingTokenError         bot.settings: no bot token was configured
    ├── RemindersNeverStop        bot.simulated: a simulated wait saw more reminders than a flow sends
    └── NotRunning                bot.control: no running bot was found for this database

This module imports nothing of the bot: every layer can derive from it.
"""

from __future__ import annotations

__all__ = ["BotError"]


class BotError(Exception):
    """Something the bot refused or failed to do; its message is meant for an operator."""
