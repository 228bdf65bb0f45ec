"""Where the person is: asked when their first reminder is scheduled and by /timezone, answered by a tap
or by typing a place; a new zone moves every pending reminder into its waking hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.callbacks import TimezoneChoice, TypePlace, encode
from bot.engine import Effect, ScheduleReminder
from bot.engine.engine import ScreenButton
from bot.localtime import parse_timezone
from bot.places import places
from bot.runtime.chat import QUOTED_INPUT_CHARACTERS, Chat, Result, at_hand, next_reminder_line
from bot.runtime.messages import OutgoingMessage

__all__ = ["ask_where", "set_timezone", "type_place_button", "where_prompt"]

CHOSEN = "✓ "


def where_prompt(chat: Chat, *, edit: int | None = None) -> OutgoingMessage:
    """Returns "where are you now?" with the likeliest places for the chat's language and "somewhere else"."""
    found = places()
    current = chat.settings.timezone
    offered = found.offered_zones(chat.language)
    if current not in offered and chat.settings.timezone_chosen:
        offered = (current, *offered)  # a zone they chose, and its check mark, stay in view

    def place(zone: str) -> tuple[ScreenButton, ...]:
        label = found.place_label(zone, chat.language)
        return (
            ScreenButton(CHOSEN + label if zone == current else label, data=encode(TimezoneChoice(zone))),
        )

    rows = (
        *(place(zone) for zone in offered),
        (ScreenButton(chat.text("ui.where.other"), data=encode(TypePlace())),),
    )
    values = {"zone": found.zone_label(current, chat.language), "now": chat.clock()}
    return chat.notice("ui.where.prompt", values, rows=rows, edit=edit)


def ask_where(chat: Chat, result: Result, effects: Sequence[Effect]) -> Result:
    """After a step that schedules a reminder: says when it comes, and asks where the person is until they say.

    Until then the zone is the likeliest for their language, named in every time shown: never a silent
    Nouméa for someone who may be back home.
    """
    if not any(isinstance(effect, ScheduleReminder) for effect in effects):
        return result
    settings = result.settings
    if not settings.timezone_chosen:
        settings = replace(settings, timezone=places().preselected(chat.language))
    placed = replace(chat, settings=settings)
    line = next_reminder_line(placed, effects)
    messages = tuple(
        replace(m, text=f"{m.text}\n\n{line}") if m.shows_screen and line else m for m in result.messages
    )
    if not settings.timezone_chosen:
        messages += (where_prompt(placed),)
    return replace(result, settings=settings, messages=messages)


def type_place_button(chat: Chat, message_id: int | None) -> Result:
    """Invites typing a city or a UTC offset, and listens for it (stored, so any process understands it)."""
    settings = replace(chat.settings, timezone_asked_at=chat.now)
    invite = chat.notice("ui.where.type", edit=message_id)
    return Result(settings, chat.conversation, (invite,))


async def set_timezone(chat: Chat, wanted: str, *, edit: int | None) -> Result:
    """Sets the zone a person typed or picked and moves their pending reminders into its waking hours,
    or says it is unknown (quoting them, never storing it)."""
    try:
        zone = parse_timezone(wanted)
    except ValueError:
        quoted = wanted[:QUOTED_INPUT_CHARACTERS]
        return chat.keep(direct=(chat.notice("ui.timezone.unknown", {"input": quoted}, edit=edit),))
    settings = replace(chat.settings, timezone=str(zone), timezone_chosen=True, timezone_asked_at=None)
    placed = replace(chat, settings=settings)
    # Rescheduled at the same instant, which the commit then moves out of the new zone's quiet hours.
    moved: tuple[Effect, ...] = tuple(
        ScheduleReminder(reminder.name, reminder.due_at - chat.now, reminder.sequence)
        for reminder in await chat.pending_reminders()
    )
    done = placed.text(
        "ui.where.set", {"zone": places().zone_label(zone, placed.language), "now": placed.clock()}
    )
    line = next_reminder_line(placed, moved)
    shown = at_hand(placed, f"{done}\n{line}" if line else done, edit=edit)
    return replace(shown, effects=moved)
