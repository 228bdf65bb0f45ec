"""A chat as it stands after a commit or a delivery, told without asking the store, is the row a load reads.

The runtime keeps the chats it handled lately as ``after_commit`` and ``after_delivery`` say
(bot/runtime/recent.py) instead of loading them again; a record that differed from the row in anything
but its version would be used as if it were true, so each step below is compared with a load, on every
backend.
"""

from __future__ import annotations

from datetime import time, timedelta, timezone
from types import MappingProxyType

from bot.store import ChatRecord, Commit, Store, StoredConversation, UserSettings
from bot.store.columns import after_commit, after_delivery
from tests.store.conftest import START

CHAT = 4242
LEASE = timedelta(seconds=3)
NOUMEA = timezone(timedelta(hours=11))
ASKING = StoredConversation(
    flow_id="cancel_esim",
    flow_version="7",
    state="seller_refund",
    language="fr",
    step=4,
    variables=MappingProxyType({"seller": "airalo", "where": None}),
    checklist=frozenset({"copied", "asked"}),
    asking="forget",
)
PLAIN = StoredConversation(flow_id="cancel_esim", flow_version="7", state="done", language="fr", step=9)


async def committed(store: Store, before: ChatRecord | None, commit: Commit, minutes: int) -> ChatRecord:
    now = START + timedelta(minutes=minutes)
    told = after_commit(before, commit, now)
    if commit.outbox:
        await store.commit_and_claim(commit, now, holder="here", lease=LEASE)
    else:
        await store.commit(commit, now)
    loaded = await store.load_chat(CHAT)
    assert loaded is not None
    assert told == loaded
    return loaded


async def test_every_commit_and_delivery_is_told_as_a_load_reads_it(store: Store) -> None:
    settings = UserSettings(CHAT, "fr")
    record = await committed(
        store, None, Commit(CHAT, settings=settings, conversation=PLAIN, expected_version=0), 0
    )
    assert record.version == 1

    chosen = UserSettings(
        CHAT,
        "zh-Hans",
        timezone="Asia/Shanghai",
        quiet_start=time(22, 30),
        quiet_end=time(7, 15),
        reminders_stopped=True,
        timezone_asked_at=(START + timedelta(hours=3)).astimezone(NOUMEA),
        timezone_chosen=True,
    )
    record = await committed(
        store, record, Commit(CHAT, settings=chosen, conversation=ASKING, expected_version=record.version), 1
    )
    record = await committed(
        store,
        record,
        Commit(
            CHAT,
            update_id=5,
            screen_message_id=31,
            outbox=[{"text": "hello"}],
            expected_version=record.version,
        ),
        2,
    )
    assert record.settings == chosen
    assert record.conversation == ASKING

    [message] = await store.pending_outbox(10, CHAT)
    shown = ((None, None), (40, None), (None, 41), (50, 51))
    for minutes, (screen, reminder) in enumerate(shown, start=10):
        await store.record_delivery_and_claim(
            message.id, CHAT, screen, reminder, holder="here", now=START, lease=LEASE
        )
        told = after_delivery(record, screen, reminder)
        assert told == await store.load_chat(CHAT)
        more = Commit(CHAT, outbox=[{"text": "more"}], expected_version=told.version)
        record = await committed(store, told, more, minutes)
        [message] = await store.pending_outbox(10, CHAT)
    assert (record.screen_message_id, record.reminder_message_id) == (50, 51)

    record = await committed(
        store, record, Commit(CHAT, delete_conversation=True, expected_version=record.version), 3
    )
    assert (record.conversation, record.screen_message_id, record.reminder_message_id) == (None, None, None)
    await committed(store, record, Commit(CHAT, conversation=PLAIN, expected_version=record.version), 4)


async def test_a_delivery_counts_one_version_whatever_it_shows(store: Store) -> None:
    await store.commit(Commit(CHAT, settings=UserSettings(CHAT, "en"), expected_version=0), START)
    before = await store.load_chat(CHAT)
    assert before is not None
    [message] = await store.commit(Commit(CHAT, outbox=[{"text": "a reminder, now the screen"}]), START)
    between = await store.load_chat(CHAT)
    assert between is not None

    await store.record_delivery(message.id, CHAT, 60, 60)

    after = await store.load_chat(CHAT)
    assert after == after_delivery(between, 60, 60)
    assert after is not None
    assert after.version == before.version + 2


def test_what_cannot_be_told_is_not_guessed() -> None:
    known = ChatRecord(UserSettings(CHAT, "en"), PLAIN, 7, START, None, 3)

    # A new chat whose settings are the schema's defaults; a commit at any version; one from another version.
    assert after_commit(None, Commit(CHAT, conversation=PLAIN, expected_version=0), START) is None
    assert after_commit(known, Commit(CHAT, conversation=PLAIN), START) is None
    assert after_commit(known, Commit(CHAT, conversation=PLAIN, expected_version=2), START) is None
    assert after_delivery(known, None, None) is known
