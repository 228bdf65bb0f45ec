"""One unit per kind of button: flow screens, reminders, and the language, time zone and forget menus."""

from __future__ import annotations

from dataclasses import replace

from bot.callbacks import ForgetChoice, LanguageChoice, ReminderPress, TimezoneChoice, decode
from bot.engine import CancelReminders, ScheduleReminder
from bot.engine.conversation import Conversation
from bot.engine.engine import Outcome
from bot.localtime import format_when, zone_or_default
from bot.runtime.chat import Chat, Result, set_timezone, show_current, start_over, step_result

__all__ = ["button_pressed"]


def button_pressed(chat: Chat, data: str, message_id: int | None) -> Result:
    """Hands a pressed button to the unit for its kind of callback data."""
    pressed = decode(data)
    if isinstance(pressed, LanguageChoice) and pressed.language in chat.engine.bundle.texts.languages:
        return language_button(chat, pressed, message_id)
    if isinstance(pressed, TimezoneChoice):
        return set_timezone(chat, pressed.timezone, edit=message_id)
    if isinstance(pressed, ForgetChoice):
        return forget_button(chat, pressed, message_id)
    if chat.conversation is None:
        return stale_button(chat)
    if isinstance(pressed, ReminderPress):
        return reminder_button(chat, chat.conversation, pressed, message_id)
    return flow_button(chat, chat.conversation, data, message_id)


def flow_button(chat: Chat, conversation: Conversation, data: str, message_id: int | None) -> Result:
    """Advances the flow; an old, foreign or finished button gets a toast and the current screen."""
    step = chat.engine.press(conversation, data)
    on_screen = message_id is not None and message_id == chat.screen_id
    # Edit the pressed screen in place; a press on another message gets a fresh screen below.
    return step_result(chat, step, edit=message_id if on_screen else None)


def reminder_button(
    chat: Chat, conversation: Conversation, pressed: ReminderPress, message_id: int | None
) -> Result:
    """Confirms, snoozes, helps or stops, from the buttons under a reminder."""
    step = chat.engine.answer_reminder(conversation, pressed)
    if step.outcome is not Outcome.ADVANCED:
        return replace(step_result(chat, step, edit=None), conversation=conversation)
    moved = step.conversation.state != conversation.state
    if not moved and CancelReminders(None) in step.effects:
        settings = replace(chat.settings, reminders_stopped=True)
        stopped = chat.notice("ui.stop.done", edit=message_id)
        return Result(settings, conversation, (stopped,), effects=step.effects, toast=step.toast)
    snoozed = next((e for e in step.effects if isinstance(e, ScheduleReminder)), None)
    if snoozed is not None and not moved:
        due = chat.settings.sendable_from(chat.now + snoozed.delay)
        when = format_when(due, zone_or_default(chat.settings.timezone), chat.language, chat.now)
        reminder = chat.show(step.screen, edit=message_id, shows_screen=False)
        toast = chat.text("ui.reminder.snoozed", {"when": when})
        return Result(chat.settings, conversation, (reminder,), effects=step.effects, toast=toast)
    return step_result(chat, step, edit=message_id, shows_screen=moved)


def language_button(chat: Chat, pressed: LanguageChoice, message_id: int | None) -> Result:
    """Switches the chat's language and shows the screen again in it."""
    conversation = chat.conversation
    chosen = replace(
        chat,
        settings=replace(chat.settings, language=pressed.language),
        conversation=None if conversation is None else conversation.with_language(pressed.language),
    )
    return replace(show_current(chosen, edit=message_id), toast=chosen.text("ui.language.changed"))


def forget_button(chat: Chat, pressed: ForgetChoice, message_id: int | None) -> Result:
    """Deletes everything about the chat once confirmed; the confirmation cannot go via the outbox."""
    if not pressed.confirmed:
        return chat.keep(chat.notice("ui.forget.cancelled", edit=message_id))
    done = chat.notice("ui.forget.done", edit=message_id)
    return Result(chat.settings, None, direct=(done,), forget=True)


def stale_button(chat: Chat) -> Result:
    """Answers a button of a conversation that no longer exists, and starts a new one."""
    return replace(start_over(chat), toast=chat.text("ui.stale_button"))
