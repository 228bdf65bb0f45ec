"""Databases for the memory, start-up and reminder scenarios, written in bulk in the store's own schema.

The schema comes from the store itself (:meth:`SqliteStore.open` runs the migrations); the rows are
written with one ``executemany`` per table, in the stored forms ``bot/store/sqlite.py`` uses (JSON
conversations, integer microseconds since the epoch), and read back through the store to check them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.callbacks import FlowPress
from bot.engine.engine import FlowEngine
from bot.flows import load_flows
from bot.runtime.commit import stored
from bot.runtime.texts import UI_TEXTS
from bot.store import SqliteStore
from bot.store.codec import conversation_data
from bot.telegram.app import TELEGRAM_LIMITS

__all__ = ["REMINDER", "WAITING_PATH", "seed_database", "waiting_conversation"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REMINDER = "confirm_email"
# Button ids from /start to the "waiting" state, where the flow's confirm_email reminder is active.
WAITING_PATH = ("go", "travel", "direct", "airalo", "active", "sent")


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def waiting_conversation(project: Path) -> dict[str, object]:
    """Returns, in its stored form, a conversation of the default flow waiting for the provider's email."""
    bundles = load_flows(project / "flows", project / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    engine = FlowEngine(bundles["cancel_esim"])
    conversation = engine.start("en").conversation
    for wanted in WAITING_PATH:
        screen = engine.renderer.render(conversation)
        pressed = next(
            (
                button.press
                for row in screen.rows
                for button in row
                if isinstance(button.press, FlowPress) and button.press.button == wanted
            ),
            None,
        )
        if pressed is None:
            raise RuntimeError(f"state {conversation.state!r} has no button {wanted!r}")
        conversation = engine.press(conversation, pressed).conversation
    if conversation.state != "waiting":
        raise RuntimeError(f"the scripted path ended in {conversation.state!r}, not 'waiting'")
    return conversation_data(stored(conversation))


async def seed_database(
    path: Path,
    project: Path,
    *,
    chats: int,
    reminders_due: datetime | None,
    first_chat_id: int = 5_000_000_000,
    quiet_hours: bool = True,
) -> None:
    """Creates the schema, then ``chats`` conversations (and one due reminder each, unless None).

    Without ``quiet_hours`` the chats have none (start == end), so a dispatch does not depend on the
    time of day; with them, the store's default (21:00-08:00 in Pacific/Noumea).
    """
    store = SqliteStore(path)
    await store.open()
    await store.close()
    if chats == 0:
        return
    now = _micros(datetime.now(UTC))
    conversation = json.dumps(waiting_conversation(project), ensure_ascii=False, separators=(",", ":"))
    ids = range(first_chat_id, first_chat_id + chats)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO chats (chat_id, language, conversation, screen_message_id, updated_at)"
            " VALUES (?, 'en', ?, 1, ?)",
            ((chat_id, conversation, now) for chat_id in ids),
        )
        if not quiet_hours:
            db.execute("UPDATE chats SET quiet_start = '00:00:00', quiet_end = '00:00:00'")
        if reminders_due is not None:
            due = _micros(reminders_due)
            db.executemany(
                "INSERT INTO reminders (chat_id, name, due_at, sequence) VALUES (?, ?, ?, 1)",
                ((chat_id, REMINDER, due) for chat_id in ids),
            )
        db.execute("COMMIT")
    finally:
        db.close()
    await _check(path, first_chat_id, reminders_due)


async def _check(path: Path, chat_id: int, reminders_due: datetime | None) -> None:
    """Reads a seeded chat back through the store, so a schema change fails here and not in a bot."""
    async with SqliteStore(path) as store:
        record = await store.load_chat(chat_id)
        if record is None or record.conversation is None or record.conversation.state != "waiting":
            raise RuntimeError(f"seeded chat {chat_id} does not read back as waiting: {record}")
        due = await store.next_due_at()
        if reminders_due is not None and due != reminders_due:
            raise RuntimeError(f"seeded reminders read back as due at {due}, not {reminders_due}")


def pending_counts(path: Path, first_chat_id: int, chats: int) -> tuple[set[int], set[int]]:
    """Returns the seeded chats that still have their first reminder, and those with unsent messages."""
    last = first_chat_id + chats
    db = sqlite3.connect(path)
    try:
        reminders = {
            row[0]
            for row in db.execute(
                "SELECT chat_id FROM reminders WHERE name = ? AND sequence = 1 AND chat_id >= ? AND chat_id < ?",
                (REMINDER, first_chat_id, last),
            )
        }
        outbox = {
            row[0]
            for row in db.execute(
                "SELECT DISTINCT chat_id FROM outbox WHERE chat_id >= ? AND chat_id < ?",
                (first_chat_id, last),
            )
        }
    finally:
        db.close()
    return reminders, outbox
