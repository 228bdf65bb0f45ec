"""A unit's result composes: effects are added, never replaced, whichever unit builds on another's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.engine import CancelReminders, EnteredState, ScheduleReminder
from bot.runtime.chat import Result
from bot.store import UserSettings

SETTINGS = UserSettings(1, "en")


def test_adding_effects_keeps_those_already_there() -> None:
    started = Result(SETTINGS, None).adding((EnteredState("start"),))
    stopped = started.adding((CancelReminders(None),))
    assert stopped.effects == (EnteredState("start"), CancelReminders(None))


def test_a_result_followed_by_another_keeps_both_sets_of_effects_in_order() -> None:
    first = Result(SETTINGS, None).adding((EnteredState("start"),))
    later = Result(SETTINGS, None).adding((ScheduleReminder("nudge", timedelta(days=1)),))
    assert first.then(later).effects == (EnteredState("start"), ScheduleReminder("nudge", timedelta(days=1)))


def test_effects_cannot_be_overwritten_by_replacing_the_field() -> None:
    started = Result(SETTINGS, None).adding((EnteredState("start"),))
    with pytest.raises(TypeError):
        replace(started, effects=(CancelReminders(None),))  # type: ignore[call-arg]
    kept = replace(started, toast="done")
    assert kept.effects == (EnteredState("start"),), "changing another field keeps the effects"
