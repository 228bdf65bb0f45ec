"""Asking a person, through the real Application and the fake Bot API: a person taps "Ask a person" where the
flow offers it and types a question; it reaches the operators' group; an operator answers by replying. In the
three languages, for the person and for the operators."""

from __future__ import annotations

# The operators' and people's texts are in Chinese too.
# ruff: noqa: RUF001
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from testkit.screens import Screen
from testkit.users import FakeUser
from tests.telegram.conftest import ROOT, nothing_more_happens

SUPPORT_CHAT = -1001234567890
OPERATOR = 900
STRANGER = 901


@dataclass(frozen=True, slots=True)
class Language:
    """What a person and an operator read in one language."""

    code: str
    ask: str
    warning: str
    forwarded: str
    held: str
    question: str
    answer_heading: str
    sent: str
    not_allowed: str
    open_questions: str
    post_heading: str
    follow_up_heading: str
    solved_button: str
    closed: str
    closed_support: str
    solved: str
    solved_support: str
    status_line: str
    forgotten: str
    unknown_post: str


LANGUAGES = [
    Language(
        "en",
        "🙋 Ask a person",
        "⚠️ Never send a code, a password or your eSIM's QR code",
        "✅ Sent to a person.",
        "⚠️ That looks like a code, so it was not sent.",
        "How do I close my OPT line from France?",
        "🙋 A person from the support team answers:",
        "✅ Sent to the person.",
        "Only the operators named in BOT_SUPPORT_OPERATOR_IDS can answer people here.",
        "Open questions: 1",
        "🙋 Question #1 (en)",
        "🙋 #1, more from the person:",
        "✅ Solved, thanks",
        "🙋 The support team closed your question.",
        "🔒 #1 closed.",
        "✅ Glad it's solved.",
        "✅ #1: the person says it is solved; closed.",
        "🙋 Your question to a person is open: the answer will come here.",
        "🗑 #1: the person deleted everything about them (/forget); the question is gone.",
        "This is no open question's post: reply to the newest copy of the question's post, or see /tickets.",
    ),
    Language(
        "fr",
        "🙋 Demander à une personne",
        "⚠️ N'envoyez jamais un code, un mot de passe ou le QR code de votre eSIM",
        "✅ Envoyé à une personne.",
        "⚠️ Ce message ressemble à un code : il n'a pas été envoyé.",
        "Comment fermer ma ligne OPT depuis la France ?",
        "🙋 Une personne de l'équipe d'assistance vous répond :",
        "✅ Envoyé à la personne.",
        "Seuls les opérateurs listés dans BOT_SUPPORT_OPERATOR_IDS peuvent répondre aux gens ici.",
        "Questions ouvertes : 1",
        "🙋 Question n° 1 (fr)",
        "🙋 n° 1, la suite de la personne :",
        "✅ Résolu, merci",
        "🙋 L'équipe d'assistance a clos votre question.",
        "🔒 n° 1 close.",
        "✅ Tant mieux.",
        "✅ n° 1 : la personne dit que c'est résolu ; question close.",
        "🙋 Votre question à une personne est ouverte : la réponse arrivera ici.",
        "🗑 n° 1 : la personne a tout effacé (/forget) ; la question est supprimée.",
        "Ce n'est le message d'aucune question ouverte : répondez à la copie la plus récente du message"
        " de la question, ou voyez /tickets.",
    ),
    Language(
        "zh-Hans",
        "🙋 问真人客服",
        "⚠️ 任何时候都不要把验证码、密码或 eSIM 二维码发给任何人",
        "✅ 已转给真人客服。",
        "⚠️ 这看起来像是验证码，所以没有发送。",
        "我在法国，怎么注销 OPT 号码？",
        "🙋 客服人员回复你：",
        "✅ 已发送给用户。",
        "只有 BOT_SUPPORT_OPERATOR_IDS 里列出的操作员才能在这里回复用户。",
        "未结问题：1 个",
        "🙋 问题 #1（zh-Hans）",
        "🙋 #1，用户补充：",
        "✅ 已解决，谢谢",
        "🙋 客服已结束你的问题。",
        "🔒 #1 已关闭。",
        "✅ 很高兴问题解决了。",
        "✅ #1：用户表示已解决，问题已关闭。",
        "🙋 你向真人客服提的问题还在处理中：回复会发到这里。",
        "🗑 #1：用户已删除自己的全部数据（/forget），该问题已删除。",
        "这不是任何未结问题的消息：请回复该问题消息的最新一条，或查看 /tickets。",
    ),
]


@pytest.fixture(params=LANGUAGES, ids=[language.code for language in LANGUAGES])
def language(request: pytest.FixtureRequest) -> Language:
    found: Language = request.param
    return found


