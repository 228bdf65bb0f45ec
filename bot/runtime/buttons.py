"""One unit per kind of button: flow screens, reminders, and the menus (language, where, start over, forget)."""

from __future__ import annotations

from dataclasses import replace

from bot.callbacks import (
    FlowPress,
    ForgetChoice,
    LanguageChoice,
    ReminderAnswer,
    ReminderPress,
    RemindersOn,
    StartOverChoice,
    Suggestion,
    TimezoneChoice,
    TypePlace,
    decode,
)
from bot.engine import ScheduleReminder
from bot.engine.conversation import Conversation
from bot.engine.engine import Outcome
from bot.runtime.chat import (
    FORGET,
    Chat,
    Result,
    asked_again,
    at_hand,
    made_for_now,
    next_reminder_line,
    resume_rows,
    screen_of,
    show_current,
    start_over,
    step_result,
)
from bot.runtime.messages import OutgoingMessage
from bot.runtime.over import confirm_start_over, resumed_reminders, start_over_button
from bot.runtime.suggested import suggestion_button
from bot.runtime.where import ask_where, set_timezone, type_place_button

__all__ = ["button_pressed"]


async def button_pressed(chat: Chat, data: str, message_id: int | None) -> Result:
    """Hands a pressed button to the unit for its kind of callback data."""
    pressed = decode(data)
    if isinstance(pressed, LanguageChoice) and pressed.language in chat.engine.bundle.texts.languages:
        return language_button(chat, pressed, message_id)
    if isinstance(pressed, TimezoneChoice | TypePlace):
        return await where_button(chat, pressed, message_id)
    if chat.conversation is None:
        return stale_button(chat)
    if isinstance(pressed, ForgetChoice):
        return forget_button(chat, pressed, message_id)
    if isinstance(pressed, StartOverChoice):
        return await start_over_button(chat, pressed, message_id)
    if isinstance(pressed, Suggestion):
        return suggestion_button(chat, pressed, message_id)
    if isinstance(pressed, RemindersOn):
        return await reminders_on_button(chat, chat.conversation, pressed, message_id)
    if isinstance(pressed, ReminderPress):
        return reminder_button(chat, chat.conversation, pressed, message_id)
    if isinstance(pressed, FlowPress):
        return await flow_button(chat, chat.conversation, pressed, message_id)
    return unknown_button(chat, message_id)


async def where_button(chat: Chat, pressed: TimezoneChoice | TypePlace, message_id: int | None) -> Result:
    """Answers "where are you?": in place of the question, or, for one far up the chat, at the bottom (the
    old question losing its buttons)."""
    stale = message_id if chat.far_up(message_id) else None
    edit = None if stale is not None else message_id
    if isinstance(pressed, TimezoneChoice):
        result = await set_timezone(chat, pressed.timezone, edit=edit)
    else:
        result = type_place_button(chat, edit)
    if stale is None:
        return result
    return replace(result, messages=(OutgoingMessage.stripping(chat.id, stale), *result.messages))


async def flow_button(
    chat: Chat, conversation: Conversation, pressed: FlowPress, message_id: int | None
) -> Result:
    """Advances the flow; an old, foreign or finished button gets a toast and the current screen.

    A button that starts over is confirmed first when it would drop choices or pending reminders.
    """
    # Edit the pressed screen in place; a press on another message gets a fresh screen below.
    edit = message_id if chat.on_screen(message_id) else None
    if chat.engine.resets(conversation, pressed):
        confirm = await confirm_start_over(chat, conversation, edit=edit)
        if confirm is not None:
            return confirm
    step = chat.engine.press(conversation, pressed)
    if step.outcome is not Outcome.ADVANCED and edit is None:
        # An older message's button: the current step comes back at the bottom, in one line.
        return at_hand(chat, "", toast=step.toast)
    result = step_result(chat, step, edit=edit)
    if step.outcome is not Outcome.ADVANCED:
        return result
    return ask_where(chat, result, step.effects)


def unknown_button(chat: Chat, message_id: int | None) -> Result:
    """Answers data this bot never wrote (or no longer reads) like a button of another flow version."""
    toast = chat.text("ui.flow_updated")
    if not chat.on_screen(message_id):
        return at_hand(chat, "", toast=toast)
    return replace(show_current(chat, edit=message_id), toast=toast)


