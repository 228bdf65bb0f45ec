"""An exhaustive walk of the shipped flow in every language: every state reachable, every screen fits a phone,
no button goes nowhere, every help screen has a real next step, and every fact names a source the facts
file holds."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.callbacks import FlowPress, encode
from bot.engine import Conversation
from bot.engine.engine import FlowEngine, Outcome
from bot.engine.screens import Screen
from bot.flows import FlowBundle
from bot.flows import model as m
from bot.flows.budget import display_lines, display_width
from bot.flows.claims import cited_texts
from bot.flows.facts import Confidence, load_facts

LANGUAGES = ("zh-Hans", "fr", "en")
ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "flows" / "facts" / "esim-new-caledonia.md"
SHARED_FACTS = ROOT.parent / "shared" / "facts" / "esim-new-caledonia.md"
LEFTOVER = re.compile(r"\{[a-z_.]+\}")
COPY_TEXT_LIMIT = 256  # Telegram's CopyTextButton
SECRET_WORDS = {
    "en": ("password", "code", "PIN", "PUK", "QR"),
    "fr": ("mots de passe", "code", "PIN", "PUK", "QR"),
    "zh-Hans": ("密码", "验证码", "PIN", "PUK", "二维码"),
}
# "The page below", "le formulaire ci-dessous", "下方的表单": a promise that a link or message button is there.
BELOW = {
    "en": re.compile(r"(page|form|message|link|button)s? below"),
    "fr": re.compile(r"(page|formulaire|message|lien|bouton)s? ci-dessous"),
    "zh-Hans": re.compile(r"下方[^\uff0c\u3002]{0,8}(页面|表单|链接|按钮)|下面的[^\uff0c\u3002]{0,4}消息"),
}
HELP_STATES = ("wait_help", "get_help", "no_reply")
CHECKLIST_STATES = ("home_end",)


def check_screen(engine: FlowEngine, screen: Screen, language: str) -> None:
    """Checks what any screen must be: filled in, valid for Telegram, and within the phone budget."""
    budget = engine.flow.budget
    assert budget is not None
    assert screen.text.strip(), "a screen has no text"
    assert not LEFTOVER.search(screen.text), f"unfilled placeholder in {screen.text!r}"
    assert len(screen.text) <= 4096
    lines = display_lines(screen.text, budget.columns)
    assert lines <= budget.lines, f"{lines} lines: {screen.text[:80]!r}"
    for row in screen.rows:
        limit = budget.label_columns if len(row) == 1 else budget.shared_label_columns
        for button in row:
            assert button.label.strip()
            assert not LEFTOVER.search(button.label)
            assert display_width(button.label) <= limit, f"{button.label!r} is too wide"
            kinds = [button.press, button.url, button.copy_text]
            assert sum(kind is not None for kind in kinds) == 1
            if button.press is not None:
                assert len(encode(button.press).encode()) <= 64
            if button.url is not None:
                assert button.url.startswith("https://")
            if button.copy_text is not None:
                assert 0 < len(button.copy_text) <= COPY_TEXT_LIMIT
    # A screen never promises buttons that are not there.
    if BELOW[language].search(screen.text):
        assert any(b.url or b.copy_text for row in screen.rows for b in row), screen.text[:80]


def conversations(engine: FlowEngine, language: str) -> Iterator[tuple[Conversation, Screen]]:
    """Yields every reachable (conversation, screen), pressing every button and letting every reminder fall due."""
    starts = [engine.start(language)] + [engine.start(language, link) for link in engine.flow.deep_links]
    queue = deque(result.conversation for result in starts)
    seen: set[tuple[object, ...]] = set()
    while queue:
        conversation = queue.popleft()
        # Ticks show only on the checklist screen: elsewhere they would multiply the walk for nothing.
        ticks = conversation.checklist if conversation.state in CHECKLIST_STATES else frozenset()
        key = (conversation.state, tuple(sorted(conversation.variables.items(), key=str)), ticks)
        if key in seen:
            continue
        seen.add(key)
        screen = engine.renderer.render(conversation)
        yield conversation, screen
        for row in screen.rows:
            for button in row:
                if not isinstance(button.press, FlowPress):
                    continue
                result = engine.press(conversation, button.press)
                assert result.outcome is Outcome.ADVANCED, f"{conversation.state}: {button.label} did nothing"
                moved = result.conversation
                changed = (
                    moved.state != conversation.state
                    or moved.variables != conversation.variables
                    or moved.checklist != conversation.checklist
                )
                assert changed, f"{conversation.state}: {button.label!r} leads back to the same screen"
                queue.append(moved)
        for name, reminder in engine.flow.reminders.items():
            for sequence in (1, reminder.count):
                due = engine.reminder_due(conversation, name, sequence)
                if due is not None:
                    check_screen(engine, due.screen, language)
                    check_screen(engine, engine.renderer.render_help(conversation, name, sequence), language)
                    queue.append(due.conversation)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_state_is_reached_and_every_screen_fits_a_phone(
    default_engine: FlowEngine, language: str
) -> None:
    reached = set()
    for conversation, screen in conversations(default_engine, language):
        check_screen(default_engine, screen, language)
        reached.add(conversation.state)
    assert reached == set(default_engine.flow.states)


# The runtime adds the first reminder's true day, time and zone under the screen: a flow text naming the
# day would contradict it whenever the pace is not daily or quiet hours push the reminder on.
TOMORROW = {"en": "tomorrow", "fr": "demain", "zh-Hans": "明天"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_screen_promises_a_reminder_tomorrow(default_engine: FlowEngine, language: str) -> None:
    promising = {
        conversation.state
        for conversation, screen in conversations(default_engine, language)
        if TOMORROW[language] in screen.text.lower()
    }
    assert promising == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_help_screen_has_a_link_or_an_explicit_instruction(
    default_engine: FlowEngine, default_bundle: FlowBundle, language: str
) -> None:
    texts = default_bundle.texts.by_language[language]
    checked = 0
    for conversation, screen in conversations(default_engine, language):
        if conversation.state not in HELP_STATES:
            continue
        checked += 1
        provider = default_engine.flow.providers[str(conversation.variables["provider"])]
        links = [b.url for row in screen.rows for b in row if b.url]
        contact = provider.texts.get("contact")
        if not links:
            assert contact is not None, f"{conversation.state} for {provider.name}: no link, no instruction"
            assert texts[contact].split("<")[0][:20] in screen.text
    assert checked > 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_screen_warns_never_to_share_secrets(default_engine: FlowEngine, language: str) -> None:
    text = default_engine.start(language).screen.text
    for word in SECRET_WORDS[language]:
        assert word in text, f"the warning in {language} does not mention {word!r}"


def test_every_text_names_the_claims_it_rests_on(default_bundle: FlowBundle) -> None:
    facts, problems = load_facts(FACTS)
    assert facts is not None
    assert problems == []
    texts = list(cited_texts(default_bundle.flow))
    assert {text.screen for text in texts} >= set(default_bundle.flow.states)
    assert [text.key for text in texts if text.claims is None] == []
    cited = {ref if isinstance(ref, str) else ref.id for text in texts for ref in text.claims or ()}
    assert cited <= set(facts.claims), cited - set(facts.claims)
    # The screens that state facts cite some: a fact-free screen is the exception, not the rule.
    assert sum(bool(text.claims) for text in texts) > len(texts) / 2


def test_the_facts_are_version_3_with_a_claim_for_every_id_they_mention() -> None:
    facts, problems = load_facts(FACTS)
    assert facts is not None
    assert facts.version == 3
    assert problems == []
    assert facts.claims["ubigi.refund.condition"].confidence is Confidence.CONFLICTING
    assert facts.claims["opt.line.physical"].derived


@pytest.mark.skipif(not SHARED_FACTS.exists(), reason="no shared/facts beside this checkout")
def test_the_facts_copy_is_the_shared_facts_file() -> None:
    assert FACTS.read_bytes() == SHARED_FACTS.read_bytes(), "copy shared/facts into flows/facts"


def test_no_fact_comes_from_the_source_articles_story(default_bundle: FlowBundle) -> None:
    for language in LANGUAGES:
        texts = default_bundle.texts.by_language[language]
        assert not any("about a week" in text or "environ une semaine" in text for text in texts.values())


def test_a_refund_is_requested_before_the_esim_is_deleted(default_bundle: FlowBundle) -> None:
    """Nomad refuses refunds for an eSIM removed first: deleting is offered only after the request, or when
    nothing can be refunded (used up, or 'nothing to refund')."""
    flow = default_bundle.flow
    for name, state in flow.states.items():
        for row in state.buttons:
            for button in row:
                if not isinstance(button, m.GotoButton):
                    continue
                targets = [button.to] if isinstance(button.to, str) else [b.to for b in button.to]
                if "remove_pick" in targets and name not in ("follow_up", "rm_steps"):
                    sets = {
                        k: v
                        for action in button.do
                        if isinstance(action, m.SetAction)
                        for k, v in action.set.items()
                    }
                    assert sets.get("refund") == "none", f"{name} offers deletion before any request"
    english = default_bundle.texts.by_language["en"]
    assert "does not cancel" in english["remove_pick.text"]
    assert "can't be undone" in english["remove_pick.text"]


@pytest.mark.parametrize("link", ["airalo", "klook", "home", "opt", "orange", "lost"])
def test_a_deep_link_shows_the_warning_first(default_engine: FlowEngine, link: str) -> None:
    result = default_engine.start("en", link)
    assert result.conversation.state == "start"
    assert "PIN/PUK" in result.screen.text