def bot_settings(api: FakeBotApi, tmp_path: Path, operators_speak: str | None = None) -> Settings:
    """Settings as an operator gives them; with a support chat when its operators' language is given."""
    if operators_speak is None:
        return Settings(
            _env_file=None,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=tmp_path / "bot.sqlite3",
            BOT_FLOWS_DIR=ROOT / "flows",
            BOT_LOCALES_DIR=ROOT / "locales",
        )
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=tmp_path / "bot.sqlite3",
        BOT_FLOWS_DIR=ROOT / "flows",
        BOT_LOCALES_DIR=ROOT / "locales",
        BOT_SUPPORT_CHAT_ID=SUPPORT_CHAT,
        BOT_SUPPORT_OPERATOR_IDS=f"{OPERATOR}, 902",
        BOT_SUPPORT_LANGUAGE=operators_speak,
    )


@pytest.fixture
async def desk(api: FakeBotApi, tmp_path: Path, clock: FakeClock, language: Language) -> AsyncIterator[None]:
    """The bot with a support chat whose operators speak ``language``, long polling the fake API."""
    api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")  # the bot was added to the operators' group
    settings = bot_settings(api, tmp_path, operators_speak=language.code)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        yield


async def to_opt_abroad(person: FakeUser) -> Screen:
    """Walks to the screen for closing an OPT line from abroad, which the research could not answer."""
    await person.say("/start opt")
    await person.tap("go")
    await person.tap("forfait")
    return await person.tap("abroad")


async def ask(api: FakeBotApi, language: Language) -> int:
    """A person on the OPT-from-abroad screen asks a person; returns the question's post in the support chat."""
    person = api.user(501, language_code=language.code)
    screen = await to_opt_abroad(person)
    prompt = await person.tap(language.ask, on=screen)
    assert language.warning in prompt.text
    group = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(group.messages)
    assert (await person.say(language.question)).text.startswith(language.forwarded)
    (*_, post) = await group.wait_for_messages(posts + 1)
    return post.message_id


