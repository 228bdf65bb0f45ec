"""Turns a unit's result into the one store commit: reminders, funnel events, outbox, conversation."""

from __future__ import annotations

from datetime import datetime

from bot.engine import CancelReminders, EnteredState, ScheduleReminder
from bot.engine.conversation import Conversation
from bot.runtime.chat import Result
from bot.runtime.messages import payloads
from bot.store import Commit, FlowEvent, NewReminder, StoredConversation

__all__ = ["stored", "to_commit", "unstored"]


def to_commit(
    chat_id: int,
    result: Result,
    now: datetime,
    *,
    update_id: int | None = None,
    consumed_reminder_id: int | None = None,
) -> Commit:
    """Returns the commit that applies ``result``; its reminders are due outside the chat's quiet hours
    (once the person has given their zone)."""
    settings = result.settings
    cancel_all = False
    cancelled: set[str] = set()
    scheduled: dict[str, NewReminder] = {}
    events: list[FlowEvent] = []
    conversation = result.conversation
    for effect in result.effects:
        if isinstance(effect, CancelReminders):
            if effect.names is None:
                cancel_all = True
                scheduled.clear()
            else:
                cancelled |= effect.names
                for name in effect.names:
                    scheduled.pop(name, None)
        elif isinstance(effect, ScheduleReminder):
            due = now + effect.delay
            if settings.timezone_chosen:
                due = settings.sendable_from(due)
            # A zone the person has not given yet may still change: the reminder keeps its plain moment, and
            # the quiet hours of the zone known when it falls due apply then (bot.runtime.due). Moved out of
            # a guessed zone's night now, it would come a day late once they say where they are.
            scheduled[effect.name] = NewReminder(effect.name, due, effect.sequence)
        elif isinstance(effect, EnteredState) and conversation is not None:
            events.append(
                FlowEvent(chat_id, conversation.flow_id, conversation.flow_version, effect.state, now)
            )
    return Commit(
        chat_id=chat_id,
        update_id=update_id,
        settings=settings,
        conversation=None if conversation is None else stored(conversation),
        cancel_reminders=None if cancel_all else frozenset(cancelled),
        schedule=tuple(scheduled.values()),
        outbox=payloads(result.messages),
        events=tuple(events),
        consumed_reminder_id=consumed_reminder_id,
    )


def stored(conversation: Conversation) -> StoredConversation:
    """Returns the engine's conversation as the store keeps it."""
    return StoredConversation(
        flow_id=conversation.flow_id,
        flow_version=conversation.flow_version,
        state=conversation.state,
        language=conversation.language,
        step=conversation.step,
        variables=conversation.variables,
        checklist=conversation.checklist,
        finished=conversation.finished,
        asking=conversation.asking,
    )


def unstored(conversation: StoredConversation) -> Conversation:
    """Returns a stored conversation as the engine's."""
    return Conversation(
        flow_id=conversation.flow_id,
        flow_version=conversation.flow_version,
        state=conversation.state,
        language=conversation.language,
        step=conversation.step,
        variables=conversation.variables,
        checklist=conversation.checklist,
        finished=conversation.finished,
        asking=conversation.asking,
    )
