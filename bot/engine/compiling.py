"""Compiling a flow version: its states, buttons, conditions and actions into one shared ``transitions`` machine.

Nothing from YAML is ever resolved as a Python name: actions and conditions are closures built here, from
the validated flow. The machine is built once per flow version and shared by every conversation; no model
is ever added to it (a machine's events take any object with a ``state``: see :mod:`bot.engine.engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from transitions import Machine

from bot.engine.conversation import (
    CancelReminders,
    Effect,
    Ended,
    EnteredState,
    ScheduleReminder,
    VariableValue,
)
from bot.flows import FlowBundle, Trigger, button_id, edges
from bot.flows import model as m

__all__ = ["BEGIN", "NEW", "CompiledButton", "CompiledFlow", "CompiledState", "Predicate", "ReminderPace"]

NEW = "(new)"
"""Where a conversation is before its first screen; not a snake_case id, so no state of a flow has that name."""
BEGIN = "begin"
"""The event that leads from :data:`NEW` to the flow's start state."""

_CANCEL_ALL = CancelReminders(None)
# The machine's event for each kind of edge: every button is pressed through "press:<button id>".
_EVENTS: Mapping[Trigger, str] = {
    Trigger.BUTTON: "press",
    Trigger.BRANCH: "press",
    Trigger.TOGGLE: "press",
    Trigger.DEEP_LINK: "link",
    Trigger.REMINDER_CONFIRMED: "reminder_confirmed",
    Trigger.REMINDER_LAST: "reminder_last",
}

_Callback = Callable[[Any], None]
Predicate = Callable[[Mapping[str, VariableValue]], bool]
"""A compiled ``when:`` condition, over a conversation's variables."""


@dataclass(frozen=True, slots=True)
class ReminderPace:
    """When a reminder first falls due, how often it repeats, and how many times in all."""

    first_after: timedelta
    every: timedelta
    count: int


@dataclass(frozen=True, slots=True)
class CompiledButton:
    """A button of a state, with its id in callback data and its compiled ``when:``."""

    id: str
    visible: Predicate
    source: m.GotoButton | m.UrlButton | m.ToggleButton | m.LinksButton | m.CopyButton


@dataclass(slots=True)
class CompiledState:
    """A state's buttons, by row (as shown) and by id (as pressed)."""

    name: str
    definition: m.State
    rows: list[list[CompiledButton]] = field(default_factory=list)
    buttons: dict[str, CompiledButton] = field(default_factory=dict)


