"""An exhaustive walk of the shipped flow in every language: every state reachable, every button leads
somewhere, every text renders with its placeholders filled, and the facts carry their sources."""

from __future__ import annotations

import re
from collections import deque

import pytest

from bot.engine import Conversation
from bot.engine.engine import FlowEngine, Outcome, Screen
from bot.flows import FlowBundle
from bot.flows import model as m

LANGUAGES = ("zh-Hans", "fr", "en")
LEFTOVER = re.compile(r"\{[a-z_.]+\}")
SECRET_WORDS = {
    "en": ("password", "code", "PIN", "PUK", "QR"),
    "fr": ("mots de passe", "code", "PIN", "PUK", "QR"),
    "zh-Hans": ("密码", "验证码", "PIN", "PUK", "二维码"),
}


def check_screen(screen: Screen) -> None:
    assert screen.text.strip(), "a screen has no text"
    assert not LEFTOVER.search(screen.text), f"unfilled placeholder in {screen.text!r}"
    assert len(screen.text) <= 4096
    for row in screen.rows:
        for button in row:
            assert button.label.strip()
            assert not LEFTOVER.search(button.label)
            assert (button.data is None) != (button.url is None)
            if button.data is not None:
                assert len(button.data.encode()) <= 64
            if button.url is not None:
                assert button.url.startswith("https://")


def walk(engine: FlowEngine, language: str) -> set[str]:
    """Presses every button of every reachable screen; returns the states reached."""
    starts = [engine.start(language)] + [engine.start(language, link) for link in engine.flow.deep_links]
    queue = deque(result.conversation for result in starts)
    seen: set[tuple[object, ...]] = set()
    reached: set[str] = set()
    while queue:
        conversation = queue.popleft()
        key = (
            conversation.state,
            tuple(sorted(conversation.variables.items(), key=str)),
            conversation.checklist,
        )
        if key in seen:
            continue
        seen.add(key)
        reached.add(conversation.state)
        screen = engine.render(conversation)
        check_screen(screen)
        for row in screen.rows:
            for button in row:
                if button.data is None:
                    continue
                result = engine.press(conversation, button.data)
                assert result.outcome is Outcome.ADVANCED, f"{conversation.state}: {button.label} did nothing"
                check_screen(result.screen)
                queue.append(result.conversation)
        for name, reminder in engine.flow.reminders.items():
            for sequence in (1, reminder.count):
                due = engine.reminder_due(conversation, name, sequence)
                if due is not None:
                    check_screen(due.screen)
                    queue.append(due.conversation)
    return reached


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_state_is_reached_and_every_screen_renders(default_engine: FlowEngine, language: str) -> None:
    assert walk(default_engine, language) == set(default_engine.flow.states)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_screen_warns_never_to_share_secrets(default_engine: FlowEngine, language: str) -> None:
    text = default_engine.start(language).screen.text
    for word in SECRET_WORDS[language]:
        assert word in text, f"the warning in {language} does not mention {word!r}"


def test_every_provider_carries_a_source_and_a_check_date(default_bundle: FlowBundle) -> None:
    for name, provider in default_bundle.flow.providers.items():
        assert provider.sources, name
        assert all(source.checked.year >= 2026 for source in provider.sources), name


def test_the_reminder_follows_the_facts_schedule(default_bundle: FlowBundle) -> None:
    (reminder,) = default_bundle.flow.reminders.values()
    assert reminder.first_after.total_seconds() == 24 * 3600
    assert reminder.every.total_seconds() == 24 * 3600
    assert reminder.count == 7
    assert reminder.after_last is not None


def test_a_refund_is_requested_before_the_esim_is_deleted(default_bundle: FlowBundle) -> None:
    """Nomad refuses refunds for an eSIM removed first: no path reaches the removal screens around 'request'."""
    flow = default_bundle.flow
    graph: dict[str, set[str]] = {}
    for name, state in flow.states.items():
        for row in state.buttons:
            for button in row:
                if isinstance(button, m.GotoButton):
                    targets = [button.to] if isinstance(button.to, str) else [b.to for b in button.to]
                    graph.setdefault(name, set()).update(targets)
    seen, queue = {flow.start}, deque([flow.start])
    while queue:
        for target in graph.get(queue.popleft(), ()):
            if target not in seen and target != "request":
                seen.add(target)
                queue.append(target)
    assert not seen & {"remove_pick", "rm_iphone", "rm_samsung", "rm_pixel"}
    english = default_bundle.texts.by_language["en"]
    assert "does not cancel" in english[flow.states["remove_pick"].text]
    assert "can't be undone" in english[flow.states["remove_pick"].text]


@pytest.mark.parametrize("link", ["airalo", "home", "opt", "orange"])
def test_a_deep_link_shows_the_warning_first(default_engine: FlowEngine, link: str) -> None:
    result = default_engine.start("en", link)
    assert result.conversation.state == "start"
    assert "PIN/PUK" in result.screen.text


def test_the_orange_deep_link_answers_truthfully(default_engine: FlowEngine) -> None:
    start = default_engine.start("en", "orange")
    go = next(b.data for row in start.screen.rows for b in row if b.data)
    told = default_engine.press(start.conversation, go or "")
    assert told.conversation.state == "told_orange"
    assert "Orange" in told.screen.text
    assert "roam" in told.screen.text
    assert isinstance(told.conversation, Conversation)
