"""The texts the bot itself needs besides the flow's: every locale must define them all."""

from __future__ import annotations

from bot.flows import UiText

__all__ = ["COMMANDS", "UI_TEXTS"]

COMMANDS = ("start", "help", "restart", "language", "timezone", "status", "stop", "forget")
"""The command menu, in the order Telegram shows it."""

_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "ui.group_chat": frozenset({"link"}),
    "ui.status.text": frozenset({"screen", "reminders"}),
    "ui.status.reminder_line": frozenset({"when"}),
    "ui.timezone.prompt": frozenset({"timezone"}),
    "ui.timezone.set": frozenset({"timezone", "now"}),
    "ui.timezone.unknown": frozenset({"input"}),
    "ui.reminder.snoozed": frozenset({"when"}),
}

_KEYS = (
    "ui.language.name",
    "ui.language.prompt",
    "ui.language.changed",
    "ui.stale_button",
    "ui.flow_updated",
    "ui.finished_button",
    "ui.off_script",
    "ui.group_chat",
    "ui.help",
    "ui.restarted",
    "ui.status.text",
    "ui.status.no_reminders",
    "ui.status.reminder_line",
    "ui.status.reminders_stopped",
    "ui.stop.done",
    "ui.forget.confirm",
    "ui.forget.yes",
    "ui.forget.no",
    "ui.forget.done",
    "ui.forget.cancelled",
    "ui.timezone.prompt",
    "ui.timezone.set",
    "ui.timezone.unknown",
    "ui.timezone.other",
    "ui.reminder.confirmed",
    "ui.reminder.snooze_hour",
    "ui.reminder.snooze_tomorrow",
    "ui.reminder.snooze_3days",
    "ui.reminder.help",
    "ui.reminder.stop",
    "ui.reminder.snoozed",
    "ui.reminder.stopped",
    *(f"ui.commands.{command}" for command in COMMANDS),
)

UI_TEXTS = tuple(UiText(key, _PLACEHOLDERS.get(key, frozenset())) for key in _KEYS)
