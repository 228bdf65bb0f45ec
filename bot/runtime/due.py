"""The unit for a reminder that fell due."""

from __future__ import annotations

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
    morning = chat.settings.sendable_from(chat.now)
    if morning > chat.now:
        # It fell due in the quiet hours (while the bot was down, or kept at its plain moment while the
        # zone was not known): the same reminder again, when they end.
        later = ScheduleReminder(reminder.name, morning - chat.now, reminder.sequence)
        return Result(chat.settings, conversation).adding((later,))
    if step.conversation.state != conversation.state:
        return step_result(chat, step, edit=None)  # the last one: the conversation moves on, shown anew
    sent = anew(chat)
    screen = wired(step.screen)
    message = OutgoingMessage(chat.id, screen.text, screen.rows, shows_reminder=True)
    messages = (*stripped(sent, keep=None), message)
    return Result(sent.settings, sent.conversation, messages).adding(step.effects)
