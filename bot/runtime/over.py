"""Progress is never lost by accident: "continue or start over?" when /start or a deep link comes mid-way,
and a confirmation before any "start over" that would drop choices or pending reminders."""

from __future__ import annotations

from dataclasses import replace

from bot.callbacks import StartOverChoice, encode
from bot.engine.conversation import Conversation
from bot.engine.screens import ScreenButton
from bot.runtime.chat import Chat, Result, screen_of, show_current, start_over, where_line
from bot.runtime.where import ask_where

__all__ = ["confirm_start_over", "continue_or_start_over", "start_over_button", "under_way"]


def under_way(chat: Chat, conversation: Conversation | None) -> bool:
    """Tells whether a conversation holds progress: past its first screen and not finished."""
    return (
        conversation is not None
        and not conversation.finished
        and conversation.state != chat.engine.flow.start
    )


def continue_or_start_over(chat: Chat, conversation: Conversation, deep_link: str | None) -> Result:
    """Asks whether to continue where the person was or start over (where ``deep_link`` points)."""
    keep = ScreenButton(chat.text("ui.over.keep"), data=encode(StartOverChoice(start_over=False)))
    provider = _provider_of(chat, deep_link)
    label = chat.text("ui.over.new_with", {"provider": provider}) if provider else chat.text("ui.over.new")
    afresh = ScreenButton(label, data=encode(StartOverChoice(True, deep_link)))
    where = where_line(screen_of(chat, conversation))
    return chat.keep(chat.notice("ui.over.under_way", {"where": where}, rows=((keep,), (afresh,))))


async def confirm_start_over(chat: Chat, conversation: Conversation, *, edit: int | None) -> Result | None:
    """Asks before starting over when that would drop choices or pending reminders; None when nothing would go."""
    reminders = bool(await chat.pending_reminders())
    if not reminders and not chat.engine.has_choices(conversation):
        return None
    yes = ScreenButton(chat.text("ui.over.yes"), data=encode(StartOverChoice(start_over=True)))
    no = ScreenButton(chat.text("ui.over.no"), data=encode(StartOverChoice(start_over=False)))
    key = "ui.over.confirm_reminders" if reminders else "ui.over.confirm"
    return chat.keep(chat.notice(key, rows=((yes,), (no,)), edit=edit))


def start_over_button(chat: Chat, pressed: StartOverChoice, message_id: int | None) -> Result:
    """Starts over as confirmed, or carries on where the person was (turning stopped reminders back on)."""
    if pressed.start_over:
        return start_over(chat, pressed.deep_link, edit=message_id)
    conversation = chat.conversation
    if conversation is None:
        return start_over(chat)
    shown = show_current(chat, edit=message_id)
    if not chat.settings.reminders_stopped:
        return shown
    # "Send /start to continue", the bot said when reminders stopped: continuing brings them back.
    resumed = chat.engine.reminders_of_state(conversation)
    settings = replace(chat.settings, reminders_stopped=False)
    shown = replace(shown, settings=settings).adding(resumed)
    return ask_where(replace(chat, settings=settings), shown, resumed)


def _provider_of(chat: Chat, deep_link: str | None) -> str | None:
    """Returns the name of the provider a deep link chooses, if it chooses one."""
    if deep_link is None:
        return None
    variables = chat.engine.start(chat.language, deep_link).conversation.variables
    providers = chat.engine.flow.providers
    return next((providers[value].name for value in variables.values() if value in providers), None)
