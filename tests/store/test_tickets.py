"""Tickets, on every backend: one open ticket per person, each message relayed once, gone with the person."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import Commit, Notice, Relay, Store, StoredConversation, StoreError

StoreFactory = Callable[[], Store]

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
CHAT = 1001
OTHER_CHAT = 2002
CONVERSATION = StoredConversation(
    flow_id="cancel_esim", flow_version="1", state="opt_abroad", language="fr", step=3, variables={}
)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def person(store: Store, chat_id: int = CHAT) -> None:
    await store.commit(Commit(chat_id=chat_id, conversation=CONVERSATION), START)


async def test_a_person_has_one_open_ticket_and_a_new_one_once_it_is_closed(store: Store) -> None:
    await person(store)
    first = await store.open_ticket(CHAT, "fr", at(0))
    again = await store.open_ticket(CHAT, "en", at(5))

    assert again == first
    assert (first.chat_id, first.language, first.opened_at, first.closed_at) == (CHAT, "fr", at(0), None)
    assert await store.close_ticket(first.id, at(10))
    assert not await store.close_ticket(first.id, at(11)), "closing twice changes nothing"
    assert await store.open_ticket_of(CHAT) is None
    second = await store.open_ticket(CHAT, "fr", at(20))
    assert second.id != first.id


async def test_instances_opening_a_ticket_for_the_same_person_at_once_open_one(
    new_store: StoreFactory,
) -> None:
    async with new_store() as one, new_store() as other:
        await person(one)
        opened = await asyncio.gather(
            *(store.open_ticket(CHAT, "fr", at(0)) for store in (one, other) for _ in range(5))
        )
        assert {ticket.id for ticket in opened} == {opened[0].id}
        assert len(await other.open_tickets()) == 1


async def test_each_message_is_relayed_once_even_when_two_instances_take_it(new_store: StoreFactory) -> None:
    async with new_store() as one, new_store() as other:
        await person(one)
        ticket = await one.open_ticket(CHAT, "fr", at(0))
        claims = await asyncio.gather(
            one.relay(ticket.id, Relay.ANSWER, 555, at(30)),
            other.relay(ticket.id, Relay.ANSWER, 555, at(31)),
        )
        assert sorted(claims) == [False, True]
        assert await one.relay(ticket.id, Relay.QUESTION, 555, at(32)), "a question is another message"
        assert await one.relay(ticket.id, Relay.ANSWER, 556, at(40))
        answered = await other.open_ticket_of(CHAT)
        assert answered is not None
        assert answered.answered_at in (at(30), at(31)), "the first answer counts"


async def test_an_operator_reply_finds_its_ticket_by_the_post_or_a_relayed_question(store: Store) -> None:
    await person(store)
    await person(store, OTHER_CHAT)
    ticket = await store.open_ticket(CHAT, "fr", at(0))
    other = await store.open_ticket(OTHER_CHAT, "en", at(1))
    await store.record_topic(ticket.id, 9)
    for chat_ticket, message_id, copy_id in ((ticket, 11, 70), (other, 21, 71), (ticket, 12, 80)):
        assert await store.relay(chat_ticket.id, Relay.QUESTION, message_id, at(5), "a question")
        await store.relayed(chat_ticket.id, Relay.QUESTION, message_id, copy_id=copy_id)

    found = await store.ticket_for_reply(80)
    assert found is not None
    assert (found.id, found.support_message_id, found.topic_id) == (ticket.id, 70, 9)
    posted = await store.ticket_for_reply(71)
    assert posted is not None
    assert posted.id == other.id
    assert await store.ticket_for_reply(12) is None, "the person's own message id is not the copy"
    in_topic = await store.ticket_in_topic(9)
    assert in_topic is not None
    assert in_topic.id == ticket.id
    assert await store.ticket_in_topic(10) is None
    await store.close_ticket(ticket.id, at(9))
    assert await store.ticket_for_reply(70) is None, "a closed ticket takes no more replies"
    assert await store.ticket_in_topic(9) is None


async def test_a_question_keeps_its_text_only_until_it_is_posted(store: Store) -> None:
    await person(store)
    await person(store, OTHER_CHAT)
    ticket = await store.open_ticket(CHAT, "fr", at(0))
    other = await store.open_ticket(OTHER_CHAT, "en", at(0))
    await store.relay(ticket.id, Relay.QUESTION, 11, at(1), "Comment fermer ma ligne ?")
    await store.relay(other.id, Relay.QUESTION, 21, at(2), "How do I close it?")
    await store.relay(ticket.id, Relay.QUESTION, 12, at(3), "Et avec Orange ?")
    await store.relay(ticket.id, Relay.ANSWER, 70, at(4))

    pending = await store.pending_questions(10)
    assert [(q.ticket.id, q.source_message_id, q.text, q.at) for q in pending] == [
        (ticket.id, 11, "Comment fermer ma ligne ?", at(1)),
        (other.id, 21, "How do I close it?", at(2)),
        (ticket.id, 12, "Et avec Orange ?", at(3)),
    ], "oldest first; an answer waits in the person's outbox, not here"
    assert [q.source_message_id for q in await store.pending_questions(1)] == [11]

    await store.relayed(ticket.id, Relay.QUESTION, 11, copy_id=300)
    await store.relayed(ticket.id, Relay.QUESTION, 12, copy_id=302)
    await store.relayed(other.id, Relay.QUESTION, 21, copy_id=None)  # given up: Telegram refused it
    assert await store.pending_questions(10) == []
    posted = await store.open_ticket_of(CHAT)
    assert posted is not None
    assert posted.support_message_id == 300, "the first copy is the post operators reply to"
    assert not await store.relay(ticket.id, Relay.QUESTION, 11, at(9), "Comment fermer ma ligne ?")
    assert await store.pending_questions(10) == [], "a question handled again is not posted again"


async def test_a_question_waiting_to_be_posted_survives_a_restart_and_goes_with_forget(
    new_store: StoreFactory,
) -> None:
    async with new_store() as store:
        await person(store)
        ticket = await store.open_ticket(CHAT, "zh-Hans", at(0))
        await store.relay(ticket.id, Relay.QUESTION, 12, at(1), "我在法国, 怎么注销?")
    async with new_store() as store:
        [waiting] = await store.pending_questions(10)
        assert (waiting.ticket, waiting.text) == (ticket, "我在法国, 怎么注销?")
        await store.forget(CHAT)
        assert await store.pending_questions(10) == [], "forgetting a person drops what they had not sent"


async def test_tickets_last_across_a_restart(new_store: StoreFactory) -> None:
    async with new_store() as store:
        await person(store)
        ticket = await store.open_ticket(CHAT, "zh-Hans", at(0))
        await store.relay(ticket.id, Relay.QUESTION, 12, at(1))
    async with new_store() as store:
        assert await store.open_ticket_of(CHAT) == ticket
        assert not await store.relay(ticket.id, Relay.QUESTION, 12, at(2))


async def test_a_forgotten_or_purged_person_leaves_no_ticket(store: Store) -> None:
    await person(store)
    await person(store, OTHER_CHAT)
    ticket = await store.open_ticket(CHAT, "fr", at(0))
    await store.relay(ticket.id, Relay.QUESTION, 12, at(1))
    await store.open_ticket(OTHER_CHAT, "fr", at(0))

    await store.forget(CHAT)
    assert await store.open_ticket_of(CHAT) is None
    assert [t.chat_id for t in await store.open_tickets()] == [OTHER_CHAT]
    await store.purge_idle(before=at(60 * 24))
    assert await store.open_tickets() == []
    assert (await store.ticket_counts(START, at(60))).opened == 0


async def test_a_ticket_needs_the_persons_chat(store: Store) -> None:
    with pytest.raises(StoreError, match="chat 4242 has no conversation"):
        await store.open_ticket(4242, "fr", at(0))


async def test_the_operators_count_tickets_opened_answered_and_closed_in_a_period(store: Store) -> None:
    for chat_id in (1, 2, 3):
        await person(store, chat_id)
    first, second, third = [await store.open_ticket(c, "en", at(10 * c)) for c in (1, 2, 3)]
    await store.relay(first.id, Relay.ANSWER, 1, at(40))
    await store.relay(second.id, Relay.ANSWER, 2, at(41))
    await store.close_ticket(second.id, at(50))

    counts = await store.ticket_counts(at(10), at(30))
    assert (counts.opened, counts.answered, counts.closed) == (2, 2, 1)
    assert [t.id for t in await store.open_tickets()] == [first.id, third.id]


async def test_closing_with_a_notice_owes_the_support_chat_one_line_until_it_is_said(store: Store) -> None:
    await person(store)
    ticket = await store.open_ticket(CHAT, "fr", at(0))
    await store.record_topic(ticket.id, 77)
    assert await store.pending_notices(10) == []

    assert await store.close_ticket(ticket.id, at(5), Notice.SOLVED)
    assert not await store.close_ticket(ticket.id, at(6), Notice.CLOSED), "closed already: nothing owed"

    (owed,) = await store.pending_notices(10)
    assert (owed.ticket_id, owed.notice, owed.topic_id) == (ticket.id, Notice.SOLVED, 77)
    await store.notice_said(owed.id)
    assert await store.pending_notices(10) == []


async def test_forgetting_a_person_with_an_open_question_owes_the_support_chat_a_line(store: Store) -> None:
    await person(store)
    await person(store, OTHER_CHAT)
    closed = await store.open_ticket(OTHER_CHAT, "en", at(0))
    await store.close_ticket(closed.id, at(1))
    ticket = await store.open_ticket(CHAT, "fr", at(2))

    await store.forget(OTHER_CHAT)
    assert await store.pending_notices(10) == [], "a closed question is owed nothing"
    await store.forget(CHAT)

    (owed,) = await store.pending_notices(10)
    assert (owed.ticket_id, owed.notice, owed.topic_id) == (ticket.id, Notice.FORGOTTEN, None)
    assert await store.open_tickets() == [], "the ticket went with the person; its notice stays"
    await store.notice_said(owed.id)
    assert await store.pending_notices(10) == []
