"""A chat whose reminders are stopped keeps them, unsent, on every backend: no claim, no wake-up, and back at
their own moment once reminders are turned on again; forgetting the chat, cancelling or purging still drops
them, and a flow change's plan (the standings) still counts them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.store import Commit, NewReminder, Store, StoredConversation, UserSettings

StoreFactory = Callable[[], Store]

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
CHAT = 1001
OTHER_CHAT = 2002
ON = UserSettings(chat_id=CHAT, language="fr")
STOPPED = replace(ON, reminders_stopped=True)
WAITING = StoredConversation(
    flow_id="cancel_esim", flow_version="1", state="waiting", language="fr", variables={"provider": "airalo"}
)
KEPT_FOR = START + timedelta(days=7)


def later(**delta: float) -> datetime:
    return START + timedelta(**delta)


async def stopped_with_a_reminder(store: Store) -> None:
    """A person waiting on a seller, a week's reminder pending, who then sent /stop."""
    scheduled = Commit(
        chat_id=CHAT, settings=ON, conversation=WAITING, schedule=[NewReminder("confirm_email", KEPT_FOR, 1)]
    )
    await store.commit(scheduled, START)
    await store.commit(Commit(chat_id=CHAT, settings=STOPPED), later(days=2))


async def test_a_stopped_chats_reminder_is_kept_but_never_claimed_nor_waited_for(store: Store) -> None:
    await stopped_with_a_reminder(store)
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("nudge", later(days=9), 1)]), START)

    assert [(r.name, r.due_at, r.sequence) for r in await store.reminders_of(CHAT)] == [
        ("confirm_email", KEPT_FOR, 1)
    ]
    assert await store.claim_due_reminders(later(days=8), 10, LEASE) == []
    assert await store.next_due_at() == later(days=9), "the scheduler sleeps past the kept one"


async def test_turned_back_on_the_kept_reminder_is_due_at_its_own_moment(new_store: StoreFactory) -> None:
    async with new_store() as store:
        await stopped_with_a_reminder(store)
    # A restart between /stop and turning reminders back on: the database holds what was kept.
    async with new_store() as store:
        await store.commit(Commit(chat_id=CHAT, settings=ON), later(days=3))
        assert await store.next_due_at() == KEPT_FOR
        assert await store.claim_due_reminders(KEPT_FOR - timedelta(seconds=1), 10, LEASE) == []
        [claimed] = await store.claim_due_reminders(KEPT_FOR, 10, LEASE)
    assert (claimed.chat_id, claimed.name, claimed.due_at, claimed.sequence) == (
        CHAT,
        "confirm_email",
        KEPT_FOR,
        1,
    )


async def test_forgetting_a_stopped_chat_deletes_its_kept_reminders(store: Store) -> None:
    await stopped_with_a_reminder(store)

    await store.forget(CHAT)

    assert await store.reminders_of(CHAT) == []
    await store.commit(Commit(chat_id=CHAT, settings=ON), later(days=3))
    assert await store.next_due_at() is None


async def test_a_finished_flow_cancels_a_stopped_chats_kept_reminders(store: Store) -> None:
    await stopped_with_a_reminder(store)

    finished = replace(WAITING, state="done", finished=True)
    await store.commit(Commit(chat_id=CHAT, conversation=finished, cancel_reminders=None), later(days=3))

    assert await store.reminders_of(CHAT) == []


async def test_a_purged_stopped_chat_takes_its_kept_reminders_with_it(store: Store) -> None:
    await stopped_with_a_reminder(store)

    assert await store.purge_idle(later(days=30)) == 1

    assert await store.reminders_of(CHAT) == []


async def test_a_flow_changes_plan_counts_a_stopped_chats_kept_reminders(store: Store) -> None:
    await stopped_with_a_reminder(store)

    [standing] = await store.standings()

    # They come back when reminders are turned on: a flow change that drops them must say so.
    assert (standing.state, standing.chats, dict(standing.reminders)) == ("waiting", 1, {"confirm_email": 1})
