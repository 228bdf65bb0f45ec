"""The unit for a reminder that fell due."""

from __future__ import annotations

from datetime import timedelta

from bot.engine import ScheduleReminder
from bot.runtime.chat import Chat, Result, anew, step_result, stripped
from bot.runtime.messages import OutgoingMessage, wired
from bot.store import Reminder

__all__ = ["reminder_due"]


def reminder_due(chat: Chat, reminder: Reminder) -> Result | None:
    """Sends the reminder and schedules the next, waits for the morning (or for reminders to be turned
    back on), or returns None to drop it.

    A reminder shows the step anew: the screen and the previous reminder lose their buttons (and the
    step counts one more, so theirs are old even where Telegram no longer lets the bot take them off).
    """
    conversation = chat.conversation
    if conversation is None:
        return None
    step = chat.engine.reminder_due(conversation, reminder.name, reminder.sequence)
    if step is None:
        return None  # the conversation moved on
    if chat.settings.reminders_stopped:
        # Claimed just before /stop: kept as it was, unsent, for when reminders are turned back on.
        kept = ScheduleReminder(reminder.name, reminder.due_at - chat.now, reminder.sequence)
        return Result(chat.settings, conversation).adding((kept,))
    if chat.settings.sendable_from(chat.now) > chat.now:
        # It fell due while the bot was down: the same reminder again, which the commit puts after the
        # quiet hours like any other.
        later = ScheduleReminder(reminder.name, timedelta(0), reminder.sequence)
        return Result(chat.settings, conversation).adding((later,))
    if step.conversation.state != conversation.state:
        return step_result(chat, step, edit=None)  # the last one: the conversation moves on, shown anew
    sent = anew(chat)
    screen = wired(step.screen)
    message = OutgoingMessage(chat.id, screen.text, screen.rows, shows_reminder=True)
    messages = (*stripped(sent, keep=None), message)
    return Result(sent.settings, sent.conversation, messages).adding(step.effects)
