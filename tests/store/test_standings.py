"""Where unfinished conversations stand, as the reload report counts them, on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.store import Commit, NewReminder, Standing, Store, StoredConversation

START = datetime(2025, 3, 10, tzinfo=UTC)
WAITING = StoredConversation(flow_id="cancel_esim", flow_version="3", state="waiting", language="en")


async def test_unfinished_conversations_are_counted_by_version_and_state_with_their_reminders(
    store: Store,
) -> None:
    for chat_id in (1, 2):
        reminders = [NewReminder("confirm_email", START + timedelta(days=1), 1)]
        await store.commit(Commit(chat_id=chat_id, conversation=WAITING, schedule=reminders), START)
    await store.commit(Commit(chat_id=3, conversation=replace(WAITING, state="request")), START)
    await store.commit(Commit(chat_id=4, conversation=replace(WAITING, state="done", finished=True)), START)

    standings = await store.standings()

    assert [(s.flow_id, s.flow_version, s.state, s.chats, dict(s.reminders)) for s in standings] == [
        ("cancel_esim", "3", "request", 1, {}),
        ("cancel_esim", "3", "waiting", 2, {"confirm_email": 2}),
    ]
    assert all(isinstance(standing, Standing) for standing in standings)
