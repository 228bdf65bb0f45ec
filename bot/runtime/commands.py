"""One unit per menu command: /start, /help, /status, /stop, /forget, /language, /timezone, /restart.

A command that shows something else than the flow (help, status, stop) shows the current step under it,
with its buttons (:func:`~bot.runtime.chat.at_hand`), so the person never scrolls up to carry on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from bot.callbacks import ForgetChoice, LanguageChoice, encode
from bot.engine.conversation import Conversation
from bot.engine.screens import Markup, ScreenButton
from bot.runtime.chat import (
    FORGET,
    Chat,
    Result,
    anew,
    ask,
    at_hand,
    next_reminder_at,
    resume_rows,
    start_over,
    stripped,
    where_of,
)
from bot.runtime.messages import Rows
from bot.runtime.over import confirm_start_over, continue_or_start_over, resumed_reminders, under_way
from bot.runtime.where import set_timezone, where_prompt

__all__ = ["COMMAND_UNITS", "CommandUnit", "command_unit"]

CommandUnit = Callable[[Chat, str], Awaitable[Result]]
"""A command's unit: the chat, the command's argument (read, never stored) and the result."""


async def start_command(chat: Chat, argument: str) -> Result:
    """Starts the flow (where a deep link points); mid-way, asks whether to continue or start over."""
    deep_link = argument.strip().lower()
    link = deep_link if deep_link in chat.engine.flow.deep_links else None
    conversation = chat.conversation
    if conversation is None or not under_way(chat, conversation):
        return start_over(chat, link)
    # Re-tapping a t.me link sends "/start <link>" again: never a reason to drop what was done.
    return continue_or_start_over(chat, conversation, link)


async def restart_command(chat: Chat, argument: str) -> Result:
    """Starts the flow again, once confirmed when that would drop choices or pending reminders."""
    conversation = chat.conversation
    if conversation is not None and not conversation.finished:
        confirm = await confirm_start_over(chat, conversation, edit=None)
        if confirm is not None:
            return confirm
    return chat.keep(chat.notice("ui.restarted")).then(start_over(chat))


async def help_command(chat: Chat, argument: str) -> Result:
    """Explains the commands, with the current step under the explanation."""
    return at_hand(chat, chat.text("ui.help"))


async def language_command(chat: Chat, argument: str) -> Result:
    """Offers every language, each named in itself, as the newest screen (the step comes back in the one chosen)."""
    engine = chat.engine
    rows = tuple(
        (
            ScreenButton(
                engine.renderer.plain(language, "ui.language.name"), data=encode(LanguageChoice(language))
            ),
        )
        for language in engine.bundle.texts.languages
    )
    menu = anew(chat)
    prompt = replace(menu.notice("ui.language.prompt", rows=rows), shows_screen=menu.conversation is not None)
    return menu.keep(*stripped(menu, keep=None), prompt)


async def timezone_command(chat: Chat, argument: str) -> Result:
    """Sets the zone given after the command, or asks where the person is (tap a place or type one)."""
    wanted = argument.strip()
    if wanted:
        return await set_timezone(chat, wanted, edit=None)
    # Stored, so that whichever process gets the typed answer, before or after a restart, understands it.
    settings = replace(chat.settings, timezone_asked_at=chat.now)
    return Result(settings, chat.conversation, (where_prompt(chat),))


async def status_command(chat: Chat, argument: str) -> Result:
    """Tells where the conversation stands and when the next reminders come, in the person's own zone."""
    conversation = chat.conversation
    if conversation is None:
        return start_over(chat)
    where = where_of(chat, conversation)
    reminders = await _reminder_lines(chat, conversation)
    if chat.handoff and await chat.open_question():
        reminders = f"{reminders}\n{chat.text('ui.handoff.status_line')}"
    # The screen's first line and the reminder lines are Telegram HTML already: inserted as they are.
    status = chat.text("ui.status.text", {"screen": where, "reminders": Markup(reminders)})
    return at_hand(chat, status, above=resume_rows if chat.settings.reminders_stopped else None, where=False)


async def _reminder_lines(chat: Chat, conversation: Conversation) -> str:
    """Returns /status's reminder lines: when each comes, or, while stopped, when the next would once on."""
    if chat.settings.reminders_stopped:
        stopped = chat.text("ui.status.reminders_stopped")
        kept = next_reminder_at(chat, await resumed_reminders(chat, conversation))
        if kept is None:
            return stopped
        return f"{stopped}\n{chat.text('ui.status.kept_line', {'when': chat.when(kept)})}"
    pending = await chat.pending_reminders()
    if not pending:
        return chat.text("ui.status.no_reminders")
    return "\n".join(chat.text("ui.status.reminder_line", {"when": chat.when(r.due_at)}) for r in pending)


async def stop_command(chat: Chat, argument: str) -> Result:
    """Stops every reminder until the person turns them back on (a button, /start, or waiting anew).

    The pending ones are kept, unsent while stopped, so that turning them back on keeps their moment.
    """
    stopped = replace(chat, settings=replace(chat.settings, reminders_stopped=True))
    return at_hand(stopped, stopped.text("ui.stop.done"), above=resume_rows)


async def forget_command(chat: Chat, argument: str) -> Result:
    """Asks for a confirmation before deleting everything about the chat."""

    def answers(step: int) -> Rows:
        yes = ForgetChoice(confirmed=True, step=step)
        no = ForgetChoice(confirmed=False, step=step)
        return (
            (ScreenButton(chat.text("ui.forget.yes"), data=encode(yes)),),
            (ScreenButton(chat.text("ui.forget.no"), data=encode(no)),),
        )

    return ask(chat, FORGET, "ui.forget.confirm", answers)


async def unknown_command(chat: Chat, argument: str) -> Result:
    """Answers a command the bot does not have, with the current step under the answer."""
    return at_hand(chat, chat.text("ui.off_script"))


COMMAND_UNITS: Mapping[str, CommandUnit] = {
    "start": start_command,
    "help": help_command,
    "restart": restart_command,
    "language": language_command,
    "timezone": timezone_command,
    "status": status_command,
    "stop": stop_command,
    "forget": forget_command,
}
"""Every menu command's unit; bot.runtime.texts.COMMANDS orders the menu."""


def command_unit(name: str) -> CommandUnit:
    """Returns the unit that handles command ``name``."""
    return COMMAND_UNITS.get(name, unknown_command)
