"""One unit per menu command: /start, /help, /status, /stop, /forget, /language, /timezone, /restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from bot.callbacks import ForgetChoice, LanguageChoice, TimezoneChoice, encode
from bot.engine import CancelReminders
from bot.engine.engine import Markup, ScreenButton
from bot.localtime import COMMON_TIMEZONES, format_when, zone_or_default
from bot.runtime.chat import Chat, Result, set_timezone, show_current, start_over

__all__ = ["COMMAND_UNITS", "CommandUnit", "command_unit"]

CommandUnit = Callable[[Chat, str], Awaitable[Result]]
"""A command's unit: the chat, the command's argument (read, never stored) and the result."""


async def start_command(chat: Chat, argument: str) -> Result:
    """Starts the flow (where a deep link points), or resumes an unfinished conversation."""
    deep_link = argument.strip().lower()
    conversation = chat.conversation
    if deep_link in chat.engine.flow.deep_links or conversation is None or conversation.finished:
        return start_over(chat, deep_link or None)
    # The menu says "start or resume": an unfinished conversation carries on where it was.
    return show_current(chat)


async def restart_command(chat: Chat, argument: str) -> Result:
    """Says the flow starts again, and starts it."""
    return chat.keep(chat.notice("ui.restarted")).then(start_over(chat))


async def help_command(chat: Chat, argument: str) -> Result:
    """Explains the commands."""
    return chat.keep(chat.notice("ui.help"))


async def language_command(chat: Chat, argument: str) -> Result:
    """Offers every language, each named in itself."""
    engine = chat.engine
    rows = tuple(
        (ScreenButton(engine.plain(language, "ui.language.name"), data=encode(LanguageChoice(language))),)
        for language in engine.bundle.texts.languages
    )
    return chat.keep(chat.notice("ui.language.prompt", rows=rows))


async def timezone_command(chat: Chat, argument: str) -> Result:
    """Sets the time zone given after the command, or offers common ones and invites typing a place."""
    wanted = argument.strip()
    if wanted:
        return set_timezone(chat, wanted, edit=None)
    rows = tuple(
        (ScreenButton(name.replace("_", " "), data=encode(TimezoneChoice(name))),)
        for name in COMMON_TIMEZONES
    )
    prompt = chat.notice("ui.timezone.prompt", {"timezone": chat.settings.timezone}, rows=rows)
    # Stored, so that whichever process gets the typed answer, before or after a restart, understands it.
    settings = replace(chat.settings, timezone_asked_at=chat.now)
    return Result(settings, chat.conversation, (prompt,))


async def status_command(chat: Chat, argument: str) -> Result:
    """Tells where the conversation stands and when the next reminders come."""
    conversation = chat.conversation
    if conversation is None:
        return start_over(chat)
    screen = chat.engine.render(conversation)
    where = next((line for line in screen.text.splitlines() if line.strip()), "")
    zone = zone_or_default(chat.settings.timezone)
    pending = await chat.pending_reminders()
    if chat.settings.reminders_stopped:
        reminders = chat.text("ui.status.reminders_stopped")
    elif pending:
        lines = (
            chat.text(
                "ui.status.reminder_line", {"when": format_when(r.due_at, zone, chat.language, chat.now)}
            )
            for r in pending
        )
        reminders = "\n".join(lines)
    else:
        reminders = chat.text("ui.status.no_reminders")
    # The screen's first line and the reminder lines are Telegram HTML already: inserted as they are.
    return chat.keep(chat.notice("ui.status.text", {"screen": Markup(where), "reminders": Markup(reminders)}))


async def stop_command(chat: Chat, argument: str) -> Result:
    """Stops every reminder until the person asks for one again."""
    settings = replace(chat.settings, reminders_stopped=True)
    return Result(
        settings, chat.conversation, (chat.notice("ui.stop.done"),), effects=(CancelReminders(None),)
    )


async def forget_command(chat: Chat, argument: str) -> Result:
    """Asks for a confirmation before deleting everything about the chat."""
    rows = (
        (ScreenButton(chat.text("ui.forget.yes"), data=encode(ForgetChoice(confirmed=True))),),
        (ScreenButton(chat.text("ui.forget.no"), data=encode(ForgetChoice(confirmed=False))),),
    )
    return chat.keep(chat.notice("ui.forget.confirm", rows=rows))


async def unknown_command(chat: Chat, argument: str) -> Result:
    """Answers a command the bot does not have, and shows the screen again."""
    return show_current(chat, before=(chat.notice("ui.off_script"),))


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
