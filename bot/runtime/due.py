"""The unit for a reminder that fell due."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.engine import ScheduleReminder
from bot.runtime.chat import Chat, Result, step_result
from bot.runtime.messages import OutgoingMessage
from bot.store import Reminder

__all__ = ["reminder_due"]


def reminder_due(chat: Chat, reminder: Reminder) -> Result | None:
    """Sends the reminder and schedules the next, waits for the morning, or returns None to drop it.

    The previous reminder loses its buttons: only the latest one can be answered.
    """
    conversation = chat.conversation
    if conversation is None or chat.settings.reminders_stopped:
        return None
    step = chat.engine.reminder_due(conversation, reminder.name, reminder.sequence)
    if step is None:
        return None  # the conversation moved on
    if chat.settings.sendable_from(chat.now) > chat.now:
        # It fell due while the bot was down: the same reminder again, which the commit puts after the
        # quiet hours like any other.
        later = ScheduleReminder(reminder.name, timedelta(0), reminder.sequence)
        return Result(chat.settings, conversation).adding((later,))
    moved = step.conversation.state != conversation.state
    result = step_result(chat, step, edit=None, shows_screen=moved)
    messages = tuple(replace(m, shows_reminder=not moved) for m in result.messages)
    if chat.reminder_id is not None:
        messages = (OutgoingMessage.stripping(chat.id, chat.reminder_id), *messages)
    return replace(result, messages=messages)
