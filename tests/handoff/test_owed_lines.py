"""The bot's lines the support chat needs (a question solved, closed, or gone with its person) are kept in the
store with the change they report, and said once, even when the bot stops before it can say them.

Here the bot cannot reach the support chat when the change happens (it was taken out of the group for a
while), stops, and a new Application starts on the same store: the line arrives then, once.
"""

from __future__ import annotations

from pathlib import Path

from bot.clock import FakeClock
from bot.store import Notice, SqliteStore
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from tests.handoff.test_support_chat import (
    LANGUAGES,
    OPERATOR,
    SUPPORT_CHAT,
    bot_settings,
    to_opt_abroad,
)
from tests.telegram.conftest import nothing_more_happens

FRENCH = LANGUAGES[1]
ENGLISH = LANGUAGES[0]


async def owed(database: str) -> list[tuple[int, Notice]]:
    """Returns the lines the store keeps for the support chat: ticket and which line."""
    async with SqliteStore(database) as store:
        return [(notice.ticket_id, notice.notice) for notice in await store.pending_notices(10)]


async def test_a_solved_line_the_support_chat_could_not_take_is_said_once_after_a_restart(
    api: FakeBotApi, tmp_path: Path, clock: FakeClock
) -> None:
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    settings = bot_settings(api, tmp_path, operators_speak="en")
    person = api.user(501, language_code="fr")
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        await person.tap(FRENCH.ask, on=await to_opt_abroad(person))
        await person.say(FRENCH.question)
        (post,) = await operators.wait_for_messages(1)
        said = len(person.messages)
        await operators.reply(post.message_id, "Passez par le formulaire Helia")
        answer = (await person.wait_for_messages(said + 1))[-1]
        await operators.wait_for_messages(2)
        api.block(SUPPORT_CHAT)  # the bot is taken out of the support group for a while
        thanks = await person.tap(FRENCH.solved_button, on=answer)

    assert thanks.text.startswith(FRENCH.solved), "the person is told at once"
    assert len(operators.messages) == 2, "the post and the line saying the answer went"
    assert await owed(settings.database) == [(1, Notice.SOLVED)]

    api.unblock(SUPPORT_CHAT)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        (*_, line) = await operators.wait_for_messages(3)
        await nothing_more_happens()

    assert line.text == ENGLISH.solved_support
    assert len(operators.messages) == 3, "said once"
    assert await owed(settings.database) == [], "forgotten once said"


async def test_closed_and_forgotten_lines_wait_in_the_store_and_arrive_once_in_order(
    api: FakeBotApi, tmp_path: Path, clock: FakeClock
) -> None:
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    settings = bot_settings(api, tmp_path, operators_speak="fr")
    first, second = api.user(501, language_code="fr"), api.user(502, language_code="en")
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        for person, language in ((first, FRENCH), (second, ENGLISH)):
            await person.tap(language.ask, on=await to_opt_abroad(person))
            await person.say(language.question)
        posts = await operators.wait_for_messages(2)
        api.block(SUPPORT_CHAT)
        said = len(first.messages)
        await operators.reply(posts[0].message_id, "/close")
        closed = (await first.wait_for_messages(said + 1))[-1]
        confirm = await second.say("/forget")
        await second.tap(confirm.buttons[0])

    assert closed.text.startswith(FRENCH.closed), "the person is told from their outbox as before"
    assert await owed(settings.database) == [(1, Notice.CLOSED), (2, Notice.FORGOTTEN)]

    api.unblock(SUPPORT_CHAT)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        lines = await operators.wait_for_messages(4)
        await nothing_more_happens()

    assert [line.text for line in lines[2:]] == [
        FRENCH.closed_support,
        FRENCH.forgotten.replace("n° 1", "n° 2"),
    ]
    assert len(operators.messages) == 4, "each said once"
    assert await owed(settings.database) == []