async def test_an_operator_answers_by_replying_and_the_person_reads_it_from_a_person(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
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
    assert answer.button_labels == [language.solved_button]
    assert group.messages[-1].text == language.sent


async def test_someone_not_allowed_to_answer_is_refused_and_the_person_gets_nothing(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    before = len(person.messages)
    stranger = api.group(SUPPORT_CHAT, user_id=STRANGER)

    await stranger.reply(post, "I'll handle it, send me your code")
    refusal = await stranger.wait_for_reply()

    assert refusal.text == language.not_allowed
    assert len(person.messages) == before


async def test_tickets_lists_the_open_questions_with_their_age_to_operators_only(
    api: FakeBotApi, desk: None, language: Language, clock: FakeClock
) -> None:
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    assert (await operator.say("/tickets")).text != language.open_questions
    await ask(api, language)
    clock.advance(timedelta(hours=26))

    listed = await operator.say("/tickets")

    assert listed.text.splitlines()[0].startswith(language.open_questions)
    assert re.fullmatch(rf"⏳ #1 · {re.escape(language.code)} · 1 d 2 h", listed.text.splitlines()[1])
    stranger = api.group(SUPPORT_CHAT, user_id=STRANGER)
    assert (await stranger.say("/tickets")).text == language.not_allowed


async def test_replies_among_operators_to_other_messages_are_left_alone(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    await ask(api, language)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    colleague = api.group(SUPPORT_CHAT, user_id=902)
    said = await colleague.send("Who takes the OPT one?")
    await operator.say("/tickets")
    count = len(operator.messages)

    await operator.reply(said, "I'll take this one")
    await operator.say("/tickets")

    assert len(operator.messages) == count + 1, "only the second /tickets was answered"


async def test_a_reply_to_a_bot_line_that_is_no_question_says_how_to_reach_the_question(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    await operator.reply(post, "Which carrier?")
    sent = await operator.wait_for_reply()
    assert sent.text == language.sent
    before = len(person.messages)

    await operator.reply(sent.message_id, "and use Helia's form")
    hint = await operator.wait_for_reply()
    await operator.reply(hint.message_id, "/close")
    again = await operator.wait_for_reply()

    assert hint.text == again.text == language.unknown_post
    assert hint.text != language.sent
    assert (await operator.say("/tickets")).text.splitlines()[0].startswith(language.open_questions)
    stranger = api.group(SUPPORT_CHAT, user_id=STRANGER)
    posts = len(operator.messages)
    await stranger.reply(sent.message_id, "hello?")
    await operator.say("/tickets")
    assert len(operator.messages) == posts + 1, "only /tickets was answered, not the stranger"
    assert len(person.messages) == before, "the person got nothing"


async def test_a_message_that_looks_like_a_code_is_not_forwarded(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    await ask(api, language)
    person = api.user(501, language_code=language.code)
    group = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(group.messages)

    held = await person.say("LPA:1$smdp.io$K2-1Y2ZX-1BJ5T-QZ7TZ")

    assert held.text.startswith(language.held)
    assert len(group.messages) == posts


async def test_follow_ups_go_both_ways_on_the_same_question(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    await operator.reply(post, "Which carrier?")
    await operator.wait_for_reply()
    posts = len(operator.messages)

    await person.say("Orange, since 2024")
    (*_, follow_up) = await operator.wait_for_messages(posts + 1)
    assert follow_up.text.startswith(f"{language.follow_up_heading}\n\nOrange, since 2024\n\n")
    before = len(person.messages)
    await operator.reply(follow_up.message_id, "Then use Helia's form")
    await operator.wait_for_reply()

    assert (await person.wait_for_messages(before + 1))[-1].text.endswith("Then use Helia's form")


async def test_without_a_support_chat_nobody_is_offered_a_person(
    api: FakeBotApi, tmp_path: Path, clock: FakeClock
) -> None:
    settings = bot_settings(api, tmp_path)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        screen = await to_opt_abroad(api.user(502, language_code="en"))

    assert screen.button_labels, "the screen has its own buttons"
    assert not any("Ask a person" in label for label in screen.button_labels)


async def test_an_operator_closes_a_question_and_the_person_is_told(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    before = len(person.messages)

    await operator.reply(post, "/close")
    closed = await operator.wait_for_reply()

    assert closed.text == language.closed_support
    assert (await person.wait_for_messages(before + 1))[-1].text.startswith(language.closed)
    assert (await operator.say("/tickets")).text.splitlines()[0] != language.open_questions
    posts = len(operator.messages)
    await person.say("one more thing")
    assert len(operator.messages) == posts, "after closing, what the person types is the flow's again"


async def test_the_person_says_it_is_solved_under_the_answer(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    before = len(person.messages)
    await operator.reply(post, "Use Helia's online form")
    await operator.wait_for_reply()
    answer = (await person.wait_for_messages(before + 1))[-1]
    posts = len(operator.messages)

    thanks = await person.tap(language.solved_button, on=answer)

    assert thanks.text.startswith(language.solved)
    assert (await operator.wait_for_messages(posts + 1))[-1].text == language.solved_support
    said = len(person.messages)
    await operator.reply(post, "a late answer")
    assert (await operator.wait_for_reply()).text == language.unknown_post, "the operator learns it is closed"
    await nothing_more_happens()
    assert len(person.messages) == said, "a solved question takes no more answers"


async def test_status_shows_an_open_question_until_it_is_closed(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    person = api.user(501, language_code=language.code)
    await person.say("/start")
    assert language.status_line not in (await person.say("/status")).text
    post = await ask(api, language)
    assert language.status_line in (await person.say("/status")).text

    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    await operator.reply(post, "/close")
    await operator.wait_for_reply()

    assert language.status_line not in (await person.say("/status")).text


async def test_forget_removes_the_question_and_tells_the_support_chat(
    api: FakeBotApi, desk: None, language: Language
) -> None:
    post = await ask(api, language)
    person = api.user(501, language_code=language.code)
    operator = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(operator.messages)

    confirm = await person.say("/forget")
    await person.tap(confirm.buttons[0])

    assert (await operator.wait_for_messages(posts + 1))[-1].text == language.forgotten
    assert (await operator.say("/tickets")).text.splitlines()[0] != language.open_questions
    said = len(person.messages)
    await operator.reply(post, "an answer to nobody")
    await nothing_more_happens()
    assert len(person.messages) == said, "nothing reaches a person who asked to be forgotten"


async def test_asking_and_solving_pressed_too_late_to_answer_still_work_without_an_error(
    api: FakeBotApi, desk: None, language: Language, caplog: pytest.LogCaptureFixture
) -> None:
    """A press Telegram no longer lets the bot answer (handled after its 15-second window, as after a
    restart) still opens the question, and still closes it as solved: nothing logged as an error."""
    person = api.user(501, language_code=language.code)
    screen = await to_opt_abroad(person)
    api.expire_callback_queries()
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    api.fail_next("answerCallbackQuery", 400, too_old)
    prompt = await person.tap(language.ask, on=screen)
    assert language.warning in prompt.text
    group = api.group(SUPPORT_CHAT, user_id=OPERATOR)
    posts = len(group.messages)
    await person.say(language.question)
    (*_, post) = await group.wait_for_messages(posts + 1)
    before = len(person.messages)
    await group.reply(post.message_id, "Use Helia's online form")
    answer = (await person.wait_for_messages(before + 1))[-1]

    api.fail_next("answerCallbackQuery", 400, too_old)
    thanks = await person.tap(language.solved_button, on=answer)

    assert thanks.text.startswith(language.solved)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