def reminder_button(
    chat: Chat, conversation: Conversation, pressed: ReminderPress, message_id: int | None
) -> Result:
    """Confirms, snoozes, helps or stops, from the buttons under the latest reminder.

    An older reminder's button changes nothing (it only says so): it cannot move the flow back, nor
    bring a message far up the chat to life. "Stop reminders" works from any of them.
    """
    latest = message_id is not None and message_id == chat.reminder_id
    if pressed.answer is ReminderAnswer.STOP:
        return stop_button(chat, conversation, edit=message_id if latest else None)
    if not latest:
        return at_hand(chat, "", toast=chat.text("ui.old_reminder"))
    step = chat.engine.answer_reminder(conversation, pressed)
    if step.outcome is not Outcome.ADVANCED:
        return at_hand(chat, "", toast=step.toast)
    if step.conversation.state != conversation.state:
        return step_result(chat, step, edit=message_id)
    snoozed = next((e for e in step.effects if isinstance(e, ScheduleReminder)), None)
    if snoozed is None:
        # "I need help": the help text in place of the reminder, its buttons kept.
        return step_result(chat, step, edit=message_id, shows_screen=False)
    # The reminder says when the next one comes, and its answers give way to the step's own buttons:
    # it has been answered, and it becomes the screen (the one above lost its buttons when it came).
    line = next_reminder_line(chat, (snoozed,))
    rows = screen_of(chat, conversation).rows
    answered = OutgoingMessage(chat.id, f"{step.screen.text}\n\n{line}", rows, message_id, shows_screen=True)
    toast = chat.text("ui.reminder.snoozed", {"when": chat.when(chat.now + snoozed.delay)})
    settings = asked_again(chat, step.effects)
    return Result(settings, conversation, (answered,), toast=toast).adding(step.effects)


def stop_button(chat: Chat, conversation: Conversation, *, edit: int | None) -> Result:
    """Stops every reminder (each is kept, unsent, for turning them back on), offering to turn them back on."""
    stopped = replace(chat, settings=replace(chat.settings, reminders_stopped=True))
    toast = chat.text("ui.reminder.stopped")
    return at_hand(stopped, stopped.text("ui.stop.done"), above=resume_rows, edit=edit, toast=toast)


async def reminders_on_button(
    chat: Chat, conversation: Conversation, pressed: RemindersOn, message_id: int | None
) -> Result:
    """Turns reminders back on, each at the moment kept for it (or the pace's next), and says when.

    Only the newest screen's button counts, while reminders are off: an older one says so in a toast
    and shows the current step at the bottom, never claiming reminders are on when none would come.
    """
    stopped = chat.settings.reminders_stopped
    resumed = await resumed_reminders(chat, conversation) if stopped else ()
    if not made_for_now(chat, pressed.step) or not resumed:
        return at_hand(chat, "", toast=chat.text("ui.stale_button"))
    on = replace(chat, settings=replace(chat.settings, reminders_stopped=False))
    line = next_reminder_line(on, resumed)
    done = on.text("ui.resume.done")
    edit = message_id if chat.on_screen(message_id) else None
    return at_hand(on, f"{done}\n{line}" if line else done, edit=edit).adding(resumed)


def language_button(chat: Chat, pressed: LanguageChoice, message_id: int | None) -> Result:
    """Switches the chat's language and shows the screen again in it: in place of the screen or menu
    pressed, or at the bottom when pressed far up (the messages above lose their buttons)."""
    chosen = in_language(chat, pressed.language)
    shown = show_current(chosen, edit=message_id if chat.on_screen(message_id) else None)
    return replace(shown, toast=chosen.text("ui.language.changed"))


def in_language(chat: Chat, language: str) -> Chat:
    """Returns the chat switched to ``language``, its conversation too (reminders follow the setting)."""
    conversation = chat.conversation
    return replace(
        chat,
        settings=replace(chat.settings, language=language),
        conversation=None if conversation is None else conversation.with_language(language),
    )


def forget_button(chat: Chat, pressed: ForgetChoice, message_id: int | None) -> Result:
    """Deletes everything about the chat once confirmed; the confirmation cannot go via the outbox.

    Only the confirmation's own message counts, while it is the newest screen: an older one, or data
    made up to skip the question, deletes nothing and shows the current step at the bottom.
    """
    if not made_for_now(chat, pressed.step, asking=FORGET) or message_id != chat.shown_id:
        return at_hand(chat, "", toast=chat.text("ui.stale_button"))
    if not pressed.confirmed:
        return at_hand(chat, chat.text("ui.forget.cancelled"), edit=message_id)
    done = chat.notice("ui.forget.done", edit=message_id)
    return Result(chat.settings, None, direct=(done,), forget=True)


def stale_button(chat: Chat) -> Result:
    """Answers a button of a conversation that no longer exists, and starts a new one."""
    return replace(start_over(chat), toast=chat.text("ui.stale_button"))
