"""The engine advances plain-data conversations through one shared machine and says what to do next."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.callbacks import FlowPress, ReminderAnswer, ReminderPress
from bot.engine import CancelReminders, Ended, EnteredState, ScheduleReminder
from bot.engine.engine import FlowEngine, Outcome, StepResult
from bot.engine.screens import Markup, Screen, fill
from bot.flows import FlowBundle, load_bundle
from bot.runtime.commit import stored, unstored

MINI = Path(__file__).resolve().parents[1] / "flows" / "cases" / "valid"


def button(screen: Screen, label: str) -> FlowPress:
    for row in screen.rows:
        for candidate in row:
            if label in candidate.label and isinstance(candidate.press, FlowPress):
                return candidate.press
    raise AssertionError(f"no button {label!r} in {[b.label for row in screen.rows for b in row]}")


def press(engine: FlowEngine, result: StepResult, label: str) -> StepResult:
    return engine.press(result.conversation, button(result.screen, label))


def test_start_shows_the_first_screen_in_the_chosen_language(mini: FlowEngine) -> None:
    result = mini.start("fr")
    assert result.conversation.state == "welcome"
    assert result.screen.text == "<b>Bonjour.</b> Quelle eSIM ?"
    assert [[b.label for b in row] for row in result.screen.rows] == [["Airalo"]]
    assert EnteredState("welcome") in result.effects


def test_a_press_moves_on_sets_variables_and_fills_placeholders(mini: FlowEngine) -> None:
    result = press(mini, mini.start("en"), "Airalo")
    assert result.outcome is Outcome.ADVANCED
    assert result.conversation.state == "request"
    assert result.conversation.variables["provider"] == "airalo"
    assert result.screen.text == "Ask Airalo for a refund: in the app, My eSIMs"
    links = [b for row in result.screen.rows for b in row if b.url]
    assert [(b.label, b.url) for b in links] == [("Refund policy", "https://www.airalo.com/refund-policy")]


def test_a_checklist_item_toggles_on_the_same_screen(mini: FlowEngine) -> None:
    request = press(mini, mini.start("en"), "Airalo")
    ticked = press(mini, request, "Back up photos")
    assert ticked.conversation.state == "request"
    assert ticked.conversation.checklist == {"backup"}
    assert "✅ Back up photos" in [b.label for row in ticked.screen.rows for b in row]
    unticked = press(mini, ticked, "Back up photos")
    assert unticked.conversation.checklist == frozenset()
    assert "⬜ Back up photos" in [b.label for row in unticked.screen.rows for b in row]


def test_a_double_tap_advances_once(mini: FlowEngine) -> None:
    start = mini.start("en")
    data = button(start.screen, "Airalo")
    first = mini.press(start.conversation, data)
    second = mini.press(first.conversation, data)
    assert second.outcome is Outcome.STALE
    assert second.conversation == first.conversation
    assert second.toast is not None or second.outcome is Outcome.STALE


def test_a_button_from_an_older_screen_changes_nothing(mini: FlowEngine) -> None:
    start = mini.start("en")
    request = press(mini, start, "Airalo")
    waiting = press(mini, request, "I've sent it")
    old = mini.press(waiting.conversation, button(request.screen, "I've sent it"))
    assert old.outcome is Outcome.STALE
    assert old.conversation == waiting.conversation
    assert old.screen == mini.renderer.render(waiting.conversation)


def test_a_button_from_another_flow_version_is_recognised(mini: FlowEngine) -> None:
    start = mini.start("en")
    forged = replace(button(start.screen, "Airalo"), version="deadbeef")
    result = mini.press(start.conversation, forged)
    assert result.outcome is Outcome.FOREIGN
    assert result.conversation == start.conversation


def test_a_press_of_no_button_of_the_screen_is_stale_not_a_crash(mini: FlowEngine) -> None:
    start = mini.start("en")
    for pressed in (
        FlowPress(mini.version, 0, "welcome", "nope"),
        FlowPress(mini.version, 0, "request", "airalo"),
        FlowPress(mini.version, 7, "welcome", "airalo"),
    ):
        assert mini.press(start.conversation, pressed).outcome is Outcome.STALE


def test_reaching_a_final_state_ends_the_conversation_and_its_reminders(mini: FlowEngine) -> None:
    result = mini.start("en", "airalo")
    for label in ("I've sent it", "I got it", "Yes"):
        result = press(mini, result, label)
    assert result.conversation.finished
    assert result.conversation.variables["helpful"] == "yes"
    assert Ended("thanks") in result.effects
    assert CancelReminders(None) in result.effects
    late = mini.press(result.conversation, button(mini.start("en").screen, "Airalo"))
    assert late.outcome is Outcome.FINISHED


def test_a_deep_link_jumps_to_the_provider(mini: FlowEngine) -> None:
    result = mini.start("en", "airalo")
    assert result.conversation.state == "request"
    assert result.conversation.variables["provider"] == "airalo"
    assert mini.start("en", "unknown").conversation.state == "welcome"


def waiting(mini: FlowEngine) -> StepResult:
    return press(mini, mini.start("en", "airalo"), "I've sent it")


def test_entering_the_waiting_state_schedules_the_first_reminder(mini: FlowEngine) -> None:
    result = waiting(mini)
    assert ScheduleReminder("email", timedelta(hours=24), 1) in result.effects


def test_a_due_reminder_schedules_the_next_until_the_last_moves_on(mini: FlowEngine) -> None:
    conversation = waiting(mini).conversation
    first = mini.reminder_due(conversation, "email", 1)
    assert first is not None
    assert first.screen.text == "Did Airalo answer?"
    assert first.effects == (ScheduleReminder("email", timedelta(days=1), 2),)
    assert first.conversation == conversation
    last = mini.reminder_due(conversation, "email", 3)
    assert last is not None
    assert last.conversation.state == "support"
    assert CancelReminders(frozenset({"email"})) in last.effects


def test_a_reminder_never_fires_for_a_conversation_that_moved_on(mini: FlowEngine) -> None:
    moved = press(mini, waiting(mini), "I got it")
    assert CancelReminders(frozenset({"email"})) in moved.effects
    assert mini.reminder_due(moved.conversation, "email", 1) is None
    finished = replace(moved.conversation, finished=True)
    assert mini.reminder_due(finished, "email", 1) is None


def test_reminder_buttons_confirm_snooze_help_and_stop(mini: FlowEngine) -> None:
    conversation = waiting(mini).conversation
    reminder = mini.reminder_due(conversation, "email", 1)
    assert reminder is not None
    labels = [b.label for row in reminder.screen.rows for b in row]
    assert len(labels) == 6
    data = {answer: ReminderPress(mini.version, 1, "email", answer) for answer in ReminderAnswer}
    confirmed = mini.answer_reminder(conversation, data[ReminderAnswer.CONFIRMED])
    assert confirmed.conversation.state == "done"
    snoozed = mini.answer_reminder(conversation, data[ReminderAnswer.SNOOZE_3DAYS])
    assert snoozed.effects == (ScheduleReminder("email", timedelta(days=3), 1),)
    helped = mini.answer_reminder(conversation, data[ReminderAnswer.HELP])
    assert helped.screen.text == "Ask support."
    stopped = mini.answer_reminder(conversation, data[ReminderAnswer.STOP])
    assert stopped.effects == (CancelReminders(None),)
    late = mini.answer_reminder(confirmed.conversation, data[ReminderAnswer.CONFIRMED])
    assert late.outcome is Outcome.STALE


def test_values_are_escaped_but_operator_markup_is_kept(mini: FlowEngine) -> None:
    assert mini.renderer.plain("en", "welcome.text") == "<b>Hello.</b> Which eSIM?"
    conversation = mini.start("en").conversation
    assert mini.renderer.text("en", "welcome.text", conversation.variables) == "<b>Hello.</b> Which eSIM?"
    values = {"typed": "<b>&", "line": Markup("<b>Waiting</b>")}
    filled = fill("{typed} / {line} / {unknown}", values.get)
    assert filled == "&lt;b&gt;&amp; / <b>Waiting</b> / {unknown}"


def test_a_conversation_from_an_older_version_is_adopted(mini: FlowEngine) -> None:
    current = press(mini, mini.start("en"), "Airalo").conversation
    old = replace(current, flow_version="0ld0ld00", variables={**current.variables, "gone": "x"})
    adopted = mini.move(old).conversation
    assert adopted.flow_version == mini.version
    assert adopted.state == "request"
    assert "gone" not in adopted.variables
    assert adopted.step == old.step  # same screen: buttons that mean the same here keep working
    vanished = mini.move(replace(old, state="no_longer_there")).conversation
    assert vanished.state == "welcome"


def test_one_shared_machine_holds_no_conversation(mini: FlowEngine) -> None:
    result = mini.start("en", "airalo")
    for _ in range(100):
        result = press(mini, result, "Back up photos")
    assert mini.compiled.machine.models == []


def test_a_conversation_round_trips_through_its_stored_form(mini: FlowEngine) -> None:
    conversation = press(mini, press(mini, mini.start("fr"), "Airalo"), "Sauvegarder").conversation
    assert unstored(stored(conversation)) == conversation


def test_start_over_unticks_the_checklist(default_engine: FlowEngine) -> None:
    result = press(default_engine, default_engine.start("en", "home"), "Let's start")
    result = press(default_engine, result, "End the line")
    result = press(default_engine, result, "Phone backed up")
    assert result.conversation.checklist == {"backup"}
    for label in ("Next", "Start over"):
        result = press(default_engine, result, label)
    assert result.conversation.state == "start"
    assert result.conversation.checklist == frozenset()
    assert result.conversation.variables["provider"] is None


def test_rechecking_a_fact_keeps_the_flow_version(mini_bundle: FlowBundle) -> None:
    from bot.flows.loader import flow_version

    rechecked = mini_bundle.flow.model_copy(update={"title": "Another title"})
    assert flow_version(rechecked) == mini_bundle.version
    providers = {
        name: provider.model_copy(update={"claims": {}})
        for name, provider in mini_bundle.flow.providers.items()
    }
    assert flow_version(mini_bundle.flow.model_copy(update={"providers": providers})) == mini_bundle.version
    states = dict(mini_bundle.flow.states)
    states["thanks"] = states["thanks"].model_copy(update={"final": False})
    assert flow_version(mini_bundle.flow.model_copy(update={"states": states})) != mini_bundle.version


def test_stop_works_from_a_reminder_of_an_older_flow_version(mini: FlowEngine) -> None:
    conversation = waiting(mini).conversation
    stopped = mini.answer_reminder(conversation, ReminderPress("0ld0ld00", 1, "email", ReminderAnswer.STOP))
    assert stopped.effects == (CancelReminders(None),)
    confirmed = mini.answer_reminder(
        conversation, ReminderPress("0ld0ld00", 1, "email", ReminderAnswer.CONFIRMED)
    )
    assert confirmed.outcome is Outcome.FOREIGN


def test_a_start_screen_that_schedules_a_reminder_keeps_it(tmp_path: Path) -> None:
    # Starting over cancels the old conversation's reminders first, then enters the start state like any
    # other: a reminder its arrival schedules must survive, and a deep link moves on from there.
    source = (MINI / "flow.yaml").read_text(encoding="utf-8")
    flow = source.replace("active_in: [waiting]", "active_in: [welcome, waiting]").replace(
        "  welcome:\n    text: welcome.text\n",
        "  welcome:\n    text: welcome.text\n    on_enter: [{schedule: email}]\n",
    )
    (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
    engine = FlowEngine(load_bundle(tmp_path / "flow.yaml", MINI / "locales"))

    fresh = engine.start("en")
    assert fresh.effects == (
        CancelReminders(None),
        EnteredState("welcome"),
        ScheduleReminder("email", timedelta(hours=24), 1),
    )
    assert engine.reminder_pending(fresh.conversation, "email")

    linked = engine.start("en", "airalo")
    assert linked.effects == (
        *fresh.effects,
        EnteredState("request"),
        CancelReminders(frozenset({"email"})),
    )
    assert (linked.conversation.state, linked.conversation.variables["provider"]) == ("request", "airalo")


def test_a_fresh_conversation_shows_its_first_screen_with_working_buttons(mini: FlowEngine) -> None:
    fresh = mini.start("en")
    assert (fresh.conversation.state, fresh.conversation.step, fresh.conversation.finished) == (
        "welcome",
        1,
        False,
    )
    assert press(mini, fresh, "Airalo").outcome is Outcome.ADVANCED
