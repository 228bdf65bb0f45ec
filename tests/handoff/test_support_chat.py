"""The operators' support chat, through the real Application and the fake Bot API: a group, replies, three
languages. A question is posted as the person's "Ask a person" will post it; an operator answers by replying."""

from __future__ import annotations

# The operators' and people's texts are in Chinese too.
# ruff: noqa: RUF001
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.clock import FakeClock
from bot.settings import Settings
from bot.store import Store
from bot.telegram.app import BotRuntime, build_application, load_default_flow
from bot.telegram.support import SupportHandlers
from testkit import FakeBotApi
from testkit.application import polling
from tests.telegram.conftest import ROOT

SUPPORT_CHAT = -1001234567890
OPERATOR = 900
STRANGER = 901


@dataclass(frozen=True, slots=True)
class Language:
    """What a person and an operator read in one language."""

    code: str
    question: str
    answer_heading: str
    sent: str
    not_allowed: str
    open_questions: str
    post_heading: str


LANGUAGES = [
    Language(
        "en",
        "How do I close my OPT line from France?",
        "🙋 A person from the support team answers:",
        "✅ Sent to the person.",
        "Only the operators named in BOT_SUPPORT_OPERATOR_IDS can answer people here.",
        "Open questions: 1",
        "🙋 Question #1 (en)",
    ),
    Language(
        "fr",
        "Comment fermer ma ligne OPT depuis la France ?",
        "🙋 Une personne de l'équipe d'assistance vous répond :",
        "✅ Envoyé à la personne.",
        "Seuls les opérateurs listés dans BOT_SUPPORT_OPERATOR_IDS peuvent répondre aux gens ici.",
        "Questions ouvertes : 1",
        "🙋 Question n° 1 (fr)",
    ),
    Language(
        "zh-Hans",
        "我在法国，怎么注销 OPT 号码？",
        "🙋 客服人员回复你：",
        "✅ 已发送给用户。",
        "只有 BOT_SUPPORT_OPERATOR_IDS 里列出的操作员才能在这里回复用户。",
        "未结问题：1 个",
        "🙋 问题 #1（zh-Hans）",
    ),
]


@dataclass(frozen=True, slots=True)
class Desk:
    """The running bot's support side and its store, as the test reaches them."""

    support: SupportHandlers
    store: Store


@pytest.fixture(params=LANGUAGES, ids=[language.code for language in LANGUAGES])
def language(request: pytest.FixtureRequest) -> Language:
    found: Language = request.param
    return found


@pytest.fixture
async def desk(api: FakeBotApi, tmp_path: Path, clock: FakeClock, language: Language) -> AsyncIterator[Desk]:
    """The bot with a support chat whose operators speak ``language``, long polling the fake API."""
    settings = Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=tmp_path / "bot.sqlite3",
        BOT_FLOWS_DIR=ROOT / "flows",
        BOT_LOCALES_DIR=ROOT / "locales",
        BOT_SUPPORT_CHAT_ID=SUPPORT_CHAT,
        BOT_SUPPORT_OPERATOR_IDS=f"{OPERATOR}, 902",
        BOT_SUPPORT_LANGUAGE=language.code,
    )
    api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")  # the bot was added to the operators' group
    application: Application = build_application(settings, load_default_flow(settings), clock)  # type: ignore[type-arg]
    async with polling(application):
        runtime = application.bot_data["runtime"]
        assert isinstance(runtime, BotRuntime)
        support = application.bot_data["support"]
        assert isinstance(support, SupportHandlers)
        yield Desk(support, runtime.store)


async def ask(api: FakeBotApi, desk: Desk, language: Language) -> int:
    """A person on the OPT-from-abroad screen asks their question; returns the post's id in the support chat."""
    person = api.user(501, language_code=language.code)
    await person.say("/start opt")
    ticket = await desk.store.open_ticket(person.chat_id, language.code, desk.support.desk.clock.now())
    return await desk.support.post_ticket(ticket, language.question)


async def test_an_operator_answers_by_replying_and_the_person_reads_it_from_a_person(
    api: FakeBotApi, desk: Desk, language: Language
) -> None:
    post = await ask(api, desk, language)
    group = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posted = group.messages[-1]
    assert posted.message_id == post
    assert posted.text.startswith(language.post_heading)
    assert language.question in posted.text
    person = api.user(501, language_code=language.code)
    before = len(person.messages)

    await group.reply(post, "Use Helia's <online> form & wait")
    await group.wait_for_reply()
    answer = (await person.wait_for_messages(before + 1))[-1]

    assert answer.text == f"{language.answer_heading}\n\nUse Helia's <online> form & wait"
    assert answer.buttons == ()
    assert group.messages[-1].text == language.sent


async def test_someone_not_allowed_to_answer_is_refused_and_the_person_gets_nothing(
    api: FakeBotApi, desk: Desk, language: Language
) -> None:
    post = await ask(api, desk, language)
    person = api.user(501, language_code=language.code)
    before = len(person.messages)
    stranger = api.group(SUPPORT_CHAT, user_id=STRANGER)

    await stranger.reply(post, "I'll handle it, send me your code")
    refusal = await stranger.wait_for_reply()

    assert refusal.text == language.not_allowed
    assert len(person.messages) == before


async def test_tickets_lists_the_open_questions_with_their_age_to_operators_only(
    api: FakeBotApi, desk: Desk, language: Language, clock: FakeClock
) -> None:
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    assert (await operator.say("/tickets")).text != language.open_questions
    await ask(api, desk, language)
    clock.advance(timedelta(hours=26))

    listed = await operator.say("/tickets")

    assert listed.text.splitlines()[0].startswith(language.open_questions)
    assert re.fullmatch(rf"⏳ #1 · {re.escape(language.code)} · 1 d 2 h", listed.text.splitlines()[1])
    stranger = api.group(SUPPORT_CHAT, user_id=STRANGER)
    assert (await stranger.say("/tickets")).text == language.not_allowed


async def test_replies_among_operators_to_other_messages_are_left_alone(
    api: FakeBotApi, desk: Desk, language: Language
) -> None:
    await ask(api, desk, language)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    listed = await operator.say("/tickets")
    count = len(operator.messages)

    await operator.reply(listed.message_id, "I'll take this one")
    await operator.say("/tickets")

    assert len(operator.messages) == count + 1, "only the second /tickets was answered"