class CompiledFlow:
    """One flow version compiled: its machine, its states' buttons, its texts' and reminders' conditions."""

    def __init__(self, bundle: FlowBundle) -> None:
        self.flow = bundle.flow
        self.version = bundle.version
        self.moved_states = {old: new for new, state in self.flow.states.items() for old in state.moved_from}
        self.moved_reminders = {
            old: new for new, reminder in self.flow.reminders.items() for old in reminder.moved_from
        }
        self.reminder_states = {name: frozenset(r.active_in) for name, r in self.flow.reminders.items()}
        """The states in which each reminder stays pending."""
        self.state_texts = {name: self._text_variants(state.text) for name, state in self.flow.states.items()}
        """Each state's text variants as (condition, key), the fallback last."""
        self._timings = {name: self._paces(r) for name, r in self.flow.reminders.items()}
        self.states: dict[str, CompiledState] = {}
        self.machine = self._machine()

    def timing(self, name: str, variables: Mapping[str, VariableValue]) -> ReminderPace:
        """Returns the pace of reminder ``name`` for a conversation with these variables."""
        return next(pace for holds, pace in self._timings[name] if holds(variables))

    def scheduling(self, name: str, delay: timedelta, sequence: int) -> tuple[Effect, ...]:
        """Returns the effects that schedule a reminder, dropping any left under one of its former names."""
        schedule = ScheduleReminder(name, delay, sequence)
        former = self.flow.reminders[name].moved_from
        return (CancelReminders(frozenset(former)), schedule) if former else (schedule,)

    def reminder_name(self, name: str) -> str:
        """Returns a reminder's name in this version (a renamed reminder's new name)."""
        return self.moved_reminders.get(name, name)

    def predicate(self, condition: m.Condition | None) -> Predicate:
        """Returns a ``when:`` condition as a function of a conversation's variables."""
        if not condition:
            return lambda _variables: True
        checks: list[tuple[str, str, frozenset[str | None]]] = []
        for path, expected in condition.items():
            variable, _, attribute = path.partition(".")
            values = frozenset(expected if isinstance(expected, list) else [expected])
            checks.append((variable, attribute, values))
        providers = self.flow.providers

        def holds(variables: Mapping[str, VariableValue]) -> bool:
            for variable, attribute, values in checks:
                value = variables.get(variable)
                if attribute:
                    row = providers.get(value) if value is not None else None
                    value = getattr(row, attribute) if row is not None else None
                if value not in values:
                    return False
            return True

        return holds

    def _text_variants(self, text: str | Sequence[m.TextVariant]) -> tuple[tuple[Predicate, str], ...]:
        if isinstance(text, str):
            return ((self.predicate(None), text),)
        return tuple((self.predicate(variant.when), variant.text) for variant in text)

    def _paces(self, reminder: m.Reminder) -> tuple[tuple[Predicate, ReminderPace], ...]:
        """Returns a reminder's paces as (condition, pace), its own first_after/every/count last."""
        own = ReminderPace(reminder.first_after, reminder.every, reminder.count)
        paces = [
            (self.predicate(t.when), ReminderPace(t.first_after, t.every, t.count)) for t in reminder.timing
        ]
        return (*paces, (self.predicate(None), own))

    def _action(self, action: m.Action) -> _Callback:
        if isinstance(action, m.SetAction):
            assignments = dict(action.set)
            return lambda event: event.model.variables.update(assignments)
        if isinstance(action, m.ToggleAction):
            item = action.toggle
            return lambda event: event.model.checklist.symmetric_difference_update({item})
        if isinstance(action, m.CheckAction):
            item = action.check
            return lambda event: event.model.checklist.add(item)
        if isinstance(action, m.UncheckAction):
            unticked = action.uncheck
            return lambda event: event.model.checklist.discard(unticked)
        if isinstance(action, m.ScheduleAction):
            return self._schedule(action.schedule)
        if isinstance(action, m.RunAction):
            raise AssertionError(f"action group '{action.run}' was not expanded by the loader")
        names = None if action.cancel == "all" else frozenset({action.cancel})
        cancel = CancelReminders(names)
        return lambda event: event.model.effects.append(cancel)

    def _schedule(self, name: str) -> _Callback:
        reminder = self.flow.reminders[name]
        then_every, after_last = reminder.then_every, reminder.after_last

        def schedule(event: Any) -> None:
            pace = self.timing(name, event.model.variables)
            # A "before" callback: the model is still in the state the button was pressed on.
            if then_every is not None and after_last is not None and event.model.state == after_last:
                # Asked again after the last reminder: go on at the calmer pace rather than from the start.
                event.model.effects.extend(self.scheduling(name, then_every, pace.count + 1))
            else:
                event.model.effects.extend(self.scheduling(name, pace.first_after, 1))

        return schedule

    def _actions(self, actions: Sequence[m.Action]) -> list[_Callback]:
        return [self._action(action) for action in actions]

    def _entered(self, name: str, state: m.State) -> _Callback:
        entered: Effect = EnteredState(name)
        leaving = frozenset(r for r, states in self.reminder_states.items() if name not in states)
        cancel_left = CancelReminders(leaving) if leaving else None
        ended: Effect | None = Ended(name) if state.final else None

        def on_enter(event: Any) -> None:
            effects = event.model.effects
            effects.append(entered)
            if cancel_left is not None:
                effects.append(cancel_left)
            if ended is not None:
                effects.append(_CANCEL_ALL)
                effects.append(ended)

        return on_enter

    def _state(self, name: str, state: m.State) -> CompiledState:
        compiled = CompiledState(name, state)
        for row_index, row in enumerate(state.buttons):
            compiled_row = []
            for column, button in enumerate(row):
                identifier = (
                    button_id(button, row_index, column)
                    if isinstance(button, m.GotoButton | m.ToggleButton)
                    else f"{row_index}_{column}"
                )
                entry = CompiledButton(identifier, self.predicate(button.when), button)
                compiled_row.append(entry)
                compiled.buttons[identifier] = entry
            compiled.rows.append(compiled_row)
        return compiled

    def _machine(self) -> Machine:
        states: list[dict[str, Any]] = [{"name": NEW}]
        for name, state in self.flow.states.items():
            self.states[name] = self._state(name, state)
            states.append(
                {"name": name, "on_enter": [self._entered(name, state), *self._actions(state.on_enter)]}
            )
        # A conversation enters its start state through the machine too, from a state of its own.
        begin = {"trigger": BEGIN, "source": NEW, "dest": self.flow.start, "before": [_cancel_all_reminders]}
        transitions: list[dict[str, Any]] = [begin]
        for edge in edges(self.flow):
            transition: dict[str, Any] = {
                "trigger": f"{_EVENTS[edge.trigger]}:{edge.name}",
                "source": edge.source,
                "dest": edge.target,
                "before": self._actions(edge.do),
            }
            if edge.when is not None:
                transition["conditions"] = [_condition(self.predicate(edge.when))]
            transitions.append(transition)
        # One machine per flow version, shared by every conversation; no model is ever added to it.
        return Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=NEW,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )


def _condition(predicate: Predicate) -> Callable[[Any], bool]:
    return lambda event: predicate(event.model.variables)


def _cancel_all_reminders(event: Any) -> None:
    # A fresh conversation replaces any earlier one: its reminders go before the start state schedules any.
    event.model.effects.append(_CANCEL_ALL)
