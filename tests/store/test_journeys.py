"""The report query behind the operators' funnel picture and page: each conversation's way through a flow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.store import Commit, FlowEvent, Journey, Store, StoredConversation

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)

WAITING = StoredConversation(
    flow_id="cancel_esim",
    flow_version="1",
    state="waiting",
    language="fr",
    step=4,
    variables={"provider": "airalo", "status": None},
    checklist=frozenset(),
)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


async def walk(store: Store, chat_id: int, states: list[str], conversation: StoredConversation) -> None:
    """Commits one event per state, an hour apart, the way the runtime commits each press."""
    for hour, state in enumerate(states):
        event = FlowEvent(chat_id, conversation.flow_id, "1", state, at(hour))
        await store.commit(Commit(chat_id=chat_id, conversation=conversation, events=[event]), at(hour))


async def test_each_conversation_comes_back_in_order_with_its_variable_and_no_chat_id(store: Store) -> None:
    await walk(store, 7, ["start", "travel_pick", "waiting", "follow_up"], WAITING)
    unset = replace(WAITING, variables={"provider": None})
    await walk(store, 8, ["start", "identify"], unset)

    journeys = await store.journeys("cancel_esim", START, at(24), "provider")

    assert sorted(journeys, key=lambda journey: len(journey.entered)) == [
        Journey((("start", at(0)), ("identify", at(1))), None),
        Journey(
            (("start", at(0)), ("travel_pick", at(1)), ("waiting", at(2)), ("follow_up", at(3))), "airalo"
        ),
    ]
    assert all(moment.tzinfo is not None for journey in journeys for _, moment in journey.entered)


async def test_only_the_period_and_the_flow_asked_for_count(store: Store) -> None:
    await walk(store, 7, ["start", "travel_pick", "waiting"], WAITING)
    await walk(store, 9, ["welcome"], replace(WAITING, flow_id="other_flow"))

    (journey,) = await store.journeys("cancel_esim", at(1), at(2), "provider")

    assert journey == Journey((("travel_pick", at(1)),), "airalo")


async def test_a_purged_conversation_keeps_its_way_but_not_its_variables(store: Store) -> None:
    await walk(store, 7, ["start", "waiting"], WAITING)
    await store.purge_idle(before=at(48))

    assert await store.journeys("cancel_esim", START, at(24), "provider") == [
        Journey((("start", at(0)), ("waiting", at(1))), None)
    ]
