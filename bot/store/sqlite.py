"""The SQLite store, on aiosqlite: WAL, one connection, every operation one trip to the database thread."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import time_ns
from types import MappingProxyType
from typing import Any, TypeVar

import aiosqlite

from bot.store.base import (
    KEPT_RELEASES,
    ChatRecord,
    ClaimedCommit,
    Commit,
    FlowRelease,
    FunnelStats,
    InboxUpdate,
    Journey,
    Notice,
    OutboxMessage,
    PendingQuestion,
    Relay,
    ReleaseHead,
    Reminder,
    Standing,
    StateCount,
    Store,
    SupportNotice,
    Ticket,
    TicketCounts,
    frozen_payload,
    journeys_from,
    publishes,
    require_aware,
)
from bot.store.columns import chat_record, from_sqlite, load_sql, to_sqlite, upsert_sql, written
from bot.store.errors import ChatChanged, DuplicateUpdate, ReminderGone, SchemaError, StoreError
from bot.store.migrations import Migration
from bot.store.migrations.sqlite import SQLITE_MIGRATIONS

__all__ = ["SqliteStore", "migrate"]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Work = Callable[[sqlite3.Connection], _T]


def _micros(moment: datetime) -> int:
    require_aware(moment, "a stored moment")
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


def _json(value: Mapping[str, object]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SqliteStore(Store):
    """Stores everything in one SQLite file.

    Each operation runs as one function on aiosqlite's database thread, so a commit is a single
    thread hop and two commits can never interleave on the shared connection.
    """

    def __init__(self, path: str | Path, *, busy_timeout: timedelta = timedelta(seconds=5)) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        """Connects, tunes the connection and brings the schema to the current version."""
        if self._db is not None:
            return
        # isolation_level=None: transactions are begun and ended explicitly, never implicitly.
        db = await aiosqlite.connect(self._path, isolation_level=None)
        busy_ms = int(self._busy_timeout / timedelta(milliseconds=1))
        try:
            await _run(db, lambda connection: _prepare(connection, busy_ms))
        except BaseException:
            await db.close()
            raise
        self._db = db

    async def close(self) -> None:
        """Closes the connection."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    async def _run(self, work: Work[_T]) -> _T:
        if self._db is None:
            raise StoreError("the store is not open")
        return await _run(self._db, work)

    async def load_chat(self, chat_id: int) -> ChatRecord | None:
        """Returns the chat's settings, conversation and screen message, in one query."""
        row = await self._run(lambda db: db.execute(_LOAD_CHAT, (chat_id,)).fetchone())
        return None if row is None else chat_record(row, from_sqlite)

    async def commit(self, commit: Commit, now: datetime) -> list[OutboxMessage]:
        """Applies the whole commit in one transaction, built before it starts."""
        plan = _CommitPlan(commit, now)
        return await self._run(_in_transaction(plan.apply))

    async def commit_and_claim(
        self, commit: Commit, now: datetime, *, holder: str, lease: timedelta
    ) -> ClaimedCommit:
        """Applies the commit and claims the chat's outbox for ``holder``, in one transaction and one hop."""
        if not commit.outbox:
            raise ValueError("a commit without messages has nothing to claim the outbox for")
        plan = _CommitPlan(commit, now)
        claim = {
            "chat_id": commit.chat_id,
            "holder": holder,
            "now": _micros(now),
            "until": _micros(now + lease),
        }

        def apply_and_claim(db: sqlite3.Connection) -> ClaimedCommit:
            queued = plan.apply(db)
            if db.execute(_CLAIM_OUTBOX, claim).rowcount == 0:
                return ClaimedCommit(queued, None)
            rows = db.execute(_PENDING_OUTBOX_OF_CHAT, (commit.chat_id, -1)).fetchall()
            pending = [
                OutboxMessage(mid, chat, frozen_payload(json.loads(payload))) for mid, chat, payload in rows
            ]
            return ClaimedCommit(queued, pending)

        return await self._run(_in_transaction(apply_and_claim))

    async def pending_outbox(self, limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        """Returns unsent messages (of one chat, when given), oldest first."""
        sql = _PENDING_OUTBOX if chat_id is None else _PENDING_OUTBOX_OF_CHAT
        params = (limit,) if chat_id is None else (chat_id, limit)
        rows = await self._run(lambda db: db.execute(sql, params).fetchall())
        return [
            OutboxMessage(id=message_id, chat_id=chat, payload=frozen_payload(json.loads(payload)))
            for message_id, chat, payload in rows
        ]

    async def next_due_at(self) -> datetime | None:
        """Returns the earliest due time among reminders that may be sent."""
        row = await self._run(lambda db: db.execute(_NEXT_DUE).fetchone())
        return None if row is None else _moment(row[0])

    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Returns reminders due at ``now`` that may be sent, oldest due first."""
        due = _micros(now)
        rows = await self._run(lambda db: db.execute(_DUE_REMINDERS, (due, limit)).fetchall())
        return [_reminder(row) for row in rows]

    async def reminders_of(self, chat_id: int) -> list[Reminder]:
        """Returns the chat's pending reminders, soonest first."""
        rows = await self._run(lambda db: db.execute(_REMINDERS_OF, (chat_id,)).fetchall())
        return [_reminder(row) for row in rows]

    async def postpone_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Moves a failed reminder to ``due_at`` and counts the attempt."""
        params = (_micros(due_at), reminder_id)
        changed = await self._run(_in_transaction(lambda db: db.execute(_POSTPONE, params).rowcount))
        return changed > 0

    async def record_delivery(
        self,
        outbox_id: int,
        chat_id: int,
        screen_message_id: int | None,
        reminder_message_id: int | None = None,
    ) -> None:
        """Deletes the outbox row and updates (never inserts) the chat's screen or reminder message, in one hop."""

        def record(db: sqlite3.Connection) -> None:
            _record_delivery(db, outbox_id, chat_id, screen_message_id, reminder_message_id)

        await self._run(_in_transaction(record))

    async def record_delivery_and_claim(
        self,
        outbox_id: int,
        chat_id: int,
        screen_message_id: int | None,
        reminder_message_id: int | None,
        *,
        holder: str,
        now: datetime,
        lease: timedelta,
    ) -> list[OutboxMessage] | None:
        """Records the delivery, then claims the outbox again or gives it up when nothing is pending, in one hop."""
        claim = {"chat_id": chat_id, "holder": holder, "now": _micros(now), "until": _micros(now + lease)}

        def record_and_claim(db: sqlite3.Connection) -> list[tuple[int, int, str]] | None:
            _record_delivery(db, outbox_id, chat_id, screen_message_id, reminder_message_id)
            if db.execute(_CLAIM_OUTBOX, claim).rowcount == 0:
                return None
            rows = db.execute(_PENDING_OUTBOX_OF_CHAT, (chat_id, -1)).fetchall()
            if not rows:
                db.execute(_RELEASE_OUTBOX, {"chat_id": chat_id, "holder": holder, "unless_pending": 0})
            return rows

        rows = await self._run(_in_transaction(record_and_claim))
        if rows is None:
            return None
        return [OutboxMessage(mid, chat, frozen_payload(json.loads(payload))) for mid, chat, payload in rows]

    async def set_blocked(self, chat_id: int, blocked: bool) -> None:
        """Records the block; a blocked chat keeps no reminders and no unsent messages."""

        def block(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE chats SET blocked = ?, version = version + 1 WHERE chat_id = ?",
                (int(blocked), chat_id),
            )
            if blocked:
                db.execute("DELETE FROM reminders WHERE chat_id = ?", (chat_id,))
                db.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))

        await self._run(_in_transaction(block))

    async def forget(self, chat_id: int) -> None:
        """Deletes the chat's row (its reminders and outbox go with it) and its events."""

        def forget(db: sqlite3.Connection) -> None:
            db.execute(_OWE_FORGOTTEN, (Notice.FORGOTTEN.value, chat_id))
            db.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM flow_events WHERE chat_id = ?", (chat_id,))

        await self._run(_in_transaction(forget))

    async def purge_idle(self, before: datetime) -> int:
        """Deletes chats idle since ``before``, with their reminders and outbox.

        Their funnel events stay for the statistics, under a random number instead of the chat id, so
        nothing links them to a person any more.
        """
        params = (_micros(before),)

        def purge(db: sqlite3.Connection) -> int:
            idle = [row[0] for row in db.execute("SELECT chat_id FROM chats WHERE updated_at < ?", params)]
            surrogates = [(-secrets.randbits(62) - 1, chat_id) for chat_id in idle]
            db.executemany("UPDATE flow_events SET chat_id = ? WHERE chat_id = ?", surrogates)
            db.execute("DELETE FROM chats WHERE updated_at < ?", params)
            return len(idle)

        return await self._run(_in_transaction(purge))

    async def expire_updates(self, before: datetime) -> int:
        """Forgets processed update ids older than ``before``."""
        params = (_micros(before),)
        sql = "DELETE FROM processed_updates WHERE processed_at < ?"
        return await self._run(_in_transaction(lambda db: db.execute(sql, params).rowcount))

    async def funnel(
        self, flow_id: str, since: datetime, until: datetime, confirmed_states: Collection[str]
    ) -> FunnelStats:
        """Counts distinct chats per state, per last state, in all, and among the confirmed states."""
        period = (flow_id, _micros(since), _micros(until))
        confirmed = sorted(set(confirmed_states))
        confirmed_sql = _CONFIRMED.format(marks=", ".join("?" * len(confirmed)))

        def count(db: sqlite3.Connection) -> tuple[list[tuple[str, int]], dict[str, int], int, int]:
            reached = db.execute(_REACHED, period).fetchall()
            last = dict(db.execute(_LAST_STATES, period).fetchall())
            started = db.execute(_STARTED, period).fetchone()[0]
            done = db.execute(confirmed_sql, (*period, *confirmed)).fetchone()[0] if confirmed else 0
            return reached, last, started, done

        reached, last, started, done = await self._run(count)
        states = tuple(
            StateCount(state=state, reached=chats, dropped_off=last.get(state, 0))
            for state, chats in sorted(reached, key=lambda row: (-row[1], row[0]))
        )
        return FunnelStats(
            flow_id=flow_id, since=since, until=until, started=started, confirmed=done, states=states
        )

    async def journeys(self, flow_id: str, since: datetime, until: datetime, variable: str) -> list[Journey]:
        """Returns each conversation's states entered in the period, with ``variable``'s value now."""
        params = (f'$.variables."{variable}"', flow_id, _micros(since), _micros(until))
        rows = await self._run(lambda db: db.execute(_JOURNEYS, params).fetchall())
        return journeys_from((chat, state, _moment(at), value) for chat, state, at, value in rows)

    # -- tickets: people's questions to the operators -------------------------------------------------

    async def open_ticket(self, chat_id: int, language: str, now: datetime) -> Ticket:
        """Returns the chat's open ticket, opening one if it has none."""
        params = (chat_id, language, _micros(now))

        def open_one(db: sqlite3.Connection) -> Ticket:
            try:
                db.execute(_OPEN_TICKET, params)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"chat {chat_id} has no conversation to open a ticket for") from exc
            return _ticket(
                db.execute(f"{_TICKETS} WHERE chat_id = ? AND closed_at IS NULL", (chat_id,)).fetchone()
            )

        return await self._run(_in_transaction(open_one))

    async def open_ticket_of(self, chat_id: int) -> Ticket | None:
        """Returns the chat's open ticket, if any."""
        sql = f"{_TICKETS} WHERE chat_id = ? AND closed_at IS NULL"
        row = await self._run(lambda db: db.execute(sql, (chat_id,)).fetchone())
        return None if row is None else _ticket(row)

    async def ticket_for_reply(self, support_message_id: int) -> Ticket | None:
        """Returns the open ticket whose post, or a question relayed for it, is this support chat message."""
        params = (support_message_id, Relay.QUESTION.value, support_message_id)
        row = await self._run(lambda db: db.execute(_TICKET_FOR_REPLY, params).fetchone())
        return None if row is None else _ticket(row)

    async def ticket_in_topic(self, topic_id: int) -> Ticket | None:
        """Returns the open ticket whose forum topic this is."""
        sql = f"{_TICKETS} WHERE topic_id = ? AND closed_at IS NULL"
        row = await self._run(lambda db: db.execute(sql, (topic_id,)).fetchone())
        return None if row is None else _ticket(row)

    async def record_topic(self, ticket_id: int, topic_id: int) -> None:
        """Records the forum topic opened for the ticket."""
        sql = "UPDATE tickets SET topic_id = ? WHERE id = ?"
        await self._run(_in_transaction(lambda db: db.execute(sql, (topic_id, ticket_id))))

    async def relay(
        self, ticket_id: int, direction: Relay, source_message_id: int, now: datetime, text: str | None = None
    ) -> bool:
        """Records a message to relay (with its text while it waits); False if it was recorded before."""
        params = (ticket_id, direction.value, source_message_id, _micros(now), text)

        def record(db: sqlite3.Connection) -> bool:
            if db.execute(_RELAY, params).rowcount == 0:
                return False
            if direction is Relay.ANSWER:
                db.execute(_ANSWERED, (_micros(now), ticket_id))
            return True

        return await self._run(_in_transaction(record))

    async def pending_questions(self, limit: int) -> list[PendingQuestion]:
        """Returns questions recorded and not yet posted, oldest first."""
        rows = await self._run(lambda db: db.execute(_PENDING_QUESTIONS, (limit,)).fetchall())
        return [
            PendingQuestion(_ticket(tuple(row)), source, text, _moment(at)) for *row, source, text, at in rows
        ]

    async def relayed(
        self, ticket_id: int, direction: Relay, source_message_id: int, copy_id: int | None
    ) -> None:
        """Records the relayed copy's id and forgets the text; a question's first copy is the ticket's post."""
        params = (copy_id, ticket_id, direction.value, source_message_id)

        def record(db: sqlite3.Connection) -> None:
            db.execute(_RELAYED, params)
            if direction is Relay.QUESTION and copy_id is not None:
                db.execute(_FIRST_POST, (copy_id, ticket_id))

        await self._run(_in_transaction(record))

    async def close_ticket(self, ticket_id: int, now: datetime, notice: Notice | None = None) -> bool:
        """Closes the ticket; False if it was closed already. The notice is recorded with the closing."""
        sql = "UPDATE tickets SET closed_at = ? WHERE id = ? AND closed_at IS NULL"
        params = (_micros(now), ticket_id)

        def close(db: sqlite3.Connection) -> bool:
            if db.execute(sql, params).rowcount == 0:
                return False
            if notice is not None:
                db.execute(_OWE_NOTICE, (notice.value, ticket_id))
            return True

        return await self._run(_in_transaction(close))

    async def pending_notices(self, limit: int) -> list[SupportNotice]:
        """Returns the lines owed to the support chat, oldest first."""
        sql = "SELECT id, ticket_id, kind, topic_id FROM support_notices ORDER BY id LIMIT ?"
        rows = await self._run(lambda db: db.execute(sql, (limit,)).fetchall())
        return [SupportNotice(row_id, ticket, Notice(kind), topic) for row_id, ticket, kind, topic in rows]

    async def notice_said(self, notice_id: int) -> None:
        """Forgets a line once said in the support chat."""
        sql = "DELETE FROM support_notices WHERE id = ?"
        await self._run(_in_transaction(lambda db: db.execute(sql, (notice_id,))))

    async def open_tickets(self) -> list[Ticket]:
        """Returns every open ticket, oldest first."""
        sql = f"{_TICKETS} WHERE closed_at IS NULL ORDER BY opened_at, id"
        return [_ticket(row) for row in await self._run(lambda db: db.execute(sql).fetchall())]

    async def ticket_counts(self, since: datetime, until: datetime) -> TicketCounts:
        """Counts the tickets opened in ``[since, until)``: all, answered, closed."""
        params = (_micros(since), _micros(until))
        row = await self._run(lambda db: db.execute(_TICKET_COUNTS, params).fetchone())
        return TicketCounts(*(int(count or 0) for count in row))

    async def inbox_add(self, updates: Sequence[InboxUpdate], now: datetime) -> None:
        """Keeps the fetched updates, in one transaction."""
        received_at = _micros(now)
        rows = [(update.update_id, _json(update.payload), received_at) for update in updates]
        if rows:
            await self._run(_in_transaction(lambda db: db.executemany(_INBOX_ADD, rows)))

    async def inbox_pending(self, limit: int, after_update_id: int | None = None) -> list[InboxUpdate]:
        """Returns kept updates, oldest id first."""
        params = (-1 if after_update_id is None else after_update_id, limit)
        rows = await self._run(lambda db: db.execute(_INBOX_PENDING, params).fetchall())
        return [InboxUpdate(update_id, json.loads(payload)) for update_id, payload in rows]

    async def inbox_remove(self, update_ids: Collection[int]) -> None:
        """Forgets the kept updates of these ids."""
        rows = [(update_id,) for update_id in update_ids]
        if rows:
            await self._run(_in_transaction(lambda db: db.executemany(_INBOX_REMOVE, rows)))

    async def count_conversations(self) -> int:
        """Returns how many chats have a conversation stored."""
        sql = "SELECT count(*) FROM chats WHERE conversation IS NOT NULL"
        count: int = await self._run(lambda db: db.execute(sql).fetchone()[0])
        return count

    async def standings(self) -> list[Standing]:
        """Counts unfinished conversations by flow version and state, and their reminders by name."""

        def count(
            db: sqlite3.Connection,
        ) -> tuple[list[tuple[str, str, str, int]], list[tuple[str, str, str, str, int]]]:
            return db.execute(_STANDINGS).fetchall(), db.execute(_STANDING_REMINDERS).fetchall()

        chats, reminders = await self._run(count)
        pending: dict[tuple[str, str, str], dict[str, int]] = {}
        for flow_id, version, state, name, number in reminders:
            pending.setdefault((flow_id, version, state), {})[name] = number
        return [
            Standing(
                flow_id, version, state, number, MappingProxyType(pending.get((flow_id, version, state), {}))
            )
            for flow_id, version, state, number in chats
        ]

    async def claim_due_reminders(self, now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
        """Returns due reminders nobody holds, and holds them until ``now + lease``."""
        params = {"now": _micros(now), "limit": limit}
        until = _micros(now + lease)

        def claim(db: sqlite3.Connection) -> list[Reminder]:
            rows = db.execute(_CLAIMABLE, params).fetchall()
            db.executemany(
                "UPDATE reminders SET claimed_until = ? WHERE id = ?", [(until, row[0]) for row in rows]
            )
            return [_reminder(row) for row in rows]

        return await self._run(_in_transaction(claim))

    async def claim_outbox(
        self, chat_id: int, holder: str, now: datetime, lease: timedelta
    ) -> list[OutboxMessage] | None:
        """Claims the chat's outbox for ``holder`` and returns its pending messages; None if another holds it."""
        params = {"chat_id": chat_id, "holder": holder, "now": _micros(now), "until": _micros(now + lease)}

        def claim(db: sqlite3.Connection) -> list[tuple[int, int, str]] | None:
            if db.execute(_CLAIM_OUTBOX, params).rowcount == 0:
                return None
            return db.execute(_PENDING_OUTBOX_OF_CHAT, (chat_id, -1)).fetchall()

        rows = await self._run(_in_transaction(claim))
        if rows is None:
            return None
        return [OutboxMessage(mid, chat, frozen_payload(json.loads(payload))) for mid, chat, payload in rows]

    async def release_outbox(self, chat_id: int, holder: str, *, unless_pending: bool) -> bool:
        """Gives up the claim; with ``unless_pending``, only when nothing is pending."""
        params = {"chat_id": chat_id, "holder": holder, "unless_pending": int(unless_pending)}

        def release(db: sqlite3.Connection) -> bool:
            if db.execute(_RELEASE_OUTBOX, params).rowcount:
                return True
            held = db.execute(
                "SELECT 1 FROM chats WHERE chat_id = ? AND outbox_holder = ?", (chat_id, holder)
            ).fetchone()
            return held is None  # not (or no longer) ours: nothing left for this holder to do

        return await self._run(_in_transaction(release))

    async def acquire_lease(self, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
        """Makes ``holder`` hold ``name`` until ``now + lease``, unless another's lease still runs."""
        params = {"name": name, "holder": holder, "now": _micros(now), "until": _micros(now + lease)}
        changed = await self._run(_in_transaction(lambda db: db.execute(_ACQUIRE_LEASE, params).rowcount))
        return changed > 0

    async def release_lease(self, name: str, holder: str) -> None:
        """Gives up ``holder``'s lease of ``name``."""
        sql = "DELETE FROM leases WHERE name = ? AND holder = ?"
        await self._run(_in_transaction(lambda db: db.execute(sql, (name, holder))))

    async def reserve_send_slot(self, interval: timedelta, pause: timedelta = timedelta(0)) -> timedelta:
        """Reserves the next moment to send, by this machine's clock (SQLite serves one host)."""
        step = interval // _MICROSECOND
        hold = pause // _MICROSECOND

        def reserve(db: sqlite3.Connection) -> int:
            now = time_ns() // 1000
            row = db.execute("SELECT next_slot FROM send_budget WHERE name = 'telegram'").fetchone()
            slot = max(now + hold, 0 if row is None else row[0])
            db.execute(
                "INSERT INTO send_budget (name, next_slot) VALUES ('telegram', ?)"
                " ON CONFLICT (name) DO UPDATE SET next_slot = excluded.next_slot",
                (slot + step,),
            )
            return slot - now

        return await self._run(_in_transaction(reserve)) * _MICROSECOND

    async def publish_release(self, release: FlowRelease, now: datetime, *, again: bool) -> ReleaseHead:
        """Publishes the release unless it is current (or, without ``again``, was ever), in one transaction."""
        files = _json(dict(release.files))
        at = _micros(now)

        def publish(db: sqlite3.Connection) -> ReleaseHead:
            row = db.execute(_RELEASE_HEAD).fetchone()
            current = None if row is None else ReleaseHead(*row)
            seen = db.execute(_RELEASE_SEEN, (release.digest,)).fetchone() is not None
            if current is not None and not publishes(current, release.digest, again=again, seen=seen):
                return current
            (number,) = db.execute(
                _PUBLISH, (release.flow_id, release.version, release.digest, files, at)
            ).fetchone()
            db.execute(_RECORD_MEANINGS_SERVED, (release.flow_id, release.version, release.meanings, at))
            db.execute(_FORGET_OLD_FILES, (number - KEPT_RELEASES,))
            db.execute(_FORGET_OLD_MEANINGS, (release.flow_id, release.flow_id, KEPT_RELEASES))
            return ReleaseHead(number, release.flow_id, release.version, release.digest)

        return await self._run(_in_transaction(publish))

    async def release_head(self) -> ReleaseHead | None:
        """Returns the current release's head."""
        row = await self._run(lambda db: db.execute(_RELEASE_HEAD).fetchone())
        return None if row is None else ReleaseHead(*row)

    async def current_release(self) -> FlowRelease | None:
        """Returns the current release with its files and meanings."""
        row = await self._run(lambda db: db.execute(_CURRENT_RELEASE).fetchone())
        if row is None:
            return None
        number, flow_id, version, digest, files, meanings = row
        return FlowRelease(flow_id, version, digest, _files(files, number), meanings, number)

    async def flow_history(self, flow_id: str) -> dict[str, str]:
        """Returns the kept meanings of the flow's versions, by version."""
        rows = await self._run(lambda db: db.execute(_FLOW_HISTORY, (flow_id,)).fetchall())
        return dict(rows)

    async def record_meanings(self, flow_id: str, version: str, meanings: str, served_at: datetime) -> None:
        """Keeps a version's meanings unless kept already."""
        params = (flow_id, version, meanings, _micros(served_at))
        await self._run(_in_transaction(lambda db: db.execute(_RECORD_MEANINGS, params)))


_RELEASE_HEAD = "SELECT number, flow_id, version, digest FROM flow_releases ORDER BY number DESC LIMIT 1"
_RELEASE_SEEN = "SELECT 1 FROM flow_releases WHERE digest = ? LIMIT 1"
_PUBLISH = """
    INSERT INTO flow_releases (flow_id, version, digest, files, published_at) VALUES (?, ?, ?, ?, ?)
    RETURNING number
"""
_RECORD_MEANINGS_SERVED = """
    INSERT INTO flow_versions (flow_id, version, meanings, served_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (flow_id, version) DO UPDATE SET served_at = excluded.served_at
"""
_RECORD_MEANINGS = """
    INSERT INTO flow_versions (flow_id, version, meanings, served_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (flow_id, version) DO NOTHING
"""
_FORGET_OLD_FILES = "UPDATE flow_releases SET files = NULL WHERE number <= ? AND files IS NOT NULL"
_FORGET_OLD_MEANINGS = """
    DELETE FROM flow_versions WHERE flow_id = ? AND version NOT IN (
        SELECT version FROM flow_versions WHERE flow_id = ? ORDER BY served_at DESC LIMIT ?)
"""
_CURRENT_RELEASE = """
    SELECT r.number, r.flow_id, r.version, r.digest, r.files, coalesce(v.meanings, '')
    FROM flow_releases r LEFT JOIN flow_versions v ON v.flow_id = r.flow_id AND v.version = r.version
    ORDER BY r.number DESC LIMIT 1
"""
_FLOW_HISTORY = "SELECT version, meanings FROM flow_versions WHERE flow_id = ? ORDER BY served_at"
_POSITION = """
    json_extract(c.conversation, '$.flow_id'), json_extract(c.conversation, '$.flow_version'),
    json_extract(c.conversation, '$.state')"""
_UNFINISHED = "c.conversation IS NOT NULL AND NOT json_extract(c.conversation, '$.finished')"
_STANDINGS = (
    f"SELECT {_POSITION}, count(*) FROM chats c WHERE {_UNFINISHED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
_STANDING_REMINDERS = f"""
    SELECT {_POSITION}, r.name, count(*) FROM reminders r JOIN chats c ON c.chat_id = r.chat_id
    WHERE {_UNFINISHED} GROUP BY 1, 2, 3, 4"""


def _files(files: str | None, number: int) -> Mapping[str, str]:
    """Returns a release's files; the current release always has them (only older ones lose theirs)."""
    if files is None:
        raise StoreError(f"release {number} is current but its files were forgotten")
    return MappingProxyType(json.loads(files))


def _reminder(row: tuple[int, int, str, int, int, int]) -> Reminder:
    reminder_id, chat_id, name, due_at, sequence, attempts = row
    return Reminder(reminder_id, chat_id, name, _moment(due_at), sequence, attempts)


async def _run(db: aiosqlite.Connection, work: Work[_T]) -> _T:
    """Runs ``work`` on the connection's own thread, in one hop.

    aiosqlite has no public way to run a function against its sqlite3 connection; its private queue
    (``_execute``) is the one it uses itself for every call, so a whole transaction goes in one hop. Its
    public calls would take a hop per statement (a typical commit 2.4-3.2x the time and CPU:
    ``python -m bench.store_hops``), so aiosqlite is capped in pyproject.toml and
    tests/store/test_aiosqlite_guard.py fails, naming this reason, when a release changes either attribute.
    """
    connection = db._conn
    result: _T = await db._execute(work, connection)  # type: ignore[no-untyped-call]
    return result


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """Makes the block one write transaction: committed when it ends, rolled back when it raises.

    The write lock is taken at the start (IMMEDIATE), so a busy database makes the block wait for it
    instead of failing half-way. SQLite ends a transaction by itself on some errors, and a failed
    COMMIT leaves it open: the rollback happens only if it is still open, so the first error is the
    one raised and the connection is never left inside a transaction.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _ticket(row: tuple[Any, ...]) -> Ticket:
    ticket_id, chat_id, language, opened_at, post, topic, answered_at, closed_at = row
    return Ticket(
        id=ticket_id,
        chat_id=chat_id,
        language=language,
        opened_at=_moment(opened_at),
        support_message_id=post,
        topic_id=topic,
        answered_at=None if answered_at is None else _moment(answered_at),
        closed_at=None if closed_at is None else _moment(closed_at),
    )


def _in_transaction(work: Work[_T]) -> Work[_T]:
    """Returns ``work`` made one write transaction, to run in one hop."""

    def transaction(db: sqlite3.Connection) -> _T:
        with _transaction(db):
            return work(db)

    return transaction


def _prepare(db: sqlite3.Connection, busy_ms: int) -> None:
    db.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    migrate(db)


def migrate(
    db: sqlite3.Connection, migrations: Sequence[Migration] = SQLITE_MIGRATIONS, target: int | None = None
) -> int:
    """Applies the migrations the database lacks, up to ``target`` (default: all); returns its version.

    Each step runs in its own transaction together with the version bump, so a crash mid-upgrade
    leaves the database at the last complete step.
    """
    latest = migrations[-1].version if migrations else 0
    goal = latest if target is None else target
    current = _schema_version(db)
    if current > latest:
        raise SchemaError(f"the database is at schema version {current}, newer than this bot's {latest}")
    for step in migrations:
        if step.version > goal:
            break
        try:
            with _transaction(db):
                # Another process may have upgraded meanwhile; the version is read again under the write lock.
                current = _schema_version(db)
                if current >= step.version:
                    continue
                if current != step.version - 1:
                    raise SchemaError(f"cannot apply schema step {step.version} to version {current}")
                for statement in step.statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step.version:d}")
        except sqlite3.Error as exc:
            raise SchemaError(f"schema step {step.version} ({step.description}) failed: {exc}") from exc
    return _schema_version(db)


def _schema_version(db: sqlite3.Connection) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


class _CommitPlan:
    """A commit turned into statements and parameters before the transaction starts."""

    def __init__(self, commit: Commit, moment: datetime) -> None:
        self.commit = commit
        now = _micros(moment)
        chat = written(commit, moment, to_sqlite)
        self.upsert_sql = upsert_sql(tuple(chat), ":{}")
        self.chat = chat
        self.update = None if commit.update_id is None else (commit.update_id, now)
        self.cancel = (
            None
            if commit.cancel_reminders is None
            else [(commit.chat_id, name) for name in sorted(commit.cancel_reminders)]
        )
        self.schedule = [
            (commit.chat_id, reminder.name, _micros(reminder.due_at), reminder.sequence)
            for reminder in commit.schedule
        ]
        self.outbox = [(commit.chat_id, _json(payload), now) for payload in commit.outbox]
        self.events = [
            (event.chat_id, event.flow_id, event.flow_version, event.state, _micros(event.at))
            for event in commit.events
        ]

    def apply(self, db: sqlite3.Connection) -> list[OutboxMessage]:
        """Writes the commit; the caller runs it in a transaction."""
        commit = self.commit
        if self.update is not None and db.execute(_RECORD_UPDATE, self.update).rowcount == 0:
            raise DuplicateUpdate(self.update[0])
        if commit.expected_version is not None:
            row = db.execute("SELECT version FROM chats WHERE chat_id = ?", (commit.chat_id,)).fetchone()
            if (0 if row is None else row[0]) != commit.expected_version:
                raise ChatChanged(commit.chat_id)
        db.execute(self.upsert_sql, self.chat)
        if commit.consumed_reminder_id is not None:
            consumed = (commit.consumed_reminder_id, commit.chat_id)
            if db.execute("DELETE FROM reminders WHERE id = ? AND chat_id = ?", consumed).rowcount == 0:
                raise ReminderGone(commit.consumed_reminder_id)
        if self.cancel is None:
            db.execute("DELETE FROM reminders WHERE chat_id = ?", (commit.chat_id,))
        elif self.cancel:
            db.executemany("DELETE FROM reminders WHERE chat_id = ? AND name = ?", self.cancel)
        if self.schedule:
            db.executemany(_SCHEDULE, self.schedule)
        messages = []
        for chat_id, payload, created_at in self.outbox:
            (message_id,) = db.execute(_ENQUEUE, (chat_id, payload, created_at)).fetchone()
            # Decoded from the stored JSON so a message looks the same now as when resent after a restart.
            messages.append(OutboxMessage(message_id, chat_id, frozen_payload(json.loads(payload))))
        if self.events:
            db.executemany(_RECORD_EVENT, self.events)
        return messages


_LOAD_CHAT = load_sql("?")
_RECORD_UPDATE = "INSERT OR IGNORE INTO processed_updates (update_id, processed_at) VALUES (?, ?)"
# REPLACE deletes the old row and inserts a new one, so a rescheduled reminder gets a new id.
_SCHEDULE = "INSERT OR REPLACE INTO reminders (chat_id, name, due_at, sequence) VALUES (?, ?, ?, ?)"
_ENQUEUE = "INSERT INTO outbox (chat_id, payload, created_at) VALUES (?, ?, ?) RETURNING id"
_RECORD_EVENT = "INSERT INTO flow_events (chat_id, flow_id, flow_version, state, at) VALUES (?, ?, ?, ?, ?)"


def _record_delivery(
    db: sqlite3.Connection, outbox_id: int, chat_id: int, screen_id: int | None, reminder_id: int | None
) -> None:
    """Deletes the outbox row and updates (never inserts) the chat's screen or reminder message."""
    db.execute(_DELETE_OUTBOX, (outbox_id,))
    if screen_id is not None or reminder_id is not None:
        db.execute(_RECORD_SHOWN, (screen_id, reminder_id, chat_id))


_DELETE_OUTBOX = "DELETE FROM outbox WHERE id = ?"
_INBOX_ADD = "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_INBOX_PENDING = "SELECT update_id, payload FROM inbox WHERE update_id > ? ORDER BY update_id LIMIT ?"
_INBOX_REMOVE = "DELETE FROM inbox WHERE update_id = ?"
_PENDING_OUTBOX = "SELECT id, chat_id, payload FROM outbox ORDER BY id LIMIT ?"
_PENDING_OUTBOX_OF_CHAT = "SELECT id, chat_id, payload FROM outbox WHERE chat_id = ? ORDER BY id LIMIT ?"
_SENDABLE = "chats.chat_id = reminders.chat_id AND NOT chats.reminders_stopped AND NOT chats.blocked"
# A reminder another caller holds falls due again when its claim lapses.
_NEXT_DUE = f"""
    SELECT max(reminders.due_at, coalesce(reminders.claimed_until, 0)) AS at
    FROM reminders JOIN chats ON {_SENDABLE}
    ORDER BY at, reminders.id LIMIT 1
"""
_CLAIMABLE = f"""
    SELECT reminders.id, reminders.chat_id, name, due_at, sequence, attempts
    FROM reminders JOIN chats ON {_SENDABLE}
    WHERE reminders.due_at <= :now AND coalesce(reminders.claimed_until, 0) <= :now
    ORDER BY reminders.due_at, reminders.id LIMIT :limit
"""
_CLAIM_OUTBOX = """
    UPDATE chats SET outbox_holder = :holder, outbox_lease_until = :until
    WHERE chat_id = :chat_id
      AND (outbox_holder IS NULL OR outbox_holder = :holder OR outbox_lease_until <= :now)
"""
_RELEASE_OUTBOX = """
    UPDATE chats SET outbox_holder = NULL, outbox_lease_until = NULL
    WHERE chat_id = :chat_id AND outbox_holder = :holder
      AND NOT (:unless_pending AND EXISTS (SELECT 1 FROM outbox WHERE outbox.chat_id = :chat_id))
"""
_ACQUIRE_LEASE = """
    INSERT INTO leases (name, holder, until) VALUES (:name, :holder, :until)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
    WHERE leases.holder = excluded.holder OR leases.until <= :now
"""
# One more version for what a delivery shows, as on PostgreSQL (bot/store/columns.py's after_delivery).
_RECORD_SHOWN = """
    UPDATE chats SET
        screen_message_id = coalesce(?1, screen_message_id),
        reminder_message_id = coalesce(?2, reminder_message_id),
        version = version + 1
    WHERE chat_id = ?3
"""
_DUE_REMINDERS = f"""
    SELECT reminders.id, reminders.chat_id, name, due_at, sequence, attempts
    FROM reminders JOIN chats ON {_SENDABLE}
    WHERE reminders.due_at <= ?
    ORDER BY reminders.due_at, reminders.id LIMIT ?
"""
_REMINDERS_OF = """
    SELECT id, chat_id, name, due_at, sequence, attempts FROM reminders
    WHERE chat_id = ? ORDER BY due_at, id
"""
_POSTPONE = "UPDATE reminders SET due_at = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ?"
_PERIOD = "flow_id = ? AND at >= ? AND at < ?"
_REACHED = f"SELECT state, count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD} GROUP BY state"
_LAST_STATES = f"""
    SELECT state, count(*) FROM (
        SELECT state, row_number() OVER (PARTITION BY chat_id ORDER BY at DESC, id DESC) AS recency
        FROM flow_events WHERE {_PERIOD}
    ) WHERE recency = 1 GROUP BY state
"""
_STARTED = f"SELECT count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD}"
_TICKETS = "SELECT id, chat_id, language, opened_at, support_message_id, topic_id, answered_at, closed_at FROM tickets"
_OPEN_TICKET = """
    INSERT INTO tickets (chat_id, language, opened_at) VALUES (?, ?, ?)
    ON CONFLICT (chat_id) WHERE closed_at IS NULL DO NOTHING
"""
_TICKET_FOR_REPLY = f"""
    {_TICKETS} WHERE closed_at IS NULL AND (support_message_id = ? OR id IN (
        SELECT ticket_id FROM ticket_messages WHERE direction = ? AND copy_id = ?
    ))
"""
_OWE_NOTICE = """
    INSERT OR IGNORE INTO support_notices (ticket_id, kind, topic_id) SELECT id, ?, topic_id FROM tickets WHERE id = ?
"""
_OWE_FORGOTTEN = """
    INSERT OR IGNORE INTO support_notices (ticket_id, kind, topic_id)
    SELECT id, ?, topic_id FROM tickets WHERE chat_id = ? AND closed_at IS NULL
"""
_RELAY = """
    INSERT INTO ticket_messages (ticket_id, direction, source_message_id, at, text) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
_PENDING_QUESTIONS = """
    SELECT t.id, t.chat_id, t.language, t.opened_at, t.support_message_id, t.topic_id, t.answered_at,
           t.closed_at, m.source_message_id, m.text, m.at
    FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
    WHERE m.text IS NOT NULL ORDER BY m.at, m.ticket_id, m.source_message_id LIMIT ?
"""
_RELAYED = """
    UPDATE ticket_messages SET copy_id = ?, text = NULL
    WHERE ticket_id = ? AND direction = ? AND source_message_id = ?
"""
_FIRST_POST = "UPDATE tickets SET support_message_id = coalesce(support_message_id, ?) WHERE id = ?"
_ANSWERED = "UPDATE tickets SET answered_at = coalesce(answered_at, ?) WHERE id = ?"
_TICKET_COUNTS = """
    SELECT count(*), count(answered_at), count(closed_at) FROM tickets WHERE opened_at >= ? AND opened_at < ?
"""
_JOURNEYS = """
    SELECT e.chat_id, e.state, e.at, json_extract(c.conversation, ?)
    FROM flow_events e LEFT JOIN chats c ON c.chat_id = e.chat_id
    WHERE e.flow_id = ? AND e.at >= ? AND e.at < ? ORDER BY e.chat_id, e.at, e.id
"""
_CONFIRMED = f"SELECT count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD} AND state IN ({{marks}})"
