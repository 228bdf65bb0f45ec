"""A support chat that is a forum group: one topic per person, where operators answer by simply writing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from tests.handoff.test_support_chat import (
    LANGUAGES,
    OPERATOR,
    SUPPORT_CHAT,
    Language,
    bot_settings,
    to_opt_abroad,
)
from tests.telegram.conftest import nothing_more_happens

ENGLISH, FRENCH = LANGUAGES[0], LANGUAGES[1]


@pytest.fixture
async def forum(api: FakeBotApi, tmp_path: Path, clock: FakeClock) -> AsyncIterator[None]:
    """The bot with a forum group as its support chat, its operators speaking English."""
    api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support", forum=True)
    settings = bot_settings(api, tmp_path, operators_speak="en")
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        yield


async def ask(api: FakeBotApi, chat_id: int, language: Language, question: str) -> int:
    """A person asks a person from the OPT-from-abroad screen; returns their question's post."""
    person = api.user(chat_id, language_code=language.code)
    await person.tap(language.ask, on=await to_opt_abroad(person))
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(operators.messages)
    await person.say(question)
    return (await operators.wait_for_messages(posts + 1))[-1].message_id


async def test_each_person_gets_a_topic_where_their_question_and_follow_ups_go(
    api: FakeBotApi, forum: None
) -> None:
    first = await ask(api, 601, FRENCH, FRENCH.question)
    second = await ask(api, 602, ENGLISH, ENGLISH.question)
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(operators.messages)
    await api.user(601, language_code="fr").say("Et avec Orange ?")
    follow_up = (await operators.wait_for_messages(posts + 1))[-1]

    topics = api.topics(SUPPORT_CHAT)
    assert sorted(topics.values()) == ["#1 · fr", "#2 · en"]
    by_name = {name: thread for thread, name in topics.items()}
    assert api.thread_of(SUPPORT_CHAT, first) == by_name["#1 · fr"]
    assert api.thread_of(SUPPORT_CHAT, second) == by_name["#2 · en"]
    assert api.thread_of(SUPPORT_CHAT, follow_up.message_id) == by_name["#1 · fr"]


async def test_an_operator_answers_by_writing_in_the_topic_and_closes_it_there(
    api: FakeBotApi, forum: None
) -> None:
    post = await ask(api, 601, FRENCH, FRENCH.question)
    topic = api.thread_of(SUPPORT_CHAT, post)
    assert topic is not None
    person = api.user(601, language_code="fr")
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    before = len(person.messages)

    await operators.send_in_topic(topic, "Passez par le formulaire Helia")
    sent = await operators.wait_for_reply()

    assert sent.text == ENGLISH.sent, "the operators read their own language"
    assert api.thread_of(SUPPORT_CHAT, sent.message_id) == topic
    answer = (await person.wait_for_messages(before + 1))[-1]
    assert answer.text == f"{FRENCH.answer_heading}\n\nPassez par le formulaire Helia"

    await operators.send_in_topic(topic, "/close")
    closed = await operators.wait_for_reply()
    assert closed.text == ENGLISH.closed_support
    assert (await person.wait_for_messages(before + 2))[-1].text.startswith(FRENCH.closed)
    said = len(person.messages)
    await operators.send_in_topic(topic, "anything else?")
    await nothing_more_happens()
    assert len(person.messages) == said, "a closed topic's messages reach nobody"
