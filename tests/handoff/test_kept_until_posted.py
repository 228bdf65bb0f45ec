"""A person's question is kept in the store until it is posted in the support chat, and only until then.

The bot stops (or dies) with a question not yet posted: the next start posts it, once. What a kill at any
moment does is tests/e2e/test_asking_a_person_killed.py's; here the moments are chosen.
"""

from __future__ import annotations

from pathlib import Path

from bot.clock import FakeClock
from bot.store import SqliteStore
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from tests.handoff.test_support_chat import LANGUAGES, OPERATOR, SUPPORT_CHAT, bot_settings, to_opt_abroad
from tests.telegram.conftest import nothing_more_happens

FRENCH = LANGUAGES[1]


async def waiting(database: str) -> list[tuple[int, str]]:
    """Returns the questions the store keeps for the support chat: ticket and text."""
    async with SqliteStore(database) as store:
        return [(question.ticket.id, question.text) for question in await store.pending_questions(10)]


async def test_a_question_the_support_chat_refused_is_posted_once_at_the_next_start(
    api: FakeBotApi, tmp_path: Path, clock: FakeClock
) -> None:
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    settings = bot_settings(api, tmp_path, operators_speak="en")
    person = api.user(501, language_code="fr")
    api.block(SUPPORT_CHAT)  # the bot was taken out of the support group for a while
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        await person.tap(FRENCH.ask, on=await to_opt_abroad(person))
        told = await person.say(FRENCH.question)
        follow_up = await person.say("Et avec Orange ?")

    assert told.text.startswith(FRENCH.forwarded)
    assert follow_up.text.startswith(FRENCH.forwarded)
    assert operators.messages == []
    assert await waiting(settings.database) == [(1, FRENCH.question), (1, "Et avec Orange ?")]

    api.unblock(SUPPORT_CHAT)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        post, more = await operators.wait_for_messages(2)
        await nothing_more_happens()
        said = len(person.messages)
        await operators.reply(more.message_id, "Oui, le formulaire Helia")
        answer = (await person.wait_for_messages(said + 1))[-1]

    assert post.text.startswith("🙋 Question #1 (fr)")
    assert FRENCH.question in post.text
    assert more.text.startswith("🙋 #1, more from the person:\n\nEt avec Orange ?")
    assert len(operators.messages) == 3, "each question posted once, then the line saying the answer went"
    assert answer.text.endswith("Oui, le formulaire Helia")
    assert await waiting(settings.database) == [], "the texts are forgotten once posted"


async def test_a_question_too_long_for_one_post_is_posted_cut_short_rather_than_lost(
    api: FakeBotApi, tmp_path: Path, clock: FakeClock
) -> None:
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    settings = bot_settings(api, tmp_path, operators_speak="en")
    person = api.user(503, language_code="fr")
    # Telegram takes up to 4096 characters from a person; the post adds its heading, the step and the answers.
    question = "Ma ligne OPT & <Orange> : " + "pourquoi ? " * 370
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        await person.tap(FRENCH.ask, on=await to_opt_abroad(person))
        await person.say(question)
        (post,) = await operators.wait_for_messages(1)

    assert post.text.startswith("🙋 Question #1 (fr)")
    assert "Ma ligne OPT & <Orange> : pourquoi ? pourquoi ?" in post.text
    assert post.text.count("pourquoi") < 370
    assert "…" in post.text
    assert len(post.text) <= 4096
    assert await waiting(settings.database) == []
