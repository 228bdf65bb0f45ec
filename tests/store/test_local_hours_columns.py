"""What the store keeps for reminders at the person's hour: a chosen zone, and the latest reminder's message."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import Commit, SqliteStore, Store, UserSettings
from bot.store.sqlite import migrate

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)


async def test_a_chosen_zone_and_the_latest_reminder_are_kept(store: Store) -> None:
    settings = UserSettings(5, "zh-Hans", timezone="Asia/Shanghai", timezone_chosen=True)
    [message] = await store.commit(Commit(5, settings=settings, outbox=({"text": "提醒"},)), START)
    await store.record_delivery(message.id, 5, None, reminder_message_id=42)
    record = await store.load_chat(5)
    assert record is not None
    assert record.settings.timezone_chosen
    assert record.reminder_message_id == 42
    assert record.screen_message_id is None, "a reminder is not the screen"


async def test_a_zone_set_before_the_upgrade_counts_as_chosen_and_the_default_does_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        migrate(db, target=3)
        moment = (START - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        for chat_id, zone in ((1, "Asia/Shanghai"), (2, "Pacific/Noumea")):
            db.execute(
                "INSERT INTO chats (chat_id, language, timezone, updated_at) VALUES (?, 'en', ?, ?)",
                (chat_id, zone, moment),
            )
    async with SqliteStore(path) as store:
        shanghai, noumea = await store.load_chat(1), await store.load_chat(2)
    assert shanghai is not None
    assert noumea is not None
    assert shanghai.settings.timezone_chosen, "only a person could have set another zone"
    assert not noumea.settings.timezone_chosen, "the old default is asked about"
