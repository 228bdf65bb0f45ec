"""Turning reminders back on, on the default flow: a kept reminder keeps its moment, one whose moment passed
comes one pace after it (the calmer pace after the first round), and one never kept starts at the pace."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine import Conversation, KeptReminder, ScheduleReminder
from bot.engine.engine import FlowEngine

DAY = timedelta(days=1)
WEEK = 7 * DAY


def waiting_on(engine: FlowEngine, provider: str, state: str = "waiting") -> Conversation:
    return Conversation(
        flow_id=engine.flow.id,
        flow_version=engine.version,
        state=state,
        language="en",
        variables={"provider": provider},
    )


@pytest.mark.parametrize(
    ("due_in", "sequence", "comes_in"),
    [
        (4 * DAY, 1, 4 * DAY),  # still ahead: its own moment
        (timedelta(hours=-1), 1, WEEK - timedelta(hours=1)),  # just missed: a week after it
        (-WEEK - 2 * DAY, 2, 2 * WEEK - WEEK - 2 * DAY),  # two missed: one reminder, the next on the pace
        (timedelta(0), 3, WEEK),  # due this very moment: not at once, one pace on
        (-DAY, 6, timedelta(hours=72) - DAY),  # past the first round of 5: the calmer three days
    ],
)
def test_a_kept_airalo_reminder_comes_at_its_moment_or_the_paces_next(
    default_engine: FlowEngine, due_in: timedelta, sequence: int, comes_in: timedelta
) -> None:
    conversation = waiting_on(default_engine, "airalo")

    resumed = default_engine.reminders_resumed(
        conversation, [KeptReminder("confirm_email", due_in, sequence)]
    )

    assert resumed == (ScheduleReminder("confirm_email", comes_in, sequence),)


def test_a_step_whose_reminder_was_not_kept_starts_at_the_conversations_pace(
    default_engine: FlowEngine,
) -> None:
    conversation = waiting_on(default_engine, "nomad")

    assert default_engine.reminders_resumed(conversation, []) == (
        ScheduleReminder("confirm_email", 5 * DAY, 1),
    )


def test_a_kept_reminder_the_step_no_longer_has_is_not_brought_back(default_engine: FlowEngine) -> None:
    moved_on = waiting_on(default_engine, "airalo", state="follow_up")
    kept = [KeptReminder("confirm_email", DAY, 2)]

    assert default_engine.reminders_resumed(moved_on, kept) == ()
