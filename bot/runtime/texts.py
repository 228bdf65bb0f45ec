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
    "ui.where.prompt": frozenset({"zone", "now"}),
    "ui.where.set": frozenset({"zone", "now"}),
    "ui.next_reminder": frozenset({"when"}),
    "ui.at_hand": frozenset({"where"}),
    "ui.over.under_way": frozenset({"where"}),
    "ui.over.new_with": frozenset({"provider"}),
    "ui.handoff.answer": frozenset({"text"}),
    "ui.handoff.tickets": frozenset({"count"}),
    "ui.handoff.ticket": frozenset({"ticket", "language", "step", "answers", "question"}),
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
    "ui.where.prompt",
    "ui.where.other",
    "ui.where.type",
    "ui.where.set",
    "ui.next_reminder",
    "ui.old_reminder",
    "ui.at_hand",
    "ui.stray",
    "ui.resume.button",
    "ui.resume.done",
    "ui.over.under_way",
    "ui.over.keep",
    "ui.over.new",
    "ui.over.new_with",
    "ui.over.confirm",
    "ui.over.confirm_reminders",
    "ui.over.yes",
    "ui.over.no",
    "ui.handoff.answer",
    "ui.handoff.tickets",
    "ui.handoff.no_tickets",
    "ui.handoff.not_allowed",
    "ui.handoff.sent",
    "ui.handoff.ticket",
)

UI_TEXTS = tuple(UiText(key, _PLACEHOLDERS.get(key, frozenset())) for key in _KEYS)
