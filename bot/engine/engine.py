"""The flow engine: one shared ``transitions`` machine per flow version advances every conversation.

A conversation is plain data; to step it the engine wraps it in a short-lived stepper object, fires the
event on the shared machine (no ``add_model``: a machine's events take any object with a ``state``), and
returns the new conversation with the effects the step produced. Nothing from YAML is ever resolved as a
Python name: actions and conditions are closures built here, from the validated flow.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Any

from transitions import Machine

from bot.callbacks import FlowPress, ReminderAnswer, ReminderPress, decode, encode
from bot.engine.conversation import (
    CancelReminders,
    Conversation,
    Effect,
    Ended,
    EnteredState,
    ScheduleReminder,
    VariableValue,
)
from bot.flows import FlowBundle, Trigger, button_id, edges
from bot.flows import model as m
from bot.flows.meanings import Meanings, meanings_of, renamed
from bot.flows.texts import PLACEHOLDER
from bot.places import Places

__all__ = [
    "SNOOZE_CHOICES",
    "AssumedZone",
    "FlowEngine",
    "Markup",
    "Moved",
    "Outcome",
    "ReminderAnswer",
    "ReminderPace",
    "Screen",
    "ScreenButton",
    "StepResult",
    "fill",
]

CHECKED, UNCHECKED = "✅", "⬜"

# Where a conversation is before its first screen; "begin" leads from there to the flow's start state.
# Not a snake_case id, so no state of a flow can have that name.
_NEW = "(new)"
_BEGIN = "begin"
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


class Outcome(Enum):
    """What a press did."""

    ADVANCED = "advanced"
    STALE = "stale"
    FOREIGN = "foreign"
    FINISHED = "finished"


SNOOZE_CHOICES: Mapping[ReminderAnswer, timedelta] = {
    ReminderAnswer.SNOOZE_HOUR: timedelta(hours=1),
    ReminderAnswer.SNOOZE_TOMORROW: timedelta(days=1),
    ReminderAnswer.SNOOZE_3DAYS: timedelta(days=3),
}

_ANSWER_LABELS = {
    ReminderAnswer.CONFIRMED: "ui.reminder.confirmed",
    ReminderAnswer.SNOOZE_HOUR: "ui.reminder.snooze_hour",
    ReminderAnswer.SNOOZE_TOMORROW: "ui.reminder.snooze_tomorrow",
    ReminderAnswer.SNOOZE_3DAYS: "ui.reminder.snooze_3days",
    ReminderAnswer.HELP: "ui.reminder.help",
    ReminderAnswer.STOP: "ui.reminder.stop",
}


class Markup(str):
    """Telegram HTML that is already safe: a placeholder value inserted as it is, not escaped."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ScreenButton:
    """One inline button: it carries callback ``data`` (written by bot.callbacks), opens ``url``, or copies ``copy_text``."""

    label: str
    data: str | None = None
    url: str | None = None
    copy_text: str | None = None

    def __post_init__(self) -> None:
        if [self.data, self.url, self.copy_text].count(None) != 2:
            raise ValueError(f"button {self.label!r} needs exactly one of data, url and copy_text")


