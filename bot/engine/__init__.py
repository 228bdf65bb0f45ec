"""The flow engine: advances conversations through a compiled flow. Knows nothing of Telegram."""

from bot.engine.conversation import (
    CancelReminders,
    Conversation,
    Effect,
    Ended,
    EnteredState,
    ScheduleReminder,
)

__all__ = [
    "CancelReminders",
    "Conversation",
    "Effect",
    "Ended",
    "EnteredState",
    "ScheduleReminder",
]
