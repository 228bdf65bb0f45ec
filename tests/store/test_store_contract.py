"""The storage contract: what every backend must do, told as what the bot and its operators rely on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.store import (
    Commit,
    DuplicateUpdate,
    FlowEvent,
    InboxUpdate,
    NewReminder,
    ReminderGone,
    StateCount,
    Store,
    StoredConversation,
    StoreError,
    UserSettings,
)

StoreFactory = Callable[[], Store]

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
CHAT = 1001
OTHER_CHAT = 2002

ASKED_PROVIDER = StoredConversation(
    flow_id="cancel_esim",
    flow_version="1",
    state="ask_provider",
    language="fr",
    step=3,
    variables={"provider": "opt", "plan": None},
    checklist=frozenset({"backup_contacts"}),
)


def later(**delta: float) -> datetime:
    return START + timedelta(**delta)


async def due_names(store: Store, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
    return [(reminder.chat_id, reminder.name) for reminder in await store.due_reminders(now, limit)]


# Chats and conversations


async def test_a_chat_never_seen_has_no_record(store: Store) -> None:
    assert await store.load_chat(CHAT) is None


async def test_a_commit_saves_settings_conversation_and_screen_together(store: Store) -> None:
    settings = UserSettings(
        chat_id=CHAT,
        language="zh-Hans",
        timezone="Asia/Shanghai",
        quiet_start=time(22, 30),
        quiet_end=time(7, 15),
    )
    await store.commit(
        Commit(chat_id=CHAT, settings=settings, conversation=ASKED_PROVIDER, screen_message_id=77), START
    )

    record = await store.load_chat(CHAT)

    assert record is not None
    assert record.settings == settings
    assert record.conversation == ASKED_PROVIDER
    assert record.screen_message_id == 77
    assert record.updated_at == START


async def test_a_commit_without_settings_keeps_the_chosen_ones(store: Store) -> None:
    chosen = UserSettings(chat_id=CHAT, language="en", timezone="Europe/Paris")
    await store.commit(Commit(chat_id=CHAT, settings=chosen), START)
    moved_on = StoredConversation(
        flow_id="cancel_esim", flow_version="1", state="wait_confirmation", language="en"
    )

    await store.commit(Commit(chat_id=CHAT, conversation=moved_on), later(minutes=5))

    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.settings == chosen
    assert record.conversation == moved_on
    assert record.updated_at == later(minutes=5)


async def test_the_time_zone_question_is_remembered_until_answered(store: Store) -> None:
    asked = UserSettings(chat_id=CHAT, language="fr", timezone_asked_at=later(minutes=3))
    await store.commit(Commit(chat_id=CHAT, settings=asked), START)
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.settings.timezone_asked_at == later(minutes=3)

    await store.commit(Commit(chat_id=CHAT, settings=UserSettings(chat_id=CHAT, language="fr")), START)
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.settings.timezone_asked_at is None


async def test_a_chat_seen_for_the_first_time_gets_default_settings(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, conversation=ASKED_PROVIDER), START)

    record = await store.load_chat(CHAT)

    assert record is not None
    assert record.settings == UserSettings(chat_id=CHAT, language=None)
    assert record.settings.timezone == "Pacific/Noumea"


async def test_deleting_the_conversation_keeps_settings_and_forgets_the_screen(store: Store) -> None:
    settings = UserSettings(chat_id=CHAT, language="fr")
    await store.commit(
        Commit(chat_id=CHAT, settings=settings, conversation=ASKED_PROVIDER, screen_message_id=5), START
    )

    await store.commit(Commit(chat_id=CHAT, delete_conversation=True), later(hours=1))

    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.conversation is None
    assert record.screen_message_id is None
    assert record.settings == settings
    assert await store.count_conversations() == 0


async def test_conversations_are_counted(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, conversation=ASKED_PROVIDER), START)
    await store.commit(Commit(chat_id=OTHER_CHAT, conversation=ASKED_PROVIDER), START)
    await store.commit(Commit(chat_id=3003, settings=UserSettings(chat_id=3003, language="en")), START)

    assert await store.count_conversations() == 2


async def test_moments_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    in_noumea = datetime(2025, 3, 10, 9, 0, 0, 123456, tzinfo=ZoneInfo("Pacific/Noumea"))
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", in_noumea, 1)]), in_noumea)

    record = await store.load_chat(CHAT)
    (reminder,) = await store.due_reminders(in_noumea, 10)

    assert record is not None
    assert record.updated_at == in_noumea
    assert record.updated_at.utcoffset() == timedelta(0)
    assert reminder.due_at == in_noumea
    assert reminder.due_at.tzinfo == UTC


async def test_naive_moments_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.commit(Commit(chat_id=CHAT), datetime(2025, 3, 10, 9, 0))


async def test_everything_survives_a_restart(new_store: StoreFactory) -> None:
    async with new_store() as store:
        [message] = await store.commit(
            Commit(
                chat_id=CHAT,
                update_id=1,
                conversation=ASKED_PROVIDER,
                schedule=[NewReminder("confirmation", later(days=1), 1)],
                outbox=[{"text": "Quel est votre opérateur ?"}],
            ),
            START,
        )

    async with new_store() as reopened:
        record = await reopened.load_chat(CHAT)
        assert record is not None
        assert record.conversation == ASKED_PROVIDER
        assert await reopened.next_due_at() == later(days=1)
        assert await reopened.pending_outbox(10) == [message]
        with pytest.raises(DuplicateUpdate):
            await reopened.commit(Commit(chat_id=CHAT, update_id=1), later(minutes=1))


async def test_a_closed_store_refuses_work(new_store: StoreFactory) -> None:
    store = new_store()
    await store.open()
    await store.close()
    await store.close()

    with pytest.raises(StoreError):
        await store.load_chat(CHAT)


# One update, one transaction


async def test_a_redelivered_update_changes_nothing(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, update_id=42, conversation=ASKED_PROVIDER), START)
    replay = Commit(
        chat_id=CHAT,
        update_id=42,
        delete_conversation=True,
        cancel_reminders=None,
        schedule=[NewReminder("confirmation", later(hours=1), 1)],
        outbox=[{"text": "again"}],
        events=[FlowEvent(CHAT, "cancel_esim", "1", "done", START)],
    )

    with pytest.raises(DuplicateUpdate) as raised:
        await store.commit(replay, later(seconds=1))

    assert raised.value.update_id == 42
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.conversation == ASKED_PROVIDER
    assert await store.pending_outbox(10) == []
    assert await store.next_due_at() is None
    funnel = await store.funnel("cancel_esim", START, later(days=1), {"done"})
    assert funnel.started == 0


async def test_an_update_id_is_accepted_again_once_expired(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, update_id=7), START)
    await store.commit(Commit(chat_id=CHAT, update_id=8), later(days=2))

    expired = await store.expire_updates(before=later(days=1))

    assert expired == 1
    await store.commit(Commit(chat_id=OTHER_CHAT, update_id=7, conversation=ASKED_PROVIDER), later(days=2))
    with pytest.raises(DuplicateUpdate):
        await store.commit(Commit(chat_id=CHAT, update_id=8), later(days=2))


async def test_a_failing_commit_leaves_no_trace(store: Store) -> None:
    with pytest.raises(ReminderGone):
        await store.commit(
            Commit(
                chat_id=CHAT,
                update_id=9,
                conversation=ASKED_PROVIDER,
                consumed_reminder_id=12345,
                outbox=[{"text": "reminder"}],
                events=[FlowEvent(CHAT, "cancel_esim", "1", "ask_provider", START)],
            ),
            START,
        )

    assert await store.load_chat(CHAT) is None
    assert await store.pending_outbox(10) == []
    # The update id was not recorded either, so the update can still be applied.
    await store.commit(Commit(chat_id=CHAT, update_id=9), START)


async def test_a_commit_for_one_chat_refuses_another_chats_data() -> None:
    with pytest.raises(ValueError, match="chat"):
        Commit(chat_id=CHAT, settings=UserSettings(chat_id=OTHER_CHAT, language="en"))
    with pytest.raises(ValueError, match="chat"):
        Commit(chat_id=CHAT, events=[FlowEvent(OTHER_CHAT, "cancel_esim", "1", "start", START)])
    with pytest.raises(ValueError, match="both"):
        Commit(chat_id=CHAT, conversation=ASKED_PROVIDER, delete_conversation=True)


# Outbox


async def test_committed_messages_wait_in_order_until_sent(store: Store) -> None:
    first = await store.commit(
        Commit(chat_id=CHAT, outbox=[{"text": "un", "buttons": [["a", "b"]]}, {"text": "deux"}]), START
    )
    second = await store.commit(Commit(chat_id=OTHER_CHAT, outbox=[{"text": "three"}]), later(seconds=1))

    pending = await store.pending_outbox(10)

    assert pending == [*first, *second]
    assert [dict(message.payload) for message in pending] == [
        {"text": "un", "buttons": [["a", "b"]]},
        {"text": "deux"},
        {"text": "three"},
    ]
    assert [message.chat_id for message in pending] == [CHAT, CHAT, OTHER_CHAT]
    assert await store.pending_outbox(1) == first[:1]

    await store.record_delivery(first[0].id, CHAT, None)
    await store.record_delivery(second[0].id, OTHER_CHAT, None)

    assert await store.pending_outbox(10) == first[1:]


async def test_one_chats_unsent_messages_can_be_read_alone(store: Store) -> None:
    mine = await store.commit(Commit(chat_id=CHAT, outbox=[{"text": "un"}, {"text": "deux"}]), START)
    await store.commit(Commit(chat_id=OTHER_CHAT, outbox=[{"text": "three"}]), START)

    assert await store.pending_outbox(10, chat_id=CHAT) == mine
    assert await store.pending_outbox(1, chat_id=CHAT) == mine[:1]


# Reminders


async def test_the_next_due_reminder_is_the_earliest(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            schedule=[NewReminder("later", later(days=3), 1), NewReminder("sooner", later(hours=2), 1)],
        ),
        START,
    )
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("x", later(days=1), 1)]), START)

    assert await store.next_due_at() == later(hours=2)
    assert await due_names(store, later(hours=1)) == []
    assert await due_names(store, later(days=2)) == [(CHAT, "sooner"), (OTHER_CHAT, "x")]
    assert await due_names(store, later(days=5), limit=2) == [(CHAT, "sooner"), (OTHER_CHAT, "x")]


async def test_scheduling_a_name_again_replaces_the_pending_reminder(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)

    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(days=1), 2)]), START)

    [reminder] = await store.due_reminders(later(days=2), 10)
    assert (reminder.name, reminder.due_at, reminder.sequence, reminder.attempts) == (
        "nudge",
        later(days=1),
        2,
        0,
    )


async def test_cancel_then_schedule_the_same_name_reschedules_it(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)

    await store.commit(
        Commit(
            chat_id=CHAT,
            cancel_reminders=frozenset({"nudge"}),
            schedule=[NewReminder("nudge", later(hours=5), 2)],
        ),
        START,
    )

    [reminder] = await store.due_reminders(later(days=1), 10)
    assert (reminder.due_at, reminder.sequence) == (later(hours=5), 2)


async def test_cancelling_named_reminders_leaves_the_others(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            schedule=[NewReminder("a", later(hours=1), 1), NewReminder("b", later(hours=2), 1)],
        ),
        START,
    )
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("a", later(hours=1), 1)]), START)

    await store.commit(Commit(chat_id=CHAT, cancel_reminders=frozenset({"a"})), START)

    assert await due_names(store, later(days=1)) == [(OTHER_CHAT, "a"), (CHAT, "b")]


async def test_cancelling_all_reminders_of_a_chat(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            schedule=[NewReminder("a", later(hours=1), 1), NewReminder("b", later(hours=2), 1)],
        ),
        START,
    )
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("a", later(hours=3), 1)]), START)

    await store.commit(Commit(chat_id=CHAT, cancel_reminders=None), START)

    assert await due_names(store, later(days=1)) == [(OTHER_CHAT, "a")]


async def test_a_chat_sees_its_own_pending_reminders_soonest_first(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            settings=UserSettings(chat_id=CHAT, language="en", reminders_stopped=True),
            schedule=[NewReminder("later", later(days=3), 1), NewReminder("sooner", later(hours=2), 2)],
        ),
        START,
    )
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("x", later(hours=1), 1)]), START)

    pending = await store.reminders_of(CHAT)

    assert [(reminder.name, reminder.due_at, reminder.sequence) for reminder in pending] == [
        ("sooner", later(hours=2), 2),
        ("later", later(days=3), 1),
    ]
    assert await store.reminders_of(3003) == []


async def test_consuming_a_reminder_removes_it_with_the_rest_of_the_commit(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)
    [due] = await store.due_reminders(later(hours=1), 10)

    [message] = await store.commit(
        Commit(
            chat_id=CHAT,
            consumed_reminder_id=due.id,
            schedule=[NewReminder("nudge", later(days=1), 2)],
            outbox=[{"text": "Avez-vous reçu la confirmation ?"}],
        ),
        later(hours=1),
    )

    [next_one] = await store.due_reminders(later(days=2), 10)
    assert next_one.id != due.id
    assert next_one.sequence == 2
    assert await store.pending_outbox(10) == [message]


async def test_a_reminder_replaced_meanwhile_cannot_be_consumed(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)
    [stale] = await store.due_reminders(later(hours=1), 10)
    # The user answered just before the reminder went out: the conversation moved on.
    await store.commit(
        Commit(chat_id=CHAT, update_id=50, schedule=[NewReminder("nudge", later(days=3), 1)]),
        later(hours=1),
    )

    with pytest.raises(ReminderGone):
        await store.commit(
            Commit(chat_id=CHAT, consumed_reminder_id=stale.id, outbox=[{"text": "stale reminder"}]),
            later(hours=1),
        )

    assert await store.pending_outbox(10) == []
    assert await store.next_due_at() == later(days=3)


async def test_a_reminder_of_another_chat_cannot_be_consumed(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)
    [reminder] = await store.due_reminders(later(hours=1), 10)

    with pytest.raises(ReminderGone):
        await store.commit(Commit(chat_id=OTHER_CHAT, consumed_reminder_id=reminder.id), later(hours=1))

    assert await store.next_due_at() == later(hours=1)


async def test_a_postponed_reminder_counts_its_failed_attempts(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)
    [reminder] = await store.due_reminders(later(hours=1), 10)

    assert await store.postpone_reminder(reminder.id, later(hours=2)) is True
    assert await store.postpone_reminder(reminder.id, later(hours=3)) is True

    assert await store.due_reminders(later(hours=2), 10) == []
    [postponed] = await store.due_reminders(later(hours=3), 10)
    assert (postponed.id, postponed.attempts) == (reminder.id, 2)
    assert await store.postpone_reminder(999_999, later(hours=3)) is False


async def test_stopped_reminders_are_never_due(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=1), 1)]), START)
    await store.commit(Commit(chat_id=OTHER_CHAT, schedule=[NewReminder("nudge", later(hours=2), 1)]), START)

    stopped = UserSettings(chat_id=CHAT, language="en", reminders_stopped=True)
    await store.commit(Commit(chat_id=CHAT, settings=stopped), START)

    assert await store.next_due_at() == later(hours=2)
    assert await due_names(store, later(days=1)) == [(OTHER_CHAT, "nudge")]


async def test_blocking_the_bot_drops_reminders_and_unsent_messages(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            schedule=[NewReminder("nudge", later(hours=1), 1)],
            outbox=[{"text": "hello"}],
        ),
        START,
    )
    kept = await store.commit(Commit(chat_id=OTHER_CHAT, outbox=[{"text": "hi"}]), START)

    await store.set_blocked(CHAT, True)

    assert await store.next_due_at() is None
    assert await store.pending_outbox(10) == kept
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.settings.blocked is True
    # Reminders scheduled while blocked wait until the user unblocks the bot.
    await store.commit(Commit(chat_id=CHAT, schedule=[NewReminder("nudge", later(hours=2), 1)]), START)
    assert await store.next_due_at() is None
    await store.set_blocked(CHAT, False)
    assert await store.next_due_at() == later(hours=2)


async def test_blocking_an_unknown_chat_stores_nothing(store: Store) -> None:
    await store.set_blocked(CHAT, True)

    assert await store.load_chat(CHAT) is None


# Privacy


async def test_forget_removes_every_row_about_the_chat(store: Store) -> None:
    for chat_id in (CHAT, OTHER_CHAT):
        await store.commit(
            Commit(
                chat_id=chat_id,
                settings=UserSettings(chat_id=chat_id, language="fr"),
                conversation=ASKED_PROVIDER,
                schedule=[NewReminder("nudge", later(hours=1), 1)],
                outbox=[{"text": "bonjour"}],
                events=[FlowEvent(chat_id, "cancel_esim", "1", "ask_provider", START)],
            ),
            START,
        )

    await store.forget(CHAT)

    assert await store.load_chat(CHAT) is None
    assert await due_names(store, later(days=1)) == [(OTHER_CHAT, "nudge")]
    assert [message.chat_id for message in await store.pending_outbox(10)] == [OTHER_CHAT]
    funnel = await store.funnel("cancel_esim", START, later(days=1), set())
    assert funnel.started == 1
    assert await store.count_conversations() == 1


async def test_a_delivery_recorded_after_forget_does_not_bring_the_chat_back(store: Store) -> None:
    (message,) = await store.commit(
        Commit(chat_id=CHAT, conversation=ASKED_PROVIDER, outbox=[{"text": "bonjour"}]), START
    )
    await store.forget(CHAT)
    await store.record_delivery(message.id, CHAT, 42)
    assert await store.load_chat(CHAT) is None


async def test_a_recorded_delivery_leaves_the_outbox_and_moves_the_screen(store: Store) -> None:
    (message,) = await store.commit(
        Commit(chat_id=CHAT, conversation=ASKED_PROVIDER, outbox=[{"text": "bonjour"}]), START
    )
    await store.record_delivery(message.id, CHAT, 42)
    assert await store.pending_outbox(10) == []
    record = await store.load_chat(CHAT)
    assert record is not None
    assert record.screen_message_id == 42


async def test_idle_chats_are_purged_with_their_reminders_and_messages(store: Store) -> None:
    await store.commit(
        Commit(
            chat_id=CHAT,
            conversation=ASKED_PROVIDER,
            schedule=[NewReminder("nudge", later(days=40), 1)],
            outbox=[{"text": "old"}],
        ),
        START,
    )
    await store.commit(Commit(chat_id=OTHER_CHAT, conversation=ASKED_PROVIDER), later(days=20))

    purged = await store.purge_idle(before=later(days=10))

    assert purged == 1
    assert await store.load_chat(CHAT) is None
    assert await store.load_chat(OTHER_CHAT) is not None
    assert await store.next_due_at() is None
    assert await store.pending_outbox(10) == []
    assert await store.count_conversations() == 1


async def test_purged_chats_stay_in_the_funnel_without_their_chat_id(store: Store) -> None:
    for chat_id in (CHAT, OTHER_CHAT):
        events = [FlowEvent(chat_id, "cancel_esim", "1", "ask_provider", START)]
        await store.commit(Commit(chat_id=chat_id, conversation=ASKED_PROVIDER, events=events), START)

    assert await store.purge_idle(before=later(days=1)) == 2

    funnel = await store.funnel("cancel_esim", START, later(days=1), set())
    assert funnel.started == 2
    await store.forget(CHAT)
    assert (await store.funnel("cancel_esim", START, later(days=1), set())).started == 2


async def test_any_commit_keeps_a_chat_from_being_idle(store: Store) -> None:
    await store.commit(Commit(chat_id=CHAT, conversation=ASKED_PROVIDER), START)
    await store.commit(Commit(chat_id=CHAT, update_id=3), later(days=15))

    assert await store.purge_idle(before=later(days=10)) == 0


# Operators' statistics


async def test_the_funnel_counts_reach_drop_off_and_confirmations(store: Store) -> None:
    journeys = {
        1: ["start", "ask_provider", "wait_confirmation", "confirmed"],
        2: ["start", "ask_provider", "wait_confirmation"],
        3: ["start", "ask_provider"],
        4: ["start", "ask_provider", "ask_provider"],
    }
    for chat_id, states in journeys.items():
        events = [
            FlowEvent(chat_id, "cancel_esim", "1", state, later(hours=1, minutes=step))
            for step, state in enumerate(states)
        ]
        await store.commit(Commit(chat_id=chat_id, events=events), later(hours=2))
    outside_period = FlowEvent(5, "cancel_esim", "1", "start", later(days=3))
    other_flow = FlowEvent(6, "other_flow", "1", "start", later(hours=1))
    await store.commit(Commit(chat_id=5, events=[outside_period]), later(days=3))
    await store.commit(Commit(chat_id=6, events=[other_flow]), later(hours=1))

    funnel = await store.funnel("cancel_esim", START, later(days=1), {"confirmed", "done"})

    assert funnel.started == 4
    assert funnel.confirmed == 1
    assert funnel.states == (
        StateCount("ask_provider", reached=4, dropped_off=2),
        StateCount("start", reached=4, dropped_off=0),
        StateCount("wait_confirmation", reached=2, dropped_off=1),
        StateCount("confirmed", reached=1, dropped_off=1),
    )


async def test_the_funnel_period_excludes_its_end(store: Store) -> None:
    await store.commit(
        Commit(chat_id=CHAT, events=[FlowEvent(CHAT, "cancel_esim", "1", "start", later(days=1))]),
        later(days=1),
    )

    before = await store.funnel("cancel_esim", START, later(days=1), ())
    including = await store.funnel("cancel_esim", START, later(days=1, microseconds=1), ())

    assert (before.started, including.started) == (0, 1)
    assert including.confirmed == 0


# The inbox: polled updates kept from fetch until handled


def polled(update_id: int, text: str = "/start") -> InboxUpdate:
    return InboxUpdate(update_id, {"update_id": update_id, "message": {"text": text, "chat": {"id": CHAT}}})


async def test_fetched_updates_wait_in_the_inbox_oldest_first_across_a_restart(
    new_store: StoreFactory,
) -> None:
    async with new_store() as store:
        await store.inbox_add([polled(12, "/help"), polled(10), polled(11, "签证")], START)
    async with new_store() as store:
        assert await store.inbox_pending(10) == [polled(10), polled(11, "签证"), polled(12, "/help")]


async def test_the_inbox_is_read_page_by_page(store: Store) -> None:
    await store.inbox_add([polled(update_id) for update_id in range(1, 6)], START)

    first = await store.inbox_pending(2)
    second = await store.inbox_pending(2, after_update_id=first[-1].update_id)
    third = await store.inbox_pending(2, after_update_id=second[-1].update_id)

    assert [update.update_id for update in first + second + third] == [1, 2, 3, 4, 5]


async def test_an_update_fetched_again_keeps_its_first_copy(store: Store) -> None:
    await store.inbox_add([polled(10, "/start")], START)
    await store.inbox_add([polled(10, "/help"), polled(11)], later(seconds=1))

    assert await store.inbox_pending(10) == [polled(10, "/start"), polled(11)]


async def test_handled_updates_leave_the_inbox_and_unknown_ids_are_ignored(store: Store) -> None:
    await store.inbox_add([polled(10), polled(11), polled(12)], START)

    await store.inbox_remove([10, 12, 99])
    await store.inbox_remove([])

    assert await store.inbox_pending(10) == [polled(11)]


async def test_the_inbox_refuses_a_naive_moment_and_keeps_nothing_of_that_batch(store: Store) -> None:
    await store.inbox_add([polled(10)], START)

    with pytest.raises(ValueError, match="timezone-aware"):
        await store.inbox_add([polled(11), polled(12)], datetime(2025, 3, 10))  # naive: refused

    assert await store.inbox_pending(10) == [polled(10)]
