"""Progress is never lost by accident: "continue or start over?" when /start or a deep link comes mid-way,
and a confirmation before any "start over" that would drop choices or pending reminders."""

from __future__ import annotations

from dataclasses import replace

from bot.callbacks import StartOverChoice, encode
from bot.engine import Effect, KeptReminder
from bot.engine.conversation import Conversation
from bot.engine.screens import ScreenButton
from bot.runtime.chat import (
    START_OVER,
    Chat,
    Result,
    ask,
    at_hand,
    made_for_now,
    show_current,
    start_over,
    where_of,
)
from bot.runtime.messages import Rows
from bot.runtime.where import ask_where

__all__ = [
    "confirm_start_over",
    "continue_or_start_over",
    "resumed_reminders",
    "start_over_button",
    "under_way",
]


def under_way(chat: Chat, conversation: Conversation | None) -> bool:
    """Tells whether a conversation holds progress: past its first screen and not finished."""
    return (
        conversation is not None
        and not conversation.finished
        and conversation.state != chat.engine.flow.start
    )


def continue_or_start_over(chat: Chat, conversation: Conversation, deep_link: str | None) -> Result:
    """Asks whether to continue where the person was or start over (where ``deep_link`` points)."""
    provider = _provider_of(chat, deep_link)
    label = chat.text("ui.over.new_with", {"provider": provider}) if provider else chat.text("ui.over.new")

    def answers(step: int) -> Rows:
        keep = StartOverChoice(start_over=False, step=step)
        afresh = StartOverChoice(True, deep_link, step)
        return (
            (ScreenButton(chat.text("ui.over.keep"), data=encode(keep)),),
            (ScreenButton(label, data=encode(afresh)),),
        )

    values = {"where": where_of(chat, conversation)}
    return ask(chat, START_OVER, "ui.over.under_way", answers, values=values)


async def confirm_start_over(chat: Chat, conversation: Conversation, *, edit: int | None) -> Result | None:
    """Asks before starting over when that would drop choices or pending reminders; None when nothing would go."""
    # Stopped ones are kept only for turning them back on: the person is not waiting for them.
    reminders = not chat.settings.reminders_stopped and bool(await chat.pending_reminders())
    if not reminders and not chat.engine.has_choices(conversation):
        return None

    def answers(step: int) -> Rows:
        yes = StartOverChoice(start_over=True, step=step)
        no = StartOverChoice(start_over=False, step=step)
        return (
            (ScreenButton(chat.text("ui.over.yes"), data=encode(yes)),),
            (ScreenButton(chat.text("ui.over.no"), data=encode(no)),),
        )

    key = "ui.over.confirm_reminders" if reminders else "ui.over.confirm"
    return ask(chat, START_OVER, key, answers, edit=edit)


async def start_over_button(chat: Chat, pressed: StartOverChoice, message_id: int | None) -> Result:
    """Starts over as confirmed, or carries on where the person was (turning stopped reminders back on).

    Only the question's own message counts, and only while it is the newest screen: an older one, or
    data made up to skip the question, changes nothing and shows the current step at the bottom.
    """
    if not made_for_now(chat, pressed.step, asking=START_OVER) or message_id != chat.shown_id:
        return at_hand(chat, "", toast=chat.text("ui.stale_button"))
    if pressed.start_over:
        return start_over(chat, pressed.deep_link, edit=message_id)
    conversation = chat.conversation
    if conversation is None:
        return start_over(chat)
    shown = show_current(chat, edit=message_id)
    if not chat.settings.reminders_stopped:
        return shown
    # "Send /start to continue", the bot said when reminders stopped: continuing brings them back.
    resumed = await resumed_reminders(chat, conversation)
    settings = replace(chat.settings, reminders_stopped=False)
    shown = replace(shown, settings=settings).adding(resumed)
    return ask_where(replace(chat, settings=settings), shown, resumed)


async def resumed_reminders(chat: Chat, conversation: Conversation) -> tuple[Effect, ...]:
    """Returns what turns the step's reminders back on: each at the moment kept for it while they were off
    (/stop keeps them; the store sends none while a chat's reminders are stopped), or at the pace's next."""
    pending = await chat.pending_reminders()
    kept = tuple(KeptReminder(r.name, r.due_at - chat.now, r.sequence) for r in pending)
    return chat.engine.reminders_resumed(conversation, kept)


def _provider_of(chat: Chat, deep_link: str | None) -> str | None:
    """Returns the name of the provider a deep link chooses, if it chooses one."""
    if deep_link is None:
        return None
    variables = chat.engine.start(chat.language, deep_link).conversation.variables
    providers = chat.engine.flow.providers
    return next((providers[value].name for value in variables.values() if value in providers), None)
