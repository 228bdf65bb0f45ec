"""The store's promises to several bot processes sharing it, on every backend (bot/store/base.py).

Each "instance" below is a store of its own on the same database, as two processes would have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta

import pytest

from bot.store import (
    ChatChanged,
    Commit,
    DuplicateUpdate,
    NewReminder,
    ReminderGone,
    Store,
    StoredConversation,
    UserSettings,
)
from tests.store.conftest import START

StoreFactory = Callable[[], Store]
CHAT = 1001
LEASE = timedelta(seconds=30)
STARTED = StoredConversation(flow_id="cancel_esim", flow_version="1", state="start", language="en")
WAITING = StoredConversation(flow_id="cancel_esim", flow_version="1", state="waiting", language="en")


def later(**delta: float) -> datetime:
    return START + timedelta(**delta)


@asynccontextmanager
async def instances(new_store: StoreFactory, count: int) -> AsyncIterator[list[Store]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(new_store()) for _ in range(count)]


# One chat's updates, one after another


async def test_a_commit_computed_from_a_stale_read_is_refused(store: Store) -> None:
    assert await store.load_chat(CHAT) is None
    await store.commit(Commit(chat_id=CHAT, conversation=STARTED, expected_version=0), START)
    loaded = await store.load_chat(CHAT)
    assert loaded is not None
    # Another process applies an update of the same chat meanwhile.
    await store.commit(Commit(chat_id=CHAT, conversation=WAITING, expected_version=loaded.version), START)

    with pytest.raises(ChatChanged):
        await store.commit(
            Commit(
                chat_id=CHAT,
                update_id=77,
                conversation=STARTED,
                outbox=[{"text": "stale"}],
                expected_version=loaded.version,
            ),
            later(seconds=1),
        )

    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.conversation == WAITING
    assert await store.pending_outbox(10) == []
    # Nothing was recorded, so the update can still be applied, from the fresh read.
    await store.commit(Commit(chat_id=CHAT, update_id=77, expected_version=record.version), later(seconds=1))


async def test_a_first_commit_for_a_chat_created_meanwhile_is_refused(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, conversation=WAITING), START)

    with pytest.raises(ChatChanged):
        await store.commit(Commit(chat_id=CHAT, conversation=STARTED, expected_version=0), START)


async def test_what_changes_the_chat_moves_its_version(store: Store) -> None:
    (message,) = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "a"}]), START)
    versions = []
    for change in (
        store.record_delivery(message.id, CHAT, 555),
        store.set_blocked(CHAT, True),
        store.commit(Commit(chat_id=CHAT), START),
    ):
        before = await store.load_chat(CHAT)
        await change
        after = await store.load_chat(CHAT)
        assert before is not None
        assert after is not None
        versions.append(after.version - before.version)

    assert versions == [1, 1, 1]


async def test_of_two_instances_racing_on_one_chat_exactly_one_commits(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        await first.commit(Commit(chat_id=CHAT, conversation=STARTED), START)
        loaded = await first.load_chat(CHAT)
        assert loaded is not None

        outcomes = await asyncio.gather(
            *(
                instance.commit(
                    Commit(
                        chat_id=CHAT,
                        conversation=WAITING,
                        outbox=[{"text": "x"}],
                        expected_version=loaded.version,
                    ),
                    START,
                )
                for instance in (first, second)
            ),
            return_exceptions=True,
        )

        assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ChatChanged", "list"]
        assert len(await first.pending_outbox(10)) == 1


async def test_an_update_delivered_to_two_instances_is_applied_once(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as pair:
        outcomes = await asyncio.gather(
            *(
                instance.commit(Commit(chat_id=CHAT, update_id=9, outbox=[{"text": "once"}]), START)
                for instance in pair
            ),
            return_exceptions=True,
        )

        assert sorted(type(outcome).__name__ for outcome in outcomes) == ["DuplicateUpdate", "list"]
        assert len(await pair[0].pending_outbox(10)) == 1
        with pytest.raises(DuplicateUpdate):
            await pair[1].commit(Commit(chat_id=CHAT, update_id=9), START)


# A due reminder is claimed by one instance


async def test_instances_claiming_together_share_the_due_reminders(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        for chat_id in range(1, 41):
            await first.commit(Commit(chat_id=chat_id, schedule=[NewReminder("nudge", START, 1)]), START)

        claims = await asyncio.gather(
            *(
                instance.claim_due_reminders(later(minutes=1), 25, LEASE)
                for instance in (first, second, first)
            )
        )

        claimed = [reminder.chat_id for claim in claims for reminder in claim]
        assert sorted(claimed) == list(range(1, 41))
        assert await second.claim_due_reminders(later(minutes=1), 100, LEASE) == []


async def test_a_claimed_reminder_returns_when_its_claim_lapses(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(minutes=1), 1)]), START)
    await store.commit(Commit(chat_id=2, schedule=[NewReminder("other", later(minutes=5), 1)]), START)

    [claimed] = await store.claim_due_reminders(later(minutes=2), 10, LEASE)

    # The instance holding it died: nobody else takes it before the claim lapses, then anyone may.
    assert claimed.chat_id == CHAT
    assert await store.claim_due_reminders(later(minutes=2, seconds=29), 10, LEASE) == []
    assert await store.next_due_at() == later(minutes=2, seconds=30)
    [again] = await store.claim_due_reminders(later(minutes=2, seconds=30), 10, LEASE)
    assert again == claimed


async def test_a_postponed_reminder_is_claimable_at_its_new_time(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", START, 1)]), START)
    [claimed] = await store.claim_due_reminders(START, 10, timedelta(hours=1))

    assert await store.postpone_reminder(claimed.id, later(minutes=5))

    assert await store.next_due_at() == later(minutes=5)
    [retried] = await store.claim_due_reminders(later(minutes=5), 10, LEASE)
    assert (retried.id, retried.attempts) == (claimed.id, 1)


async def test_consuming_stays_the_final_word_on_a_claimed_reminder(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        await first.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", START, 1)]), START)
        [claimed] = await first.claim_due_reminders(START, 10, LEASE)
        await first.commit(Commit(chat_id=CHAT, consumed_reminder_id=claimed.id), START)

        with pytest.raises(ReminderGone):
            await second.commit(Commit(chat_id=CHAT, consumed_reminder_id=claimed.id), START)
        assert await second.claim_due_reminders(later(hours=1), 10, LEASE) == []


# A chat's outbox is sent by one instance at a time


async def test_one_instance_at_a_time_holds_a_chats_outbox(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        mine = await first.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}, {"text": "2"}]), START)

        assert await first.claim_outbox(CHAT, "first", START, LEASE) == mine
        assert await second.claim_outbox(CHAT, "second", START, LEASE) is None
        # The second instance commits another message of the chat while the first is sending.
        theirs = await second.commit(Commit(chat_id=CHAT, outbox=[{"text": "3"}]), START)
        for message in mine:
            await first.record_delivery(message.id, CHAT, None)

        assert await first.release_outbox(CHAT, "first", unless_pending=True) is False
        assert await first.claim_outbox(CHAT, "first", START, LEASE) == theirs
        await first.record_delivery(theirs[0].id, CHAT, None)
        assert await first.release_outbox(CHAT, "first", unless_pending=True) is True
        assert await second.claim_outbox(CHAT, "second", START, LEASE) == []


async def test_an_outbox_claim_lapses_when_its_holder_dies(store: Store) -> None:
    pending = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}]), START)
    assert await store.claim_outbox(CHAT, "dead", START, LEASE) == pending

    assert await store.claim_outbox(CHAT, "alive", later(seconds=29), LEASE) is None
    assert await store.claim_outbox(CHAT, "alive", later(seconds=30), LEASE) == pending
    # The old holder, back from a long pause, finds the claim is not its own any more.
    assert await store.release_outbox(CHAT, "dead", unless_pending=True) is True
    assert await store.claim_outbox(CHAT, "dead", later(seconds=31), LEASE) is None


async def test_a_holder_that_must_wait_gives_up_its_claim(store: Store) -> None:
    pending = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}]), START)
    await store.claim_outbox(CHAT, "first", START, LEASE)

    assert await store.release_outbox(CHAT, "first", unless_pending=False) is True
    assert await store.claim_outbox(CHAT, "second", START, LEASE) == pending


async def test_a_delivery_recorded_with_the_next_claim_hands_over_what_another_instance_committed(
    new_store: StoreFactory,
) -> None:
    async with instances(new_store, 2) as (first, second):
        mine = await first.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}]), START)
        assert await first.claim_outbox(CHAT, "first", START, LEASE) == mine
        theirs = await second.commit(Commit(chat_id=CHAT, outbox=[{"text": "2"}]), START)

        # Sent: recorded as the chat's screen, and the claim renewed for the message committed meanwhile.
        following = await first.record_delivery_and_claim(
            mine[0].id, CHAT, 500, None, holder="first", now=later(seconds=20), lease=LEASE
        )
        assert following == theirs
        assert await second.claim_outbox(CHAT, "second", later(seconds=49), LEASE) is None
        record = await second.load_chat(CHAT)
        assert record is not None
        assert record.screen_message_id == 500

        # The last one sent: the claim is given up, so any instance may send what comes next.
        assert (
            await first.record_delivery_and_claim(
                theirs[0].id, CHAT, None, 501, holder="first", now=later(seconds=21), lease=LEASE
            )
            == []
        )
        assert await second.claim_outbox(CHAT, "second", later(seconds=22), LEASE) == []
        record = await second.load_chat(CHAT)
        assert record is not None
        assert (record.screen_message_id, record.reminder_message_id) == (500, 501)


async def test_a_delivery_recorded_after_the_claim_lapsed_leaves_the_new_holder_alone(store: Store) -> None:
    pending = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}, {"text": "2"}]), START)
    await store.claim_outbox(CHAT, "slow", START, LEASE)
    assert await store.claim_outbox(CHAT, "other", later(seconds=30), LEASE) == pending
    before = await store.load_chat(CHAT)

    # The slow holder's message did go out: it is recorded, but the claim and the rest stay the other's.
    assert (
        await store.record_delivery_and_claim(
            pending[0].id, CHAT, 700, None, holder="slow", now=later(seconds=31), lease=LEASE
        )
        is None
    )
    assert await store.claim_outbox(CHAT, "other", later(seconds=32), LEASE) == pending[1:]
    after = await store.load_chat(CHAT)
    assert before is not None
    assert after is not None
    assert after.screen_message_id == 700
    assert after.version > before.version


async def test_a_delivery_recorded_for_a_forgotten_chat_claims_nothing(store: Store) -> None:
    pending = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "1"}]), START)
    await store.claim_outbox(CHAT, "first", START, LEASE)
    await store.forget(CHAT)

    assert (
        await store.record_delivery_and_claim(
            pending[0].id, CHAT, 800, None, holder="first", now=START, lease=LEASE
        )
        is None
    )
    assert await store.load_chat(CHAT) is None


async def test_a_commit_claims_the_outbox_for_its_sender_in_the_same_trip(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        claimed = await first.commit_and_claim(
            Commit(chat_id=CHAT, outbox=[{"text": "1"}, {"text": "2"}]), START, holder="first", lease=LEASE
        )
        assert [message.payload for message in claimed.queued] == [{"text": "1"}, {"text": "2"}]
        assert claimed.pending == claimed.queued
        assert await second.claim_outbox(CHAT, "second", later(seconds=29), LEASE) is None

        # The second instance commits while the first holds the claim: its messages are the holder's to send.
        theirs = await second.commit_and_claim(
            Commit(chat_id=CHAT, outbox=[{"text": "3"}]), later(seconds=1), holder="second", lease=LEASE
        )
        assert [message.payload for message in theirs.queued] == [{"text": "3"}]
        assert theirs.pending is None
        assert await first.claim_outbox(CHAT, "first", later(seconds=2), LEASE) == [
            *claimed.queued,
            *theirs.queued,
        ]


async def test_a_commit_claiming_a_free_outbox_hands_over_what_was_left_pending(store: Store) -> None:
    left = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "left"}]), START)
    await store.claim_outbox(CHAT, "dead", START, LEASE)

    # The old holder died: once its claim lapses, the next commit's sender takes the claim and every message.
    claimed = await store.commit_and_claim(
        Commit(chat_id=CHAT, outbox=[{"text": "new"}]), later(seconds=30), holder="alive", lease=LEASE
    )
    assert [message.payload for message in claimed.queued] == [{"text": "new"}]
    assert claimed.pending == [*left, *claimed.queued]
    assert await store.claim_outbox(CHAT, "other", later(seconds=59), LEASE) is None


async def test_a_refused_commit_claims_nothing(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, conversation=STARTED), START)

    with pytest.raises(ChatChanged):
        await store.commit_and_claim(
            Commit(chat_id=CHAT, outbox=[{"text": "stale"}], expected_version=0),
            START,
            holder="first",
            lease=LEASE,
        )
    assert await store.claim_outbox(CHAT, "second", START, LEASE) == []
    with pytest.raises(ValueError, match="nothing to claim"):
        await store.commit_and_claim(Commit(chat_id=CHAT), START, holder="first", lease=LEASE)


async def test_a_chat_never_seen_has_no_outbox_to_claim(store: Store) -> None:
    assert await store.claim_outbox(CHAT, "first", START, LEASE) is None


# Named leases: the one instance that polls Telegram


async def test_a_lease_has_one_holder_until_it_lapses(new_store: StoreFactory) -> None:
    async with instances(new_store, 2) as (first, second):
        assert await first.acquire_lease("polling", "first", START, LEASE)
        assert not await second.acquire_lease("polling", "second", later(seconds=10), LEASE)
        assert await first.acquire_lease("polling", "first", later(seconds=20), LEASE)
        assert not await second.acquire_lease("polling", "second", later(seconds=49), LEASE)
        assert await second.acquire_lease("polling", "second", later(seconds=50), LEASE)
        assert not await first.acquire_lease("polling", "first", later(seconds=51), LEASE)
        assert await first.acquire_lease("other role", "first", later(seconds=51), LEASE)


async def test_a_released_lease_is_taken_at_once(store: Store) -> None:
    assert await store.acquire_lease("polling", "first", START, LEASE)
    await store.release_lease("polling", "second")  # not its lease: nothing happens
    assert not await store.acquire_lease("polling", "second", START, LEASE)

    await store.release_lease("polling", "first")

    assert await store.acquire_lease("polling", "second", START, LEASE)


# One budget for Telegram's limit


async def test_send_slots_are_spaced_across_instances(new_store: StoreFactory) -> None:
    interval = timedelta(milliseconds=40)
    async with instances(new_store, 2) as pair:
        began = time.monotonic()
        waits = [await pair[turn % 2].reserve_send_slot(interval) for turn in range(10)]
        elapsed = timedelta(seconds=time.monotonic() - began)

    # Each slot comes one interval after the one before, whichever instance reserved it.
    assert waits[0] <= interval
    assert 9 * interval - elapsed <= waits[-1] <= 9 * interval + interval


async def test_a_pause_holds_every_instance_back(new_store: StoreFactory) -> None:
    interval = timedelta(milliseconds=10)
    async with instances(new_store, 2) as (first, second):
        assert await first.reserve_send_slot(interval, pause=timedelta(seconds=3)) > timedelta(seconds=2.5)

        assert await second.reserve_send_slot(interval) > timedelta(seconds=2.5)


async def test_settings_change_moves_the_version_too(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, settings=UserSettings(chat_id=CHAT, language="fr")), START)
    first = await store.load_chat(CHAT)
    await store.commit(Commit(chat_id=CHAT, settings=UserSettings(chat_id=CHAT, language="en")), START)
    second = await store.load_chat(CHAT)
    assert first is not None
    assert second is not None
    assert second.version == first.version + 1
