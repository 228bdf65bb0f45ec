"""Where the person is: asked when their first reminder is scheduled and by /timezone, answered by a tap
or by typing a place; a new zone moves every pending reminder into its waking hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.callbacks import TimezoneChoice, TypePlace, encode
from bot.engine import Effect, ScheduleReminder
from bot.engine.conversation import Conversation
from bot.engine.screens import ScreenButton
from bot.flows.budget import shared_rows
from bot.flows.model import Budget
from bot.localtime import parse_timezone
from bot.runtime.chat import (
    QUOTED_INPUT_CHARACTERS,
    Chat,
    Result,
    at_hand,
    next_reminder_line,
    screen_of,
    start_over,
)
from bot.runtime.messages import OutgoingMessage, Rows
from bot.store import UserSettings

__all__ = [
    "ask_where",
    "assumed_settings",
    "set_timezone",
    "type_place_button",
    "where_prompt",
    "where_question",
    "where_rows",
]

CHOSEN = "✓ "


def where_rows(chat: Chat) -> Rows:
    """Returns the likeliest places for the chat's language (its zone checked) and "somewhere else";
    two places share a row only when both labels fit half a phone's width."""
    found = chat.engine.places
    # A zone only guessed from the language gets no check mark: the person has not said it.
    current = chat.settings.timezone if chat.placed else None
    offered = found.offered_zones(chat.language)
    if current is not None and current not in offered and chat.settings.timezone_chosen:
        offered = (current, *offered)  # a zone they chose, and its check mark, stay in view
    left = _left(chat)
    if left in offered and current is None:
        offered = (*(zone for zone in offered if zone != left), left)  # "back home": the place left goes last

    def place(zone: str) -> ScreenButton:
        label = found.place_label(zone, chat.language)
        return ScreenButton(CHOSEN + label if zone == current else label, data=encode(TimezoneChoice(zone)))

    buttons = [place(zone) for zone in offered]
    budget = chat.engine.flow.budget or Budget()
    packed = shared_rows([button.label for button in buttons], budget.shared_label_columns)
    rows = tuple(tuple(buttons[index] for index in row) for row in packed)
    return (*rows, (ScreenButton(chat.text("ui.where.other"), data=encode(TypePlace())),))


def _left(chat: Chat) -> str | None:
    """Returns the zone the person's answers say they have left (New Caledonia, for "back home"), if any."""
    if chat.settings.timezone_chosen or chat.conversation is None:
        return None
    guess = chat.engine.assumed_zone(chat.conversation)
    return guess.away_from if guess is not None and not guess.named else None


def where_question(chat: Chat, *, asked: bool = True) -> str:
    """Returns "where are you now?", naming the zone used until the person answers and its time now, when
    their answers named it (back home in France); a zone guessed from their language goes unnamed.

    Not ``asked`` (under a reminder's screen, after their answers placed them): the zone is confirmed, with
    the places to tap if it is not theirs, rather than asking again where they are.
    """
    if not chat.placed:
        # Someone who told the flow they have left ("back home", "somewhere else") is asked which place.
        return chat.text("ui.where.ask_away" if _left(chat) is not None else "ui.where.ask")
    values = {
        "zone": chat.engine.places.zone_label(chat.settings.timezone, chat.language),
        "now": chat.clock(),
    }
    return chat.text("ui.where.prompt" if asked else "ui.where.confirm", values)


def where_prompt(chat: Chat, *, edit: int | None = None) -> OutgoingMessage:
    """Returns "where are you now?" as a message of its own (/timezone)."""
    return OutgoingMessage(chat.id, where_question(chat), where_rows(chat), edit)


