"""Stepping conversations: one compiled flow version advances every conversation, shared by all chats.

A conversation is plain data; to step it the engine wraps it in a short-lived stepper object, fires the
event on the flow's shared machine (:mod:`bot.engine.compiling`: no ``add_model``), and returns the new
conversation with the effects the step produced and its screen (:mod:`bot.engine.rendering`). Presses come
in decoded: the callback data's wire form belongs to the runtime (:mod:`bot.callbacks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum

from bot.callbacks import FlowPress, ReminderAnswer, ReminderPress
from bot.engine.compiling import BEGIN, NEW, CompiledFlow
from bot.engine.conversation import (
    CancelReminders,
    Conversation,
    Effect,
    KeptReminder,
    ScheduleReminder,
    VariableValue,
)
from bot.engine.rendering import Renderer
from bot.engine.screens import Screen
from bot.flows import FlowBundle
from bot.flows import model as m
from bot.flows.meanings import Meanings, meanings_of, renamed
from bot.places import Places
from bot.words import Vocabulary

__all__ = ["SNOOZE_CHOICES", "AssumedZone", "FlowEngine", "Moved", "Outcome", "StepResult"]


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


@dataclass(frozen=True, slots=True)
class AssumedZone:
    """The zone a person's answers place them in; ``known`` when the answers settle it.

    ``named`` when the answers name the place (in New Caledonia, back home in France): its times may be
    shown. A guess from the person's language (``away_from``) is not: no clock time until they say.
    """

    zone: str
    known: bool
    named: bool
    away_from: str | None = None


class FlowEngine:
    """Advances conversations through one flow version. Thread-compatible and shared by all chats.

    ``compiled`` is the flow compiled into its machine; ``renderer`` shows conversations and texts.
    """

    def __init__(self, bundle: FlowBundle, earlier: Mapping[str, Meanings] | None = None) -> None:
        self.bundle = bundle
        self.flow = bundle.flow
        self.version = bundle.version
        self.meanings = meanings_of(self.flow, self.version)
        self.places = Places.of(bundle.languages)
        """The languages' places, zone names and day words: reloaded with the texts."""
        self.words = Vocabulary.of(bundle.languages)
        """The languages' typed words and the deep links they suggest: reloaded with the texts."""
        self.earlier: Mapping[str, Meanings] = {
            version: meanings for version, meanings in (earlier or {}).items() if version != self.version
        }
        """Earlier versions' meanings: their buttons still work where this version means the same."""
        self.compiled = CompiledFlow(bundle)
        self.renderer = Renderer(self.compiled, bundle.texts)

    def start(self, language: str, deep_link: str | None = None) -> StepResult:
        """Starts a fresh conversation, optionally jumping where a deep link points."""
        variables = {name: variable.default for name, variable in self.flow.variables.items()}
        fresh = Conversation(self.flow.id, self.version, NEW, language, 0, variables)
        conversation, effects = self._fire(fresh, BEGIN)
        if deep_link is not None and deep_link in self.flow.deep_links:
            conversation, more = self._fire(conversation, f"link:{deep_link}")
            effects += more
        return StepResult(conversation, self.renderer.render(conversation), effects)

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
            if state in self.compiled.moved_states:
                state = self.compiled.moved_states[state]
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

    def press(self, conversation: Conversation, pressed: FlowPress) -> StepResult:
        """Applies a flow button; an old or foreign button changes nothing."""
        if pressed.version != self.version:
            carried = self._carried(pressed)
            if carried is None:
                return self._refuse(conversation, Outcome.FOREIGN, "ui.flow_updated")
            pressed = carried
        if conversation.finished:
            return self._refuse(conversation, Outcome.FINISHED, "ui.finished_button")
        identifier = pressed.button
        button = self.compiled.states[conversation.state].buttons.get(identifier)
        if (
            pressed != FlowPress(self.version, conversation.step, conversation.state, identifier)
            or button is None
            or not button.visible(conversation.variables)
            or not isinstance(button.source, m.GotoButton | m.ToggleButton)
        ):
            return self._refuse(conversation, Outcome.STALE, "ui.stale_button")
        advanced, effects = self._fire(conversation, f"press:{identifier}")
        toast = None
        if isinstance(button.source, m.GotoButton) and button.source.toast:
            toast = self.renderer.text(conversation.language, button.source.toast, advanced.variables)
        return StepResult(advanced, self.renderer.render(advanced), effects, Outcome.ADVANCED, toast)

    def resets(self, conversation: Conversation, pressed: FlowPress) -> bool:
        """Tells whether a flow button leads back to the start clearing choices or reminders ("Start over")."""
        if conversation.finished:
            return False
        state = self.compiled.states.get(conversation.state)
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

    # -- reminders --------------------------------------------------------------------------------

    def reminder_pending(self, conversation: Conversation, name: str) -> bool:
        """Tells whether a reminder still concerns the conversation (it has not moved on or ended)."""
        states = self.compiled.reminder_states.get(self.compiled.reminder_name(name))
        return states is not None and not conversation.finished and conversation.state in states

    def reminder_due(self, conversation: Conversation, name: str, sequence: int) -> StepResult | None:
        """Returns the reminder to send (and the next one to schedule), or None when it no longer applies."""
        if conversation.flow_version != self.version or not self.reminder_pending(conversation, name):
            return None
        name = self.compiled.reminder_name(name)
        reminder = self.flow.reminders[name]
        pace = self.compiled.timing(name, conversation.variables)
        calm = reminder.then_every is not None and sequence > pace.count
        last = 2 * pace.count if calm else pace.count
        if sequence >= last and reminder.after_last:
            moved, effects = self._fire(conversation, f"reminder_last:{name}")
            return StepResult(moved, self.renderer.render(moved), effects)
        following: tuple[Effect, ...] = ()
        if sequence < last:
            following = self.compiled.scheduling(
                name, self._every(conversation, name, sequence), sequence + 1
            )
        return StepResult(
            conversation, self.renderer.render_reminder(conversation, name, sequence), following
        )

    def _every(self, conversation: Conversation, name: str, sequence: int) -> timedelta:
        """Returns how long after reminder number ``sequence`` the next one comes, at the conversation's pace
        (the calmer ``then_every`` once the first round is over)."""
        reminder = self.flow.reminders[name]
        pace = self.compiled.timing(name, conversation.variables)
        calm = reminder.then_every is not None and sequence > pace.count
        return reminder.then_every if calm and reminder.then_every is not None else pace.every

    def reminders_of_state(self, conversation: Conversation) -> tuple[ScheduleReminder, ...]:
        """Returns the reminders to schedule again for a conversation whose reminders were turned back on."""
        if conversation.finished:
            return ()
        # At the conversation's own pace (a seller's weekly one), not the reminder's default "tomorrow".
        return tuple(
            ScheduleReminder(name, self.compiled.timing(name, conversation.variables).first_after, 1)
            for name, states in self.compiled.reminder_states.items()
            if conversation.state in states
        )

    def reminders_resumed(
        self, conversation: Conversation, kept: Sequence[KeptReminder]
    ) -> tuple[Effect, ...]:
        """Returns what turns a conversation's reminders back on after a stop: each one kept meanwhile at
        its own moment, or, when that moment passed while they were off, at the first moment its pace
        reaches after now (one reminder, not one per moment missed, and the same number: it was never sent).
        A reminder of the step that was not kept (stopped before reminders were kept) starts at the pace.
        """
        by_name = {
            self.compiled.reminder_name(k.name): k
            for k in kept
            if self.reminder_pending(conversation, k.name)
        }
        effects: list[Effect] = []
        for fresh in self.reminders_of_state(conversation):
            reminder = by_name.get(fresh.name)
            if reminder is None:
                effects.append(fresh)
                continue
            due_in = reminder.due_in
            if due_in <= timedelta(0):
                every = self._every(conversation, fresh.name, reminder.sequence)
                due_in += every * (-due_in // every + 1)
            effects.extend(self.compiled.scheduling(fresh.name, due_in, reminder.sequence))
        return tuple(effects)

    def assumed_zone(self, conversation: Conversation) -> AssumedZone | None:
        """Returns the zone the conversation's answers place the person in (the flow's ``zones``), if any."""
        for holds, guess in self.compiled.zones:
            if not holds(conversation.variables):
                continue
            if guess.zone is not None:
                return AssumedZone(guess.zone, guess.known, named=True)
            offered = self.places.offered_zones(conversation.language)
            likeliest = next((z for z in offered if z != guess.away_from), offered[0])
            return AssumedZone(likeliest, guess.known, named=False, away_from=guess.away_from)
        return None

    def answer_reminder(self, conversation: Conversation, pressed: ReminderPress) -> StepResult:
        """Applies a reminder button: confirm, snooze, ask for help or stop."""
        version, sequence, choice = pressed.version, pressed.sequence, pressed.answer
        name = self.compiled.reminder_name(pressed.reminder)
        # "Stop reminders" must work from any reminder, however old the flow version that sent it.
        if version != self.version and choice is not ReminderAnswer.STOP and not self._same_reminder(pressed):
            return self._refuse(conversation, Outcome.FOREIGN, "ui.flow_updated")
        if choice is ReminderAnswer.STOP:
            stopped = self.renderer.plain(conversation.language, "ui.reminder.stopped")
            return StepResult(
                conversation, self.renderer.render(conversation), (CancelReminders(None),), toast=stopped
            )
        if name not in self.flow.reminders or not self.reminder_pending(conversation, name):
            return self._refuse(conversation, Outcome.STALE, "ui.stale_button")
        if choice is ReminderAnswer.CONFIRMED:
            advanced, effects = self._fire(conversation, f"reminder_confirmed:{name}")
            return StepResult(advanced, self.renderer.render(advanced), effects)
        if choice is ReminderAnswer.HELP:
            return StepResult(conversation, self.renderer.render_help(conversation, name, sequence))
        return StepResult(
            conversation,
            self.renderer.render_reminder(conversation, name, sequence),
            self.compiled.scheduling(name, SNOOZE_CHOICES[choice], sequence),
        )

    # -- inside a step ----------------------------------------------------------------------------

    def _fire(self, conversation: Conversation, trigger: str) -> tuple[Conversation, tuple[Effect, ...]]:
        stepper = _Stepper(conversation)
        self.compiled.machine.events[trigger].trigger(stepper)
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

    def _refuse(self, conversation: Conversation, outcome: Outcome, key: str) -> StepResult:
        toast = self.renderer.plain(conversation.language, key)
        return StepResult(conversation, self.renderer.render(conversation), (), outcome, toast)

    def _carried(self, pressed: FlowPress) -> FlowPress | None:
        """Returns an earlier version's button as this version's, when it means the same here; else None."""
        earlier = self.earlier.get(pressed.version)
        if earlier is None:
            return None
        moved_states = self.compiled.moved_states
        state = moved_states.get(pressed.state, pressed.state)
        meaning = earlier.buttons.get((pressed.state, pressed.button))
        now = self.meanings.buttons.get((state, pressed.button))
        if meaning is None or now != renamed(meaning, moved_states):
            return None
        return FlowPress(self.version, pressed.step, state, pressed.button)

    def _same_reminder(self, pressed: ReminderPress) -> bool:
        """Tells whether an earlier version's reminder means the same here (its answers lead the same way)."""
        earlier = self.earlier.get(pressed.version)
        meaning = earlier.reminders.get(pressed.reminder) if earlier is not None else None
        now = self.meanings.reminders.get(self.compiled.reminder_name(pressed.reminder))
        return meaning is not None and now == renamed(meaning, self.compiled.moved_states)
