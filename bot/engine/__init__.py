"""The flow engine: advances conversations through a compiled flow. Knows nothing of Telegram.

Three parts, one job each: :mod:`~bot.engine.compiling` turns a flow version into one shared machine,
:mod:`~bot.engine.engine` steps conversations on it (taking presses decoded), and
:mod:`~bot.engine.rendering` shows them as :mod:`~bot.engine.screens`.
"""

from bot.engine.conversation import (
    CancelReminders,
    Conversation,
    Effect,
    Ended,
    EnteredState,
    KeptReminder,
    ScheduleReminder,
)

__all__ = [
    "CancelReminders",
    "Conversation",
    "Effect",
    "Ended",
    "EnteredState",
    "KeptReminder",
    "ScheduleReminder",
]