def ask_where(chat: Chat, result: Result, effects: Sequence[Effect]) -> Result:
    """After a step that schedules a reminder, its screen says when the reminder comes and, until the
    person has said where they are, "where are you now?" follows as a short message of its own.

    Until they answer, the zone is where their answers place them (the flow's ``zones``: someone back in
    France reads Paris times, named), else the likeliest for their language, which is never shown as a
    clock time ("Next reminder: in 1 week"): a French speaker in Lyon is not first told a Nouméa time,
    nor a Chinese speaker still in Nouméa a Shanghai one. Answers that settle it ("in New Caledonia")
    are not asked again.
    """
    if not any(isinstance(effect, ScheduleReminder) for effect in effects):
        return result
    settings = result.settings
    if not settings.timezone_chosen:
        settings = assumed_settings(chat, result.conversation, settings)
    placed = replace(chat, settings=settings, conversation=result.conversation)
    line = next_reminder_line(placed, effects)
    messages = tuple(
        replace(m, text=f"{m.text}\n\n{line}") if m.shows_screen and line else m for m in result.messages
    )
    # A schedule that goes on (waiting longer after the last reminder) was asked about at its start.
    first = any(isinstance(effect, ScheduleReminder) and effect.sequence == 1 for effect in effects)
    if not settings.timezone_chosen and first:
        messages = (
            *messages,
            OutgoingMessage(chat.id, where_question(placed, asked=False), where_rows(placed)),
        )
    return replace(result, settings=settings, messages=messages)


def assumed_settings(chat: Chat, conversation: Conversation | None, settings: UserSettings) -> UserSettings:
    """Returns the settings with the zone the answers (or else the language) make likeliest."""
    guess = chat.engine.assumed_zone(conversation) if conversation is not None else None
    if guess is None:
        return replace(settings, timezone=chat.engine.places.preselected(chat.language))
    return replace(settings, timezone=guess.zone, timezone_chosen=guess.known)


def on_screen(chat: Chat, message_id: int | None) -> bool:
    """Tells whether a pressed message is the chat's screen (where the question sits under the step)."""
    return chat.on_screen(message_id) and chat.conversation is not None


def type_place_button(chat: Chat, message_id: int | None) -> Result:
    """Invites typing a city or a UTC offset, and listens for it (stored, so any process understands it)."""
    settings = replace(chat.settings, timezone_asked_at=chat.now)
    listening = replace(chat, settings=settings)
    if on_screen(chat, message_id):
        return _screen_with_note(listening, listening.text("ui.where.type"), message_id)
    return Result(settings, chat.conversation, (chat.notice("ui.where.type", edit=message_id),))


def _screen_with_note(chat: Chat, note: str, message_id: int | None) -> Result:
    """Shows the current step again in full, in place, with a note under it (and no question left)."""
    conversation = chat.conversation
    if conversation is None:
        return start_over(chat)
    screen = screen_of(chat, conversation)
    message = OutgoingMessage(chat.id, f"{screen.text}\n\n{note}", screen.rows, message_id, shows_screen=True)
    return chat.keep(message)


async def set_timezone(chat: Chat, wanted: str, *, edit: int | None) -> Result:
    """Sets the zone a person typed or picked and moves their pending reminders into its waking hours,
    or says it is unknown (quoting them, never storing it)."""
    try:
        zone = parse_timezone(wanted, chat.engine.places.find_zone)
    except ValueError:
        quoted = wanted[:QUOTED_INPUT_CHARACTERS]
        unknown = chat.notice("ui.timezone.unknown", {"input": quoted}, edit=edit)
        # Still listening: the next thing typed is read as another try.
        listening = replace(chat.settings, timezone_asked_at=chat.now)
        return Result(listening, chat.conversation, direct=(unknown,))
    settings = replace(chat.settings, timezone=str(zone), timezone_chosen=True, timezone_asked_at=None)
    placed = replace(chat, settings=settings)
    # Rescheduled at the same instant, which the commit then moves out of the new zone's quiet hours.
    moved: tuple[Effect, ...] = tuple(
        ScheduleReminder(reminder.name, reminder.due_at - chat.now, reminder.sequence)
        for reminder in await chat.pending_reminders()
    )
    done = placed.text(
        "ui.where.set",
        {"zone": placed.engine.places.zone_label(zone, placed.language), "now": placed.clock()},
    )
    line = next_reminder_line(placed, moved)
    note = f"{done}\n{line}" if line else done
    if on_screen(chat, edit):
        shown = _screen_with_note(placed, note, edit)
    else:
        shown = at_hand(placed, note, edit=edit)
    return shown.adding(moved)