@dataclass(frozen=True, slots=True)
class Screen:
    """A message to show: Telegram HTML text and rows of buttons."""

    text: str
    rows: tuple[tuple[ScreenButton, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Moved:
    """A stored conversation on this flow version, and the notice (a text key) owed to its person, if any."""

    conversation: Conversation
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """The conversation after a step, what the step asks the outside world to do, and what to show."""

    conversation: Conversation
    screen: Screen
    effects: tuple[Effect, ...] = ()
    outcome: Outcome = Outcome.ADVANCED
    toast: str | None = None


class _Stepper:
    """The model object ``transitions`` moves: lives for one step only."""

    __slots__ = ("checklist", "effects", "state", "variables")

    def __init__(self, conversation: Conversation) -> None:
        self.state = conversation.state
        self.variables: dict[str, VariableValue] = dict(conversation.variables)
        self.checklist = set(conversation.checklist)
        self.effects: list[Effect] = []


_Callback = Callable[[Any], None]
_Predicate = Callable[[Mapping[str, VariableValue]], bool]


@dataclass(frozen=True, slots=True)
class AssumedZone:
    """The zone a person's answers place them in; ``known`` when the answers settle it."""

    zone: str
    known: bool


@dataclass(frozen=True, slots=True)
class _CompiledButton:
    id: str
    visible: _Predicate
    source: m.GotoButton | m.UrlButton | m.ToggleButton | m.LinksButton | m.CopyButton


@dataclass(slots=True)
class _CompiledState:
    name: str
    definition: m.State
    rows: list[list[_CompiledButton]] = field(default_factory=list)
    buttons: dict[str, _CompiledButton] = field(default_factory=dict)


class FlowEngine:
    """Advances conversations through one flow version. Thread-compatible and shared by all chats."""

    def __init__(self, bundle: FlowBundle, earlier: Mapping[str, Meanings] | None = None) -> None:
        self.bundle = bundle
        self.flow = bundle.flow
        self.version = bundle.version
        self.meanings = meanings_of(self.flow, self.version)
        self.places = Places.of(bundle.languages)
        """The languages' places, zone names and day words: reloaded with the texts."""
        self.earlier: Mapping[str, Meanings] = {
            version: meanings for version, meanings in (earlier or {}).items() if version != self.version
        }
        """Earlier versions' meanings: their buttons still work where this version means the same."""
        self.moved_states = {old: new for new, state in self.flow.states.items() for old in state.moved_from}
        self.moved_reminders = {
            old: new for new, reminder in self.flow.reminders.items() for old in reminder.moved_from
        }
        self._texts = bundle.texts
        self._states: dict[str, _CompiledState] = {}
        self._reminder_states = {name: frozenset(r.active_in) for name, r in self.flow.reminders.items()}
        self._timings = {name: self._compile_timings(r) for name, r in self.flow.reminders.items()}
        self._state_texts = {name: self._compile_text(state.text) for name, state in self.flow.states.items()}
        self._zones = tuple((self._predicate(guess.when), guess) for guess in self.flow.zones)
        self.machine = self._compile()

    # -- compiling the flow into one machine ------------------------------------------------------

    def _predicate(self, condition: m.Condition | None) -> _Predicate:
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

    def _compile_text(self, text: str | Sequence[m.TextVariant]) -> tuple[tuple[_Predicate, str], ...]:
        """Returns a screen's text variants as (condition, key), the fallback last."""
        if isinstance(text, str):
            return ((self._predicate(None), text),)
        return tuple((self._predicate(variant.when), variant.text) for variant in text)

    def _compile_timings(self, reminder: m.Reminder) -> tuple[tuple[_Predicate, ReminderPace], ...]:
        """Returns a reminder's paces as (condition, pace), its own first_after/every/count last."""
        own = ReminderPace(reminder.first_after, reminder.every, reminder.count)
        paces = [
            (self._predicate(t.when), ReminderPace(t.first_after, t.every, t.count)) for t in reminder.timing
        ]
        return (*paces, (self._predicate(None), own))

    def timing(self, name: str, variables: Mapping[str, VariableValue]) -> ReminderPace:
        """Returns the pace of reminder ``name`` for a conversation with these variables."""
        return next(pace for holds, pace in self._timings[name] if holds(variables))

    def _action(self, action: m.Action) -> _Callback:
        if isinstance(action, m.SetAction):
            assignments = dict(action.set)

            def assign(event: Any) -> None:
                event.model.variables.update(assignments)

            return assign
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
            name = action.schedule
            reminder = self.flow.reminders[name]
            then_every, after_last = reminder.then_every, reminder.after_last

            def schedule(event: Any) -> None:
                pace = self.timing(name, event.model.variables)
                # A "before" callback: the model is still in the state the button was pressed on.
                if then_every is not None and after_last is not None and event.model.state == after_last:
                    # Asked again after the last reminder: go on at the calmer pace rather than from the start.
                    event.model.effects.extend(self._scheduling(name, then_every, pace.count + 1))
                else:
                    event.model.effects.extend(self._scheduling(name, pace.first_after, 1))

            return schedule
        if isinstance(action, m.RunAction):
            raise AssertionError(f"action group '{action.run}' was not expanded by the loader")
        names = None if action.cancel == "all" else frozenset({action.cancel})
        cancel = CancelReminders(names)
        return lambda event: event.model.effects.append(cancel)

    def _actions(self, actions: Sequence[m.Action]) -> list[_Callback]:
        return [self._action(action) for action in actions]

    def _entered(self, name: str, state: m.State) -> _Callback:
        entered: Effect = EnteredState(name)
        leaving = frozenset(r for r, states in self._reminder_states.items() if name not in states)
        cancel_left = CancelReminders(leaving) if leaving else None
        ended: Effect | None = Ended(name) if state.final else None

        def on_enter(event: Any) -> None:
            effects = event.model.effects
            effects.append(entered)
            if cancel_left is not None:
                effects.append(cancel_left)
            if ended is not None:
                effects.append(CancelReminders(None))
                effects.append(ended)

        return on_enter

    def _compile(self) -> Machine:
        states: list[dict[str, Any]] = [{"name": _NEW}]
        for name, state in self.flow.states.items():
            compiled = _CompiledState(name, state)
            for row_index, row in enumerate(state.buttons):
                compiled_row = []
                for column, button in enumerate(row):
                    identifier = (
                        button_id(button, row_index, column)
                        if isinstance(button, m.GotoButton | m.ToggleButton)
                        else f"{row_index}_{column}"
                    )
                    entry = _CompiledButton(identifier, self._predicate(button.when), button)
                    compiled_row.append(entry)
                    compiled.buttons[identifier] = entry
                compiled.rows.append(compiled_row)
            self._states[name] = compiled
            states.append(
                {"name": name, "on_enter": [self._entered(name, state), *self._actions(state.on_enter)]}
            )
        # A conversation enters its start state through the machine too, from a state of its own.
        begin = {
            "trigger": _BEGIN,
            "source": _NEW,
            "dest": self.flow.start,
            "before": [_cancel_all_reminders],
        }
        transitions: list[dict[str, Any]] = [begin]
        for edge in edges(self.flow):
            transition: dict[str, Any] = {
                "trigger": f"{_EVENTS[edge.trigger]}:{edge.name}",
                "source": edge.source,
                "dest": edge.target,
                "before": self._actions(edge.do),
            }
            if edge.when is not None:
                transition["conditions"] = [_condition(self._predicate(edge.when))]
            transitions.append(transition)
        # One machine per flow version, shared by every conversation; no model is ever added to it.
        return Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=_NEW,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    # -- stepping ---------------------------------------------------------------------------------

    def _fire(self, conversation: Conversation, trigger: str) -> tuple[Conversation, tuple[Effect, ...]]:
        stepper = _Stepper(conversation)
        self.machine.events[trigger].trigger(stepper)
        finished = self.flow.states[stepper.state].final
        advanced = replace(
            conversation,
            state=stepper.state,
            variables=stepper.variables,
            checklist=frozenset(stepper.checklist),
            step=conversation.step + 1,
            finished=finished,
        )
        return advanced, tuple(stepper.effects)

    def start(self, language: str, deep_link: str | None = None) -> StepResult:
        """Starts a fresh conversation, optionally jumping where a deep link points."""
        variables = {name: variable.default for name, variable in self.flow.variables.items()}
        fresh = Conversation(self.flow.id, self.version, _NEW, language, 0, variables)
        conversation, effects = self._fire(fresh, _BEGIN)
        if deep_link is not None and deep_link in self.flow.deep_links:
            conversation, more = self._fire(conversation, f"link:{deep_link}")
            effects += more
        return StepResult(conversation, self.render(conversation), effects)

    def adopt(self, conversation: Conversation) -> Conversation:
        """Returns a stored conversation moved onto this flow version (see :meth:`move`)."""
        return self.move(conversation).conversation

    def move(self, conversation: Conversation) -> Moved:
        """Moves a stored conversation onto this flow version.

        A state still there keeps the conversation where it is (same step: buttons whose meaning did not
        change keep working); a renamed one goes where ``moved_from`` says; a removed one goes to the
        flow's ``fallback`` with its notice, or, without one, back to the start.
        """
        if conversation.flow_version == self.version:
            return Moved(conversation)
        state, step, notice = conversation.state, conversation.step, None
        if state not in self.flow.states:
            if state in self.moved_states:
                state = self.moved_states[state]
            elif self.flow.fallback is not None:
                # A different screen: the old one's buttons must not count on this one.
                state, step, notice = self.flow.fallback.to, step + 1, self.flow.fallback.notice
            else:
                return Moved(self.start(conversation.language).conversation)
        known = {k: v for k, v in conversation.variables.items() if k in self.flow.variables}
        moved = replace(
            conversation,
            flow_version=self.version,
            state=state,
            variables=known,
            checklist=frozenset(i for i in conversation.checklist if i in self.flow.checklist),
            step=step,
            finished=self.flow.states[state].final,
        )
        return Moved(moved, notice)

    def _carried(self, pressed: FlowPress) -> FlowPress | None:
        """Returns an earlier version's button as this version's, when it means the same here; else None."""
        earlier = self.earlier.get(pressed.version)
        if earlier is None:
            return None
        state = self.moved_states.get(pressed.state, pressed.state)
        meaning = earlier.buttons.get((pressed.state, pressed.button))
        now = self.meanings.buttons.get((state, pressed.button))
        if meaning is None or now != renamed(meaning, self.moved_states):
            return None
        return FlowPress(self.version, pressed.step, state, pressed.button)

    def _scheduling(self, name: str, delay: timedelta, sequence: int) -> tuple[Effect, ...]:
        """Returns the effects that schedule a reminder, dropping any left under one of its former names."""
        schedule = ScheduleReminder(name, delay, sequence)
        former = self.flow.reminders[name].moved_from
        return (CancelReminders(frozenset(former)), schedule) if former else (schedule,)

    def reminder_name(self, name: str) -> str:
        """Returns a reminder's name in this version (a renamed reminder's new name)."""
        return self.moved_reminders.get(name, name)

    def press(self, conversation: Conversation, data: str) -> StepResult:
        """Applies a flow button given by its callback data; an old or foreign button changes nothing."""
        pressed = decode(data)
        if not isinstance(pressed, FlowPress):
            # Data this bot never wrote for a flow screen: treated like a button of another version.
            return self._refuse(conversation, Outcome.FOREIGN, "ui.flow_updated")
        if pressed.version != self.version:
            carried = self._carried(pressed)
            if carried is None:
                return self._refuse(conversation, Outcome.FOREIGN, "ui.flow_updated")
            pressed, data = carried, carried.wire
        if conversation.finished:
            return self._refuse(conversation, Outcome.FINISHED, "ui.finished_button")
        current = self._states[conversation.state]
        identifier = pressed.button
        button = current.buttons.get(identifier)
        if (
            data != FlowPress(self.version, conversation.step, conversation.state, identifier).wire
            or button is None
            or not button.visible(conversation.variables)
            or not isinstance(button.source, m.GotoButton | m.ToggleButton)
        ):
            return self._refuse(conversation, Outcome.STALE, "ui.stale_button")
        advanced, effects = self._fire(conversation, f"press:{identifier}")
        toast = None
        if isinstance(button.source, m.GotoButton) and button.source.toast:
            toast = self.text(conversation.language, button.source.toast, advanced.variables)
        return StepResult(advanced, self.render(advanced), effects, Outcome.ADVANCED, toast)

    def _refuse(self, conversation: Conversation, outcome: Outcome, key: str) -> StepResult:
        return StepResult(
            conversation, self.render(conversation), (), outcome, self.plain(conversation.language, key)
        )

    # -- reminders --------------------------------------------------------------------------------

    def reminder_pending(self, conversation: Conversation, name: str) -> bool:
        """Tells whether a reminder still concerns the conversation (it has not moved on or ended)."""
        states = self._reminder_states.get(self.reminder_name(name))
        return states is not None and not conversation.finished and conversation.state in states

    def reminder_due(self, conversation: Conversation, name: str, sequence: int) -> StepResult | None:
        """Returns the reminder to send (and the next one to schedule), or None when it no longer applies."""
        if conversation.flow_version != self.version or not self.reminder_pending(conversation, name):
            return None
        name = self.reminder_name(name)
        reminder = self.flow.reminders[name]
        pace = self.timing(name, conversation.variables)
        calm = reminder.then_every is not None and sequence > pace.count
        last = 2 * pace.count if calm else pace.count
        if sequence >= last and reminder.after_last:
            moved, effects = self._fire(conversation, f"reminder_last:{name}")
            return StepResult(moved, self.render(moved), effects)
        following: tuple[Effect, ...] = ()
        if sequence < last:
            every = reminder.then_every if calm and reminder.then_every is not None else pace.every
            following = self._scheduling(name, every, sequence + 1)
        return StepResult(conversation, self.render_reminder(conversation, name, sequence), following)

    def assumed_zone(self, conversation: Conversation) -> AssumedZone | None:
        """Returns the zone the conversation's answers place the person in (the flow's ``zones``), if any."""
        for holds, guess in self._zones:
            if not holds(conversation.variables):
                continue
            if guess.zone is not None:
                return AssumedZone(guess.zone, guess.known)
            offered = self.places.offered_zones(conversation.language)
            return AssumedZone(next((z for z in offered if z != guess.away_from), offered[0]), guess.known)
        return None

    def reminders_of_state(self, conversation: Conversation) -> tuple[ScheduleReminder, ...]:
        """Returns the reminders to schedule again for a conversation whose reminders were turned back on."""
        if conversation.finished:
            return ()
        # At the conversation's own pace (a seller's weekly one), not the reminder's default "tomorrow".
        return tuple(
            ScheduleReminder(name, self.timing(name, conversation.variables).first_after, 1)
            for name, states in self._reminder_states.items()
            if conversation.state in states
        )

    def resets(self, conversation: Conversation, data: str) -> bool:
        """Tells whether a flow button leads back to the start clearing choices or reminders ("Start over")."""
        pressed = decode(data)
        if not isinstance(pressed, FlowPress) or conversation.finished:
            return False
        state = self._states.get(conversation.state)
        button = state.buttons.get(pressed.button) if state is not None else None
        if button is None or not isinstance(button.source, m.GotoButton):
            return False
        source = button.source
        targets = {source.to} if isinstance(source.to, str) else {branch.to for branch in source.to}
        clears = any(
            isinstance(action, m.UncheckAction | m.CancelAction)
            or (isinstance(action, m.SetAction) and None in action.set.values())
            for action in source.do
        )
        return self.flow.start in targets and clears

    def has_choices(self, conversation: Conversation) -> bool:
        """Tells whether a conversation holds anything the person chose (a variable, a ticked item)."""
        defaults = {name: variable.default for name, variable in self.flow.variables.items()}
        chosen = any(value != defaults.get(name) for name, value in conversation.variables.items())
        return chosen or bool(conversation.checklist)

    def render_reminder(self, conversation: Conversation, name: str, sequence: int) -> Screen:
        """Returns a reminder message with its answer buttons."""
        reminder = self.flow.reminders[name]
        language = conversation.language

        def answer(choice: ReminderAnswer) -> ScreenButton:
            data = encode(ReminderPress(self.version, sequence, name, choice))
            key = _ANSWER_LABELS[choice]
            if choice is ReminderAnswer.CONFIRMED and reminder.confirm_label:
                key = reminder.confirm_label  # "Bill checked" where there is no confirmation to get
            return ScreenButton(self.plain(language, key), data=data)

        rows = (
            (answer(ReminderAnswer.CONFIRMED),),
            (
                answer(ReminderAnswer.SNOOZE_HOUR),
                answer(ReminderAnswer.SNOOZE_TOMORROW),
                answer(ReminderAnswer.SNOOZE_3DAYS),
            ),
            (answer(ReminderAnswer.HELP), answer(ReminderAnswer.STOP)),
        )
        return Screen(self.text(language, reminder.text, conversation.variables), rows)

    def answer_reminder(self, conversation: Conversation, pressed: ReminderPress) -> StepResult:
        """Applies a reminder button: confirm, snooze, ask for help or stop."""
        version, sequence, choice = pressed.version, pressed.sequence, pressed.answer
        name = self.reminder_name(pressed.reminder)
        # "Stop reminders" must work from any reminder, however old the flow version that sent it.
        if version != self.version and choice is not ReminderAnswer.STOP and not self._same_reminder(pressed):
            return self._refuse(conversation, Outcome.FOREIGN, "ui.flow_updated")
        if choice is ReminderAnswer.STOP:
            return StepResult(
                conversation,
                self.render(conversation),
                (CancelReminders(None),),
                toast=self.plain(conversation.language, "ui.reminder.stopped"),
            )
        if name not in self.flow.reminders or not self.reminder_pending(conversation, name):
            return self._refuse(conversation, Outcome.STALE, "ui.stale_button")
        if choice is ReminderAnswer.CONFIRMED:
            advanced, effects = self._fire(conversation, f"reminder_confirmed:{name}")
            return StepResult(advanced, self.render(advanced), effects)
        if choice is ReminderAnswer.HELP:
            return StepResult(conversation, self.render_help(conversation, name, sequence))
        delay = SNOOZE_CHOICES[choice]
        return StepResult(
            conversation,
            self.render_reminder(conversation, name, sequence),
            self._scheduling(name, delay, sequence),
        )

    def _same_reminder(self, pressed: ReminderPress) -> bool:
        """Tells whether an earlier version's reminder means the same here (its answers lead the same way)."""
        earlier = self.earlier.get(pressed.version)
        meaning = earlier.reminders.get(pressed.reminder) if earlier is not None else None
        now = self.meanings.reminders.get(self.reminder_name(pressed.reminder))
        return meaning is not None and now == renamed(meaning, self.moved_states)

    def render_help(self, conversation: Conversation, name: str, sequence: int) -> Screen:
        """Returns the reminder's help text, the provider's support links and the reminder's buttons."""
        reminder = self.flow.reminders[name]
        language = conversation.language
        links = tuple((button,) for button in self._links(conversation, "provider.support"))
        base = self.render_reminder(conversation, name, sequence)
        return Screen(self.text(language, reminder.help, conversation.variables), links + base.rows)

    # -- rendering --------------------------------------------------------------------------------

    def plain(self, language: str, key: str, values: Mapping[str, str] | None = None) -> str:
        """Returns a runtime text with ``values`` filled in: escaped for Telegram HTML unless ``Markup``."""
        raw = self._texts.get(language, key)
        if not values:
            return raw
        return fill(raw, lambda name: values.get(name))

    def text(self, language: str, key: str, variables: Mapping[str, VariableValue]) -> str:
        """Returns a flow text with its placeholders filled from the conversation's variables."""
        return fill(self._texts.get(language, key), lambda name: self._placeholder(language, name, variables))

    def _placeholder(self, language: str, name: str, variables: Mapping[str, VariableValue]) -> str:
        variable, _, attribute = name.partition(".")
        value = variables.get(variable)
        if not attribute:
            return value or ""
        row = self.flow.providers.get(value) if value is not None else None
        if row is None:
            return ""
        if attribute in row.texts:
            return Markup(self.text(language, row.texts[attribute], variables))
        found = getattr(row, attribute, None)
        if attribute in m.PROVIDER_TEXT_FIELDS:
            # A provider's text is operator-written Telegram HTML, filled in turn.
            return Markup(self.text(language, found, variables)) if found else ""
        if attribute not in m.PROVIDER_PLAIN_FIELDS:
            return ""  # a text field this provider does not have
        return str(found or "")

    def _links(self, conversation: Conversation, path: str) -> list[ScreenButton]:
        variable, _, group = path.partition(".")
        row = self.flow.providers.get(conversation.variables.get(variable) or "")
        if row is None:
            return []
        links: list[m.Link] = getattr(row, group)
        return [ScreenButton(self.plain(conversation.language, link.text), url=link.url) for link in links]

    def render(self, conversation: Conversation) -> Screen:
        """Returns the screen of the conversation's current state."""
        state = self._states[conversation.state]
        language = conversation.language
        variables = conversation.variables
        rows: list[tuple[ScreenButton, ...]] = []
        for row in state.rows:
            rendered: list[ScreenButton] = []
            for button in row:
                if not button.visible(variables):
                    continue
                source = button.source
                if isinstance(source, m.LinksButton):
                    rows.extend((link,) for link in self._links(conversation, source.links))
                    continue
                if isinstance(source, m.UrlButton):
                    rendered.append(ScreenButton(self.plain(language, source.text), url=source.url))
                    continue
                if isinstance(source, m.CopyButton):
                    message = self._copy_text(language, source.copy_, variables)
                    if message:
                        rendered.append(ScreenButton(self.plain(language, source.text), copy_text=message))
                    continue
                data = encode(FlowPress(self.version, conversation.step, state.name, button.id))
                if isinstance(source, m.ToggleButton):
                    mark = CHECKED if source.toggle in conversation.checklist else UNCHECKED
                    label = f"{mark} {self.plain(language, self.flow.checklist[source.toggle])}"
                else:
                    label = self.plain(language, source.text)
                rendered.append(ScreenButton(label, data=data))
            if rendered:
                rows.append(tuple(rendered))
        key = next(key for holds, key in self._state_texts[state.name] if holds(variables))
        return Screen(self.text(language, key, variables), tuple(rows))

    def _copy_text(self, language: str, copy: str, variables: Mapping[str, VariableValue]) -> str:
        """Returns the message a copy button copies (empty when the provider has none)."""
        if copy.startswith("{"):
            return self._placeholder(language, copy.strip("{}"), variables)
        return self._texts.get(language, copy)


@dataclass(frozen=True, slots=True)
class ReminderPace:
    """When a reminder first falls due, how often it repeats, and how many times in all."""

    first_after: timedelta
    every: timedelta
    count: int


def fill(raw: str, value_of: Callable[[str], str | None]) -> str:
    """Fills every ``{placeholder}`` in ``raw``: the one place texts get their values.

    A value is escaped for Telegram HTML unless it is ``Markup``; an unknown placeholder stays as written.
    """
    if "{" not in raw:
        return raw

    def value(match: re.Match[str]) -> str:
        found = value_of(match[1])
        if found is None:
            return match[0]
        return found if isinstance(found, Markup) else html.escape(found, quote=False)

    return PLACEHOLDER.sub(value, raw)


def _condition(predicate: _Predicate) -> Callable[[Any], bool]:
    return lambda event: predicate(event.model.variables)


def _cancel_all_reminders(event: Any) -> None:
    # A fresh conversation replaces any earlier one: its reminders go before the start state schedules any.
    event.model.effects.append(_CANCEL_ALL)
