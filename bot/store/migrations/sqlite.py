"""The SQLite schema's history; ``PRAGMA user_version`` holds the last version applied.

Moments are integer microseconds since the Unix epoch, in UTC. Conversations are JSON.

Every index costs each commit a page write (about 20 us here), so only lookups made while serving
users are indexed. Periodic work (purging idle chats, expiring update ids, the operators' statistics)
scans instead; the outbox is nearly empty at all times, so deleting a chat's messages scans it too.
"""

from __future__ import annotations

from bot.store.migrations import Migration

__all__ = ["SQLITE_MIGRATIONS"]

_INITIAL = Migration(
    version=1,
    description="chats, reminders, processed updates, outbox and flow events",
    statements=(
        """
        CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            language TEXT,
            timezone TEXT NOT NULL DEFAULT 'Pacific/Noumea',
            reminders_stopped INTEGER NOT NULL DEFAULT 0,
            blocked INTEGER NOT NULL DEFAULT 0,
            conversation TEXT,
            screen_message_id INTEGER,
            updated_at INTEGER NOT NULL
        )
        """,
        # AUTOINCREMENT: an id is never reused, so a stale id can never consume a newer reminder.
        """
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            UNIQUE (chat_id, name)
        )
        """,
        "CREATE INDEX reminders_by_due_at ON reminders (due_at, id)",
        """
        CREATE TABLE processed_updates (
            update_id INTEGER PRIMARY KEY,
            processed_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
            payload TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE flow_events (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            flow_id TEXT NOT NULL,
            flow_version TEXT NOT NULL,
            state TEXT NOT NULL,
            at INTEGER NOT NULL
        )
        """,
    ),
)

_QUIET_HOURS = Migration(
    version=2,
    description="per-chat quiet hours; an index to forget a chat's funnel events at once",
    statements=(
        "ALTER TABLE chats ADD COLUMN quiet_start TEXT NOT NULL DEFAULT '21:00:00'",
        "ALTER TABLE chats ADD COLUMN quiet_end TEXT NOT NULL DEFAULT '08:00:00'",
        "CREATE INDEX flow_events_by_chat ON flow_events (chat_id)",
    ),
)

_TIMEZONE_PROMPT = Migration(
    version=3,
    description="when a chat was asked to type its time zone, so any process understands the answer",
    statements=("ALTER TABLE chats ADD COLUMN timezone_asked_at INTEGER",),
)

_LOCAL_HOURS = Migration(
    version=4,
    description="whether the person chose their time zone; the latest reminder, whose buttons still count",
    statements=(
        "ALTER TABLE chats ADD COLUMN timezone_chosen INTEGER NOT NULL DEFAULT 0",
        # Only a person could have set a zone other than the old default.
        "UPDATE chats SET timezone_chosen = 1 WHERE timezone != 'Pacific/Noumea'",
        "ALTER TABLE chats ADD COLUMN reminder_message_id INTEGER",
    ),
)

_INBOX = Migration(
    version=5,
    description="the inbox: polled updates kept from the moment they are fetched until they are handled",
    statements=(
        """
        CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            payload TEXT NOT NULL,
            received_at INTEGER NOT NULL
        )
        """,
    ),
)

_SHARED_WORK = Migration(
    version=6,
    description="what instances sharing a store coordinate through: chat versions, claims, leases, send budget",
    statements=(
        "ALTER TABLE chats ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE chats ADD COLUMN outbox_holder TEXT",
        "ALTER TABLE chats ADD COLUMN outbox_lease_until INTEGER",
        "ALTER TABLE reminders ADD COLUMN claimed_until INTEGER",
        "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL)",
        "CREATE TABLE send_budget (name TEXT PRIMARY KEY, next_slot INTEGER NOT NULL)",
    ),
)

_FLOW_RELEASES = Migration(
    version=7,
    description="the flow version served: every release published, and the button meanings of each version",
    statements=(
        # AUTOINCREMENT: a release's number is never reused, so publication order is never ambiguous.
        # A release beyond the kept ones loses its files (NULL), never its digest.
        """
        CREATE TABLE flow_releases (
            number INTEGER PRIMARY KEY AUTOINCREMENT,
            flow_id TEXT NOT NULL,
            version TEXT NOT NULL,
            digest TEXT NOT NULL,
            files TEXT,
            published_at INTEGER NOT NULL
        )
        """,
        "CREATE INDEX flow_releases_by_digest ON flow_releases (digest)",
        """
        CREATE TABLE flow_versions (
            flow_id TEXT NOT NULL,
            version TEXT NOT NULL,
            meanings TEXT NOT NULL,
            served_at INTEGER NOT NULL,
            PRIMARY KEY (flow_id, version)
        )
        """,
    ),
)

_TICKETS = Migration(
    version=8,
    description="tickets: people's questions to the operators, and each message relayed for them, once",
    statements=(
        """
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            opened_at INTEGER NOT NULL,
            support_message_id INTEGER,
            topic_id INTEGER,
            answered_at INTEGER,
            closed_at INTEGER
        )
        """,
        # One open ticket per person, whichever instance opens it.
        "CREATE UNIQUE INDEX tickets_open_per_chat ON tickets (chat_id) WHERE closed_at IS NULL",
        "CREATE INDEX tickets_by_post ON tickets (support_message_id)",
        """
        CREATE TABLE ticket_messages (
            ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            direction TEXT NOT NULL,
            source_message_id INTEGER NOT NULL,
            copy_id INTEGER,
            at INTEGER NOT NULL,
            PRIMARY KEY (ticket_id, direction, source_message_id)
        )
        """,
        "CREATE INDEX ticket_messages_by_copy ON ticket_messages (copy_id)",
    ),
)

_QUESTIONS_KEPT_UNTIL_POSTED = Migration(
    version=9,
    description="a person's question keeps its text until it is posted in the support chat",
    statements=(
        "ALTER TABLE ticket_messages ADD COLUMN text TEXT",
        "CREATE INDEX ticket_messages_pending ON ticket_messages (at) WHERE text IS NOT NULL",
    ),
)

# No reference to the ticket: a forgotten person's ticket goes with their chat, and its notice stays to be said.
# Ticket ids are never reused, so (ticket_id, kind) keys a notice for good.
_SUPPORT_NOTICES = Migration(
    version=10,
    description="the bot's lines owed to the support chat, recorded with the change they report",
    statements=(
        """
        CREATE TABLE support_notices (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ticket_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            topic_id INTEGER,
            UNIQUE (ticket_id, kind)
        )
        """,
    ),
)

SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    _INITIAL,
    _QUIET_HOURS,
    _TIMEZONE_PROMPT,
    _LOCAL_HOURS,
    _INBOX,
    _SHARED_WORK,
    _FLOW_RELEASES,
    _TICKETS,
    _QUESTIONS_KEPT_UNTIL_POSTED,
    _SUPPORT_NOTICES,
)
