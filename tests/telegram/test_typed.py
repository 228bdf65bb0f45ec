"""People can type their problem: the bot suggests the situations it understood, as buttons, and nothing
happens without a tap; mid-way it only offers a switch, which asks first; private data is never echoed,
stored or logged."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.callbacks import Suggestion, decode
from bot.settings import Settings
from testkit import FakeBotApi, Screen, by_id
from testkit.screens import Button
from tests.telegram.conftest import nothing_more_happens
from tests.telegram.stories import submit

pytestmark = pytest.mark.usefixtures("running_bot")


def suggested(screen: Screen) -> list[str | None]:
    """Returns the deep links a message suggests, in order (None: the way out to the first screen)."""
    found = []
    for button in screen.buttons:
        pressed = decode(button.data or "")
        if isinstance(pressed, Suggestion):
            found.append(pressed.deep_link)
    return found


def suggestion(link: str | None) -> Callable[[Button], bool]:
    """Returns a matcher of the suggestion button for ``link``."""
    return lambda button: (button.data or "").startswith(f"suggest|{link or ''}|")


@pytest.mark.parametrize(
    ("code", "says", "link", "hello", "understood", "warning", "lands_on"),
    [
        (
            "en",
            "HELP my phone was stolen in Noumea, it had my Airalo eSIM",
            "lost",
            "Hello!",
            "📵 Phone lost or stolen · 📱 Airalo eSIM",
            "I will never ask",
            "travel",
        ),
        (
            "fr",
            "comment resilier mon forfait Free depuis Lyon",
            "home",
            "Bonjour !",
            "🏠 Opérateur d'origine",
            "Je ne vous demanderai jamais",
            "end",
        ),
        ("zh-hans", "我在携程买的eSIM怎么退款", "trip", "你好！", "🛒 在携程买的", "我绝不会", "active"),
    ],
)
async def test_a_new_persons_first_message_is_greeted_with_the_suggestion_and_nothing_happens_until_a_tap(
    api: FakeBotApi,
    code: str,
    says: str,
    link: str,
    hello: str,
    understood: str,
    warning: str,
    lands_on: str,
) -> None:
    user = api.user(1701, language_code=code)
    reply = await user.say(says)
    assert reply.text.startswith(hello), "a greeting, not a reprimand"
    assert understood in reply.text
    links = suggested(reply)
    assert link == links[0]
    assert 2 <= len(links) <= 4, "one to three situations"
    assert links[-1] is None, "and the start as a way out"
    await nothing_more_happens()
    assert len(user.messages) == 1, "nothing happens without a tap"
    started = await user.tap(suggestion(link), on=reply)
    assert warning in started.text, "the first screen and its warning come first"
    situation = await user.tap(by_id("go"), on=started)
    assert situation.has_button(by_id(lands_on)), "then the situation typed"


@pytest.mark.parametrize(
    ("code", "says", "start"),
    [
        ("en", "hello", "Let's start"),
        ("fr", "quel temps fait-il à Nouméa ?", "C'est parti"),
        ("zh-hans", "👍", "开始"),
    ],
)
async def test_off_topic_text_gets_the_first_screen(
    api: FakeBotApi, code: str, says: str, start: str
) -> None:
    user = api.user(1702, language_code=code)
    reply = await user.say(says)
    assert reply.has_button(start)
    assert suggested(reply) == []


@pytest.mark.parametrize(
    ("code", "says", "label"),
    [
        ("en", "ＡＩＲＡＬＯ refund", "Airalo"),
        ("en", "airlao esim refund pls", "Airalo"),
        ("fr", "TELEPHONE VOLE", "Téléphone perdu/volé"),
        ("zh-hans", "how to cancel 我的 holafly", "Holafly"),
    ],
)
async def test_full_width_letters_typos_accents_and_mixed_languages_are_forgiven(
    api: FakeBotApi, code: str, says: str, label: str
) -> None:
    reply = await api.user(1703, language_code=code).say(says)
    assert label in reply.buttons[0].label


@pytest.mark.parametrize(
    ("code", "says", "switch", "question"),
    [
        ("en", "actually my phone was stolen", "To switch to it, tap it", "start over from the beginning?"),
        ("fr", "en fait on m'a volé mon téléphone", "Pour y passer", "recommencer depuis le début ?"),
        ("zh-hans", "其实我的手机被偷了", "要换过去", "还是从头开始"),
    ],
)
async def test_mid_way_a_typed_situation_offers_a_switch_that_asks_before_dropping_anything(
    api: FakeBotApi, code: str, says: str, switch: str, question: str
) -> None:
    user = api.user(1704, language_code=code)
    await submit(user)
    offered = await user.say(says)
    assert switch in offered.text
    assert suggested(offered) == ["lost"], "only the switch: no way out needed, the step is at hand"
    assert offered.has_button(by_id("got_it")), "the current step stays at hand"
    status = await user.say("/status")
    assert status.has_button(by_id("got_it")), "nothing changed without a tap"
    offered = await user.say(says)
    asked = await user.tap(suggestion("lost"), on=offered)
    assert question in asked.text, "the same question as start over"
    kept = await user.tap(lambda b: (b.data or "").startswith("over|keep"), on=asked)
    assert kept.has_button(by_id("got_it")), "progress kept"


@pytest.mark.parametrize(
    ("code", "says", "on_it"),
    [
        ("en", "i need to end my line with my carrier back home", "That's the guide you're in"),
        ("fr", "je veux résilier mon opérateur d'origine", "C'est le guide en cours"),
        ("zh-hans", "我要注销本国运营商的号码", "你现在就在这个指南里"),
    ],
)
async def test_mid_way_what_fits_the_guide_under_way_says_so(
    api: FakeBotApi, code: str, says: str, on_it: str
) -> None:
    user = api.user(1705, language_code=code)
    await submit(user)
    reply = await user.say(says)
    assert on_it in reply.text
    assert suggested(reply) == []
    assert reply.has_button(by_id("got_it"))


@pytest.mark.parametrize(
    ("code", "says", "secrets", "reminder"),
    [
        (
            "en",
            "My order number is 4829-3310-22 and my email is jane.doe@gmail.com, please cancel my Holafly",
            ("4829", "jane.doe", "gmail"),
            "I never need phone numbers",
        ),
        (
            "fr",
            "mon numéro c'est le 06 12 34 56 78, pouvez vous résilier mon forfait free",
            ("06 12", "12 34 56"),
            "Je n'ai jamais besoin de numéro",
        ),
        ("zh-hans", "订单号 TR20241105889 携程 退款 验证码 482913", ("TR2024", "482913"), "我从不需要手机号"),
    ],
)
async def test_private_data_is_never_echoed_stored_or_logged_and_the_reply_says_so_once(
    api: FakeBotApi,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    code: str,
    says: str,
    secrets: tuple[str, ...],
    reminder: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    user = api.user(1706, language_code=code)
    reply = await user.say(says)
    assert reply.text.count(reminder) == 1
    assert suggested(reply), "what else was typed is still understood"
    await user.say("/status")
    shown = "\n".join(m.text + " ".join(b.label for b in m.buttons) for m in user.messages)
    stored = Path(settings.database)
    # The database and its write-ahead log: whatever SQLite has written so far.
    database = b"".join(p.read_bytes() for p in stored.parent.glob(f"{stored.name}*"))
    # Libraries log whole updates at DEBUG (python-telegram-bot's own tracing, off in production): the
    # bot's own lines, and every line at INFO or above, must not hold any of it.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("bot") or record.levelno >= logging.INFO
    )
    for secret in secrets:
        assert secret not in shown, "never echoed"
        assert secret.encode() not in database, "never stored"
        assert secret not in logged, "never logged"


async def test_an_old_suggestion_changes_nothing(api: FakeBotApi) -> None:
    user = api.user(1707)
    first = await user.say("my airalo esim")
    await user.say("/help")
    toast = await user.tap_for_toast(suggestion("airalo"), on=first)
    assert "older message" in toast
    here = await user.wait_for_reply()
    assert here.message_id > first.message_id, "answered at the bottom"


async def test_none_of_these_leads_to_the_first_screen(api: FakeBotApi) -> None:
    user = api.user(1708)
    reply = await user.say("stolen phone")
    way_out = await user.tap(suggestion(None), on=reply)
    assert way_out.has_button(by_id("go")), "none of these: the first screen"


@pytest.mark.parametrize(
    ("code", "says", "never"),
    [
        ("en", "my iPhone 15 on iOS 18, the Airalo 10GB plan I bought in 2024 for 30 days", "I never need"),
        (
            "fr",
            "mon iPhone 15, l'eSIM Airalo de 10 Go achetée le 12/11 pour 30 jours, UTC+11",
            "Je n'ai jamais",
        ),
        ("zh-hans", "我的iPhone 15，2024年买的Airalo 10GB 30天套餐", "我从不需要"),
    ],
)
async def test_ordinary_numbers_are_not_taken_for_private_data(
    api: FakeBotApi, code: str, says: str, never: str
) -> None:
    reply = await api.user(1709, language_code=code).say(says)
    assert never not in reply.text, "no lecture about data that was never sent"
    assert suggested(reply)[0] == "airalo"
