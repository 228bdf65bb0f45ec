"""The PostgreSQL store, on psycopg 3: a connection pool, and every commit one call of one server function.

Several instances of the bot share one database; ``bot/store/base.py`` says what the store promises
them. A commit is one statement, ``SELECT ... FROM esim_commit(...)`` (schema step 3): the function takes
the chat's advisory lock (``pg_advisory_xact_lock(chat_id)``) first, so two commits of one chat, from any
processes, are applied one after the other, then writes everything in the statement's transaction. One round
trip, and about a tenth of the client CPU of the same statements sent in a pipeline. Checks that must abort it
(an update already processed, a chat changed meanwhile, a reminder gone) are raised by the server itself, by a
constraint or by ``esim_require``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor, errors
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

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
from bot.store.codec import conversation_data, stored_conversation
from bot.store.columns import Kind, as_conversation, as_document, chat_record, load_sql, written
from bot.store.errors import ChatChanged, DuplicateUpdate, ReminderGone, SchemaError, StoreError
from bot.store.migrations import Migration
from bot.store.migrations.postgres import POSTGRES_MIGRATIONS

__all__ = ["MIGRATION_LOCK", "PostgresStore", "migrate"]

Connection = AsyncConnection[TupleRow]
Params = Sequence[object] | Mapping[str, object]

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0
"""Seconds a closing pool may take before the store gives up waiting for it."""

MIGRATION_LOCK = -(2**62) + 12
"""The advisory lock key instances take while upgrading the schema: far from any Telegram chat id,
which the per-chat locks use as their keys."""

RELEASE_LOCK = -(2**62) + 13
"""The advisory lock key of publishing a release: two instances publishing at once go one after the other."""

REQUIREMENT_FAILED = "EB001"
"""The SQLSTATE ``esim_require`` raises."""


class _AbortedPipelineNoise(logging.Filter):
    """Drops psycopg's warning that a pipeline aborted by our own check could not be synced on exit.

    A commit refused on purpose (DuplicateUpdate, ChatChanged, ReminderGone: a redelivered update, a
    race with another instance) aborts its pipeline; psycopg then logs a WARNING while leaving the
    pipeline, besides raising the error we turn into the store's own. Normal events must not warn.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.getMessage().startswith("error ignored terminating")
            and "pipeline aborted" in record.getMessage()
        )


logging.getLogger("psycopg").addFilter(_AbortedPipelineNoise())


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _ticket(row: tuple[Any, ...]) -> Ticket:
    ticket_id, chat_id, language, opened_at, post, topic, answered_at, closed_at = row
    return Ticket(
        id=ticket_id,
        chat_id=chat_id,
        language=language,
        opened_at=_utc(opened_at),
        support_message_id=post,
        topic_id=topic,
        answered_at=None if answered_at is None else _utc(answered_at),
        closed_at=None if closed_at is None else _utc(closed_at),
    )


def _aware(moment: datetime, what: str) -> datetime:
    require_aware(moment, what)
    return moment


class PostgresStore(Store):
    """Stores everything in one PostgreSQL database, shared by any number of bot instances."""

    serves_several_processes = True

    def __init__(self, url: str, *, min_connections: int = 1, max_connections: int = 16) -> None:
        self._url = url
        self._min_connections = min_connections
        self._max_connections = max_connections
        self._pool: AsyncConnectionPool[Connection] | None = None

    async def open(self) -> None:
        """Opens the pool and brings the schema to the current version (one instance at a time)."""
        if self._pool is not None:
            return
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self._url,
            min_size=self._min_connections,
            max_size=self._max_connections,
            kwargs={"autocommit": True},
            open=False,
            name="esim-bot",
        )
        try:
            await pool.open(wait=True, timeout=15)
            async with pool.connection() as connection:
                await migrate(connection)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        """Closes the pool; a close that does not finish in time is given up, so that stopping never hangs."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            # psycopg_pool's close waits for the pool's own lock, with no bound of its own: rarely (about one
            # test run in ten) it never came back, and a bot that cannot stop is worse than a warning.
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            logger.warning(
                "the PostgreSQL connections did not close within %s s; stopping anyway", CLOSE_TIMEOUT
            )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """Lends a connection of the pool for one call.

        The pool's own ``connection()`` also enters the connection's context, which commits on the way out:
        a lock and a check per call for nothing, every connection being in autocommit (a transaction block
        commits or rolls back itself, and the pool rolls back any left open when it gets the connection back).
        """
        pool = self._pool
        if pool is None:
            raise StoreError("the store is not open")
        connection = await pool.getconn()
        try:
            yield connection
        finally:
            await pool.putconn(connection)

    async def _fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        connection: Connection
        async with self._connection() as connection:
            cursor = await connection.execute(sql, params)
            return await cursor.fetchone()

    async def _fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        connection: Connection
        async with self._connection() as connection:
            cursor = await connection.execute(sql, params)
            return await cursor.fetchall()

    async def _rowcount(self, sql: str, params: Params = ()) -> int:
        connection: Connection
        async with self._connection() as connection:
            cursor = await connection.execute(sql, params)
            return cursor.rowcount

    async def load_chat(self, chat_id: int) -> ChatRecord | None:
        """Returns the chat's settings, conversation and screen message, in one query."""
        row = await self._fetchone(_LOAD_CHAT, (chat_id,))
        return None if row is None else chat_record(row, from_postgres)

    async def commit(self, commit: Commit, now: datetime) -> list[OutboxMessage]:
        """Applies the whole commit in one transaction, sent to the server in one round trip."""
        document = _checked_document(commit, now)
        connection: Connection
        with _commit_errors(commit):
            async with self._connection() as connection:
                cursor = await connection.execute(_COMMIT, (document,))
                rows = await cursor.fetchall()
        # Decoded from the stored JSON so a message looks the same now as when resent after a restart.
        return [
            OutboxMessage(message_id, commit.chat_id, frozen_payload(payload)) for message_id, payload in rows
        ]

    async def commit_and_claim(
        self, commit: Commit, now: datetime, *, holder: str, lease: timedelta
    ) -> ClaimedCommit:
        """Applies the commit and claims the chat's outbox, in one call of ``esim_commit_and_claim``."""
        if not commit.outbox:
            raise ValueError("a commit without messages has nothing to claim the outbox for")
        document = _checked_document(
            commit, now, claim={"holder": holder, "lease_seconds": lease.total_seconds()}
        )
        connection: Connection
        with _commit_errors(commit):
            async with self._connection() as connection:
                cursor = await connection.execute(_COMMIT_AND_CLAIM, (document,))
                rows = await cursor.fetchall()
        queued = [
            OutboxMessage(message_id, commit.chat_id, frozen_payload(payload))
            for message_id, payload, own, _claimed in rows
            if own
        ]
        if rows and not rows[0][3]:
            return ClaimedCommit(queued, None)
        pending = [
            OutboxMessage(message_id, commit.chat_id, frozen_payload(payload))
            for message_id, payload, *_ in rows
        ]
        return ClaimedCommit(queued, pending)

    async def pending_outbox(self, limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        """Returns unsent messages (of one chat, when given), oldest first."""
        if chat_id is None:
            rows = await self._fetchall(_PENDING_OUTBOX, (limit,))
        else:
            rows = await self._fetchall(_PENDING_OUTBOX_OF_CHAT, (chat_id, limit))
        return [
            OutboxMessage(id=message_id, chat_id=chat, payload=frozen_payload(payload))
            for message_id, chat, payload in rows
        ]

    async def next_due_at(self) -> datetime | None:
        """Returns the earliest due time among reminders that may be sent."""
        row = await self._fetchone(_NEXT_DUE)
        return None if row is None else _utc(row[0])

    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Returns reminders due at ``now`` that may be sent, oldest due first."""
        rows = await self._fetchall(_DUE_REMINDERS, (_aware(now, "now"), limit))
        return [_reminder(row) for row in rows]

    async def reminders_of(self, chat_id: int) -> list[Reminder]:
        """Returns the chat's pending reminders, soonest first."""
        rows = await self._fetchall(_REMINDERS_OF, (chat_id,))
        return [_reminder(row) for row in rows]

    async def postpone_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Moves a failed reminder to ``due_at``, counts the attempt and lets any instance claim it then."""
        changed = await self._rowcount(_POSTPONE, (_aware(due_at, "due_at"), reminder_id))
        return changed > 0

    async def record_delivery(
        self,
        outbox_id: int,
        chat_id: int,
        screen_message_id: int | None,
        reminder_message_id: int | None = None,
    ) -> None:
        """Deletes the outbox row and updates (never inserts) the chat's screen or reminder message, at once."""
        if screen_message_id is None and reminder_message_id is None:
            await self._rowcount("DELETE FROM outbox WHERE id = %s", (outbox_id,))
            return
        await self._rowcount(_RECORD_DELIVERY, (outbox_id, screen_message_id, reminder_message_id, chat_id))

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
        """Records the delivery and claims the outbox again, or gives it up when nothing is pending, in one
        statement on the chat's row (so it meets a commit of the chat as ``release_outbox`` does)."""
        params = {
            "outbox_id": outbox_id,
            "chat_id": chat_id,
            "screen": screen_message_id,
            "reminder": reminder_message_id,
            "holder": holder,
            "now": _aware(now, "now"),
            "lease": lease,
        }
        rows = await self._fetchall(_RECORD_DELIVERY_AND_CLAIM, params)
        if not rows:
            return None  # the chat is gone
        if rows[0][0] is None:
            return []  # nothing was pending: the claim is given up
        if rows[0][0] != holder:
            return None
        return [
            OutboxMessage(message_id, chat_id, frozen_payload(payload))
            for _holder, message_id, payload in rows
            if message_id is not None
        ]

    async def set_blocked(self, chat_id: int, blocked: bool) -> None:
        """Records the block; a blocked chat keeps no reminders and no unsent messages."""
        connection: Connection
        async with self._connection() as connection, connection.pipeline(), connection.transaction():
            await connection.execute(_LOCK_CHAT, (chat_id,))
            await connection.execute(
                "UPDATE chats SET blocked = %s, version = version + 1 WHERE chat_id = %s", (blocked, chat_id)
            )
            if blocked:
                await connection.execute("DELETE FROM reminders WHERE chat_id = %s", (chat_id,))
                await connection.execute("DELETE FROM outbox WHERE chat_id = %s", (chat_id,))

    async def forget(self, chat_id: int) -> None:
        """Deletes the chat's row (its reminders and outbox go with it) and its events."""
        connection: Connection
        async with self._connection() as connection, connection.pipeline(), connection.transaction():
            await connection.execute(_LOCK_CHAT, (chat_id,))
            await connection.execute(_OWE_FORGOTTEN, (Notice.FORGOTTEN.value, chat_id))
            await connection.execute("DELETE FROM chats WHERE chat_id = %s", (chat_id,))
            await connection.execute("DELETE FROM flow_events WHERE chat_id = %s", (chat_id,))

    async def purge_idle(self, before: datetime) -> int:
        """Deletes chats idle since ``before``, with their reminders and outbox.

        Their funnel events stay for the statistics, under a random number instead of the chat id, so
        nothing links them to a person any more.
        """
        connection: Connection
        async with self._connection() as connection, connection.transaction():
            cursor = await connection.execute(
                "DELETE FROM chats WHERE updated_at < %s RETURNING chat_id", (_aware(before, "before"),)
            )
            idle = [row[0] for row in await cursor.fetchall()]
            if idle:
                surrogates = [-secrets.randbits(62) - 1 for _ in idle]
                await connection.execute(_ANONYMISE_EVENTS, (idle, surrogates))
            return len(idle)

    async def expire_updates(self, before: datetime) -> int:
        """Forgets processed update ids older than ``before``."""
        sql = "DELETE FROM processed_updates WHERE processed_at < %s"
        return await self._rowcount(sql, (_aware(before, "before"),))

    async def funnel(
        self, flow_id: str, since: datetime, until: datetime, confirmed_states: Collection[str]
    ) -> FunnelStats:
        """Counts distinct chats per state, per last state, in all, and among the confirmed states."""
        period = (flow_id, _aware(since, "since"), _aware(until, "until"))
        confirmed = sorted(set(confirmed_states))
        connection: Connection
        async with self._connection() as connection:
            cursors: list[AsyncCursor[TupleRow]] = []
            async with connection.pipeline():
                for sql, params in (
                    (_REACHED, period),
                    (_LAST_STATES, period),
                    (_STARTED, period),
                    (_CONFIRMED, (*period, confirmed)),
                ):
                    cursors.append(await connection.cursor().execute(sql, params))
            reached, last, started, done = [await cursor.fetchall() for cursor in cursors]
        last_states: dict[str, int] = dict(last)
        states = tuple(
            StateCount(state=state, reached=chats, dropped_off=last_states.get(state, 0))
            for state, chats in sorted(reached, key=lambda row: (-row[1], row[0]))
        )
        return FunnelStats(
            flow_id=flow_id,
            since=since,
            until=until,
            started=started[0][0],
            confirmed=done[0][0],
            states=states,
        )

    async def journeys(self, flow_id: str, since: datetime, until: datetime, variable: str) -> list[Journey]:
        """Returns each conversation's states entered in the period, with ``variable``'s value now."""
        params = (variable, flow_id, _aware(since, "since"), _aware(until, "until"))
        rows = await self._fetchall(_JOURNEYS, params)
        return journeys_from((chat, state, _utc(at), value) for chat, state, at, value in rows)

    # -- tickets: people's questions to the operators -------------------------------------------------

    async def open_ticket(self, chat_id: int, language: str, now: datetime) -> Ticket:
        """Returns the chat's open ticket, opening one if it has none."""
        # Two statements: the second sees a ticket another instance opened after the first began.
        try:
            await self._rowcount(_OPEN_TICKET, (chat_id, language, _aware(now, "now")))
        except errors.ForeignKeyViolation as exc:
            raise StoreError(f"chat {chat_id} has no conversation to open a ticket for") from exc
        ticket = await self.open_ticket_of(chat_id)
        if ticket is None:
            raise StoreError(f"chat {chat_id} has no conversation to open a ticket for")
        return ticket

    async def open_ticket_of(self, chat_id: int) -> Ticket | None:
        """Returns the chat's open ticket, if any."""
        row = await self._fetchone(f"{_TICKETS} WHERE chat_id = %s AND closed_at IS NULL", (chat_id,))
        return None if row is None else _ticket(row)

    async def ticket_for_reply(self, support_message_id: int) -> Ticket | None:
        """Returns the open ticket whose post, or a question relayed for it, is this support chat message."""
        params = (support_message_id, Relay.QUESTION.value, support_message_id)
        row = await self._fetchone(_TICKET_FOR_REPLY, params)
        return None if row is None else _ticket(row)

    async def ticket_in_topic(self, topic_id: int) -> Ticket | None:
        """Returns the open ticket whose forum topic this is."""
        row = await self._fetchone(f"{_TICKETS} WHERE topic_id = %s AND closed_at IS NULL", (topic_id,))
        return None if row is None else _ticket(row)

    async def record_topic(self, ticket_id: int, topic_id: int) -> None:
        """Records the forum topic opened for the ticket."""
        await self._rowcount("UPDATE tickets SET topic_id = %s WHERE id = %s", (topic_id, ticket_id))

    async def relay(
        self, ticket_id: int, direction: Relay, source_message_id: int, now: datetime, text: str | None = None
    ) -> bool:
        """Records a message to relay (with its text while it waits); False if it was recorded before."""
        at = _aware(now, "now")
        params = (ticket_id, direction.value, source_message_id, at, text)
        connection: Connection
        async with self._connection() as connection, connection.transaction():
            cursor = await connection.execute(_RELAY, params)
            if cursor.rowcount == 0:
                return False
            if direction is Relay.ANSWER:
                await connection.execute(_ANSWERED, (at, ticket_id))
            return True

    async def pending_questions(self, limit: int) -> list[PendingQuestion]:
        """Returns questions recorded and not yet posted, oldest first."""
        rows = await self._fetchall(_PENDING_QUESTIONS, (limit,))
        return [
            PendingQuestion(_ticket(tuple(row)), source, text, _utc(at)) for *row, source, text, at in rows
        ]

    async def relayed(
        self, ticket_id: int, direction: Relay, source_message_id: int, copy_id: int | None
    ) -> None:
        """Records the relayed copy's id and forgets the text; a question's first copy is the ticket's post."""
        connection: Connection
        async with self._connection() as connection, connection.transaction():
            await connection.execute(_RELAYED, (copy_id, ticket_id, direction.value, source_message_id))
            if direction is Relay.QUESTION and copy_id is not None:
                await connection.execute(_FIRST_POST, (copy_id, ticket_id))

    async def close_ticket(self, ticket_id: int, now: datetime, notice: Notice | None = None) -> bool:
        """Closes the ticket; False if it was closed already. The notice is recorded with the closing."""
        sql = "UPDATE tickets SET closed_at = %s WHERE id = %s AND closed_at IS NULL"
        if notice is None:
            return await self._rowcount(sql, (_aware(now, "now"), ticket_id)) == 1
        connection: Connection
        async with self._connection() as connection, connection.transaction():
            closed = await connection.execute(sql, (_aware(now, "now"), ticket_id))
            if closed.rowcount == 0:
                return False
            await connection.execute(_OWE_NOTICE, (notice.value, ticket_id))
            return True

    async def pending_notices(self, limit: int) -> list[SupportNotice]:
        """Returns the lines owed to the support chat, oldest first."""
        sql = "SELECT id, ticket_id, kind, topic_id FROM support_notices ORDER BY id LIMIT %s"
        rows = await self._fetchall(sql, (limit,))
        return [SupportNotice(row_id, ticket, Notice(kind), topic) for row_id, ticket, kind, topic in rows]

    async def notice_said(self, notice_id: int) -> None:
        """Forgets a line once said in the support chat."""
        await self._rowcount("DELETE FROM support_notices WHERE id = %s", (notice_id,))

    async def open_tickets(self) -> list[Ticket]:
        """Returns every open ticket, oldest first."""
        rows = await self._fetchall(f"{_TICKETS} WHERE closed_at IS NULL ORDER BY opened_at, id")
        return [_ticket(row) for row in rows]

    async def ticket_counts(self, since: datetime, until: datetime) -> TicketCounts:
        """Counts the tickets opened in ``[since, until)``: all, answered, closed."""
        row = await self._fetchone(_TICKET_COUNTS, (_aware(since, "since"), _aware(until, "until")))
        assert row is not None  # an aggregate without GROUP BY always has its one row
        return TicketCounts(*(int(count) for count in row))

    async def count_conversations(self) -> int:
        """Returns how many chats have a conversation stored."""
        row = await self._fetchone("SELECT count(*) FROM chats WHERE conversation IS NOT NULL")
        return 0 if row is None else int(row[0])

    async def standings(self) -> list[Standing]:
        """Counts unfinished conversations by flow version and state, and their reminders by name."""
        chats = await self._fetchall(_STANDINGS)
        pending: dict[tuple[str, str, str], dict[str, int]] = {}
        for flow_id, version, state, name, number in await self._fetchall(_STANDING_REMINDERS):
            pending.setdefault((flow_id, version, state), {})[name] = number
        return [
            Standing(
                flow_id, version, state, number, MappingProxyType(pending.get((flow_id, version, state), {}))
            )
            for flow_id, version, state, number in chats
        ]

    async def inbox_add(self, updates: Sequence[InboxUpdate], now: datetime) -> None:
        """Keeps a batch of fetched updates in one statement; an id already kept stays as it is."""
        if not updates:
            return
        await self._rowcount(
            _INBOX_ADD,
            (
                _aware(now, "now"),
                [update.update_id for update in updates],
                [Jsonb(dict(update.payload)) for update in updates],
            ),
        )

    async def inbox_pending(self, limit: int, after_update_id: int | None = None) -> list[InboxUpdate]:
        """Returns kept updates (above ``after_update_id``), oldest id first."""
        after = -1 if after_update_id is None else after_update_id
        rows = await self._fetchall(
            "SELECT update_id, payload FROM inbox WHERE update_id > %s ORDER BY update_id LIMIT %s",
            (after, limit),
        )
        return [InboxUpdate(update_id, frozen_payload(payload)) for update_id, payload in rows]

    async def inbox_remove(self, update_ids: Collection[int]) -> None:
        """Forgets the kept updates of these ids."""
        if update_ids:
            await self._rowcount("DELETE FROM inbox WHERE update_id = ANY(%b::bigint[])", (list(update_ids),))

    async def claim_due_reminders(self, now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
        """Claims due reminders nobody holds, skipping rows another instance is claiming right now."""
        rows = await self._fetchall(
            _CLAIM_REMINDERS, {"now": _aware(now, "now"), "limit": limit, "lease": lease}
        )
        return sorted((_reminder(row) for row in rows), key=lambda reminder: (reminder.due_at, reminder.id))

    async def claim_outbox(
        self, chat_id: int, holder: str, now: datetime, lease: timedelta
    ) -> list[OutboxMessage] | None:
        """Claims the chat's outbox and reads its pending messages, in one statement."""
        params = {"chat_id": chat_id, "holder": holder, "now": _aware(now, "now"), "lease": lease}
        rows = await self._fetchall(_CLAIM_OUTBOX, params)
        if not rows:
            return None
        return [
            OutboxMessage(message_id, chat_id, frozen_payload(payload))
            for message_id, payload in rows
            if message_id is not None
        ]

    async def release_outbox(self, chat_id: int, holder: str, *, unless_pending: bool) -> bool:
        """Gives up the claim, unless (when asked) a message is pending; one statement on the chat's row.

        A commit of the chat updates the same row, so a release either sees the messages of a commit
        that ran before it or lets that commit's process claim the outbox right after (bot/store/base.py).
        """
        params = {"chat_id": chat_id, "holder": holder, "unless_pending": unless_pending}
        row = await self._fetchone(_RELEASE_OUTBOX, params)
        return row is None or bool(row[0])

    async def acquire_lease(self, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
        """Takes or renews the lease, unless another holder's lease still runs."""
        params = {"name": name, "holder": holder, "now": _aware(now, "now"), "lease": lease}
        return await self._fetchone(_ACQUIRE_LEASE, params) is not None

    async def release_lease(self, name: str, holder: str) -> None:
        """Gives up ``holder``'s lease of ``name``."""
        await self._rowcount("DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder))

    async def reserve_send_slot(self, interval: timedelta, pause: timedelta = timedelta(0)) -> timedelta:
        """Reserves the next moment to send by the server's clock, one row shared by every instance."""
        row = await self._fetchone(_RESERVE_SLOT, {"interval": interval, "pause": pause})
        return timedelta(0) if row is None else max(row[0], timedelta(0))

    async def publish_release(self, release: FlowRelease, now: datetime, *, again: bool) -> ReleaseHead:
        """Publishes the release unless it is current (or, without ``again``, was ever), in one transaction
        under the publishing lock."""
        connection: Connection
        async with self._connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (RELEASE_LOCK,))
            row = await (await connection.execute(_RELEASE_HEAD)).fetchone()
            current = None if row is None else ReleaseHead(*row)
            seen = await (await connection.execute(_RELEASE_SEEN, (release.digest,))).fetchone()
            if current is not None and not publishes(
                current, release.digest, again=again, seen=seen is not None
            ):
                return current
            values = {
                "flow_id": release.flow_id,
                "version": release.version,
                "digest": release.digest,
                "files": json.dumps(dict(release.files), ensure_ascii=False),
                "meanings": release.meanings,
                "at": _aware(now, "now"),
                "kept": KEPT_RELEASES,
            }
            published = await (await connection.execute(_PUBLISH, values)).fetchone()
            if published is None:
                raise StoreError("the release was not published")
            return ReleaseHead(published[0], release.flow_id, release.version, release.digest)

    async def release_head(self) -> ReleaseHead | None:
        """Returns the current release's head."""
        row = await self._fetchone(_RELEASE_HEAD)
        return None if row is None else ReleaseHead(*row)

    async def current_release(self) -> FlowRelease | None:
        """Returns the current release with its files and meanings."""
        row = await self._fetchone(_CURRENT_RELEASE)
        if row is None:
            return None
        number, flow_id, version, digest, files, meanings = row
        if files is None:
            raise StoreError(f"release {number} is current but its files were forgotten")
        return FlowRelease(flow_id, version, digest, MappingProxyType(json.loads(files)), meanings, number)

    async def flow_history(self, flow_id: str) -> dict[str, str]:
        """Returns the kept meanings of the flow's versions, by version."""
        return dict(await self._fetchall(_FLOW_HISTORY, (flow_id,)))

    async def record_meanings(self, flow_id: str, version: str, meanings: str, served_at: datetime) -> None:
        """Keeps a version's meanings unless kept already."""
        await self._rowcount(_RECORD_MEANINGS, (flow_id, version, meanings, _aware(served_at, "served_at")))


def _checked_document(commit: Commit, now: datetime, **extra: object) -> Jsonb:
    """Returns the commit as the one parameter of ``esim_commit``, its moments checked first."""
    require_aware(now, "the commit's moment")
    for reminder in commit.schedule:
        require_aware(reminder.due_at, "a reminder's due time")
    return Jsonb(_commit_document(commit, now) | extra)


@contextlib.contextmanager
def _commit_errors(commit: Commit) -> Iterator[None]:
    """Turns the server's refusals of a commit into the store's errors (bot/store/errors.py)."""
    try:
        yield
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "processed_updates_pkey" and commit.update_id is not None:
            raise DuplicateUpdate(commit.update_id) from exc
        raise
    except psycopg.Error as exc:
        if exc.sqlstate != REQUIREMENT_FAILED:
            raise
        if exc.diag.message_primary == "chat changed":
            raise ChatChanged(commit.chat_id) from exc
        if exc.diag.message_primary == "reminder gone" and commit.consumed_reminder_id is not None:
            raise ReminderGone(commit.consumed_reminder_id) from exc
        raise


def _commit_document(commit: Commit, now: datetime) -> dict[str, object]:
    """Returns the JSON document ``esim_commit`` applies: only the steps ``commit`` takes."""
    document: dict[str, object] = {
        "chat_id": commit.chat_id,
        "now": now.isoformat(),
        "chat": written(commit, now, _to_json),
    }
    optional = {"update_id": commit.update_id, "expected": commit.expected_version}
    optional["consumed"] = commit.consumed_reminder_id
    document |= {name: value for name, value in optional.items() if value is not None}
    if commit.cancel_reminders is None:
        document["cancel_all"] = True
    elif commit.cancel_reminders:
        document["cancel"] = sorted(commit.cancel_reminders)
    if commit.schedule:
        document["schedule"] = [
            {"name": r.name, "due_at": r.due_at.isoformat(), "sequence": r.sequence} for r in commit.schedule
        ]
    if commit.events:
        document["events"] = [
            {"flow_id": e.flow_id, "flow_version": e.flow_version, "state": e.state, "at": e.at.isoformat()}
            for e in commit.events
        ]
    if commit.outbox:
        document["outbox"] = [dict(payload) for payload in commit.outbox]
    return document


def _to_json(kind: Kind, value: object) -> object:
    """Returns a chat column's value as ``esim_commit`` reads it from JSON (moments and times as ISO text)."""
    if value is None or kind in (Kind.PLAIN, Kind.FLAG):
        return value
    if kind is Kind.CONVERSATION:
        return conversation_data(as_conversation(value))
    if isinstance(value, datetime | time):
        return value.isoformat()
    raise TypeError(f"a chat column of kind {kind.value} cannot hold {value!r}")


_TO_POSTGRES: dict[Kind, Callable[[object], object]] = {
    Kind.CONVERSATION: lambda value: Jsonb(conversation_data(as_conversation(value))),
    Kind.DOCUMENT: lambda value: Jsonb(dict(as_document(value))),
}
_FROM_POSTGRES: dict[Kind, Callable[[object], object]] = {
    Kind.MOMENT: lambda raw: raw.astimezone(UTC) if isinstance(raw, datetime) else raw,
    Kind.CONVERSATION: lambda raw: stored_conversation(as_document(raw)),
    Kind.DOCUMENT: lambda raw: frozen_payload(as_document(raw)),
}


def to_postgres(kind: Kind, value: object) -> object:
    """Returns a value as a PostgreSQL parameter: psycopg adapts all but JSON itself (None stays None)."""
    convert = _TO_POSTGRES.get(kind)
    return value if value is None or convert is None else convert(value)


def from_postgres(kind: Kind, raw: object) -> object:
    """Returns a value PostgreSQL kept, as Python sees it: moments in UTC (None stays None)."""
    convert = _FROM_POSTGRES.get(kind)
    return raw if raw is None or convert is None else convert(raw)


def _reminder(row: tuple[Any, ...]) -> Reminder:
    reminder_id, chat_id, name, due_at, sequence, attempts = row
    return Reminder(reminder_id, chat_id, name, _utc(due_at), sequence, attempts)


async def migrate(
    connection: Connection, migrations: Sequence[Migration] = POSTGRES_MIGRATIONS, target: int | None = None
) -> int:
    """Applies the migrations the database lacks, up to ``target`` (default: all); returns its version.

    Each step runs in its own transaction under an advisory lock, with the version bump: instances
    starting together upgrade one after the other, the later ones finding the work done, and a crash
    mid-upgrade leaves the database at the last complete step.
    """
    latest = migrations[-1].version if migrations else 0
    goal = latest if target is None else target
    try:
        current = await _locked_version(connection)
        if current > latest:
            raise SchemaError(f"the database is at schema version {current}, newer than this bot's {latest}")
        for step in migrations:
            if step.version > goal:
                break
            async with connection.transaction():
                current = await _locked_version(connection)
                if current >= step.version:
                    continue
                if current != step.version - 1:
                    raise SchemaError(f"cannot apply schema step {step.version} to version {current}")
                for statement in step.statements:
                    await connection.execute(statement)
                await connection.execute("UPDATE schema_version SET version = %s", (step.version,))
    except psycopg.Error as exc:
        raise SchemaError(f"the schema could not be brought up to date: {exc}") from exc
    return await _locked_version(connection)


async def _locked_version(connection: Connection) -> int:
    """Returns the schema version, creating its table first, under the migration lock."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL CHECK (version >= 0))"
        )
        await connection.execute(
            "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT FROM schema_version)"
        )
        cursor = await connection.execute("SELECT version FROM schema_version")
        row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


_LOCK_CHAT = "SELECT pg_advisory_xact_lock(%s)"
_RELEASE_HEAD = "SELECT number, flow_id, version, digest FROM flow_releases ORDER BY number DESC LIMIT 1"
_RELEASE_SEEN = "SELECT FROM flow_releases WHERE digest = %s LIMIT 1"
# One statement: the release, its meanings, and what is forgotten beyond the kept ones.
_PUBLISH = """
    WITH published AS (
        INSERT INTO flow_releases (flow_id, version, digest, files, published_at)
        VALUES (%(flow_id)s, %(version)s, %(digest)s, %(files)s, %(at)s)
        RETURNING number
    ), meanings AS (
        INSERT INTO flow_versions (flow_id, version, meanings, served_at)
        VALUES (%(flow_id)s, %(version)s, %(meanings)s, %(at)s)
        ON CONFLICT (flow_id, version) DO UPDATE SET served_at = excluded.served_at
    ), old_files AS (
        UPDATE flow_releases SET files = NULL
        WHERE files IS NOT NULL AND number <= (SELECT number FROM published) - %(kept)s
    ), old_meanings AS (
        DELETE FROM flow_versions WHERE flow_id = %(flow_id)s AND version <> %(version)s AND version NOT IN (
            SELECT version FROM flow_versions WHERE flow_id = %(flow_id)s
            ORDER BY served_at DESC LIMIT %(kept)s - 1)
    )
    SELECT number FROM published
"""
_RECORD_MEANINGS = """
    INSERT INTO flow_versions (flow_id, version, meanings, served_at) VALUES (%s, %s, %s, %s)
    ON CONFLICT (flow_id, version) DO NOTHING
"""
_CURRENT_RELEASE = """
    SELECT r.number, r.flow_id, r.version, r.digest, r.files, coalesce(v.meanings, '')
    FROM flow_releases r LEFT JOIN flow_versions v ON v.flow_id = r.flow_id AND v.version = r.version
    ORDER BY r.number DESC LIMIT 1
"""
_FLOW_HISTORY = "SELECT version, meanings FROM flow_versions WHERE flow_id = %s ORDER BY served_at"
# Arrays in binary (%b): a JSON text in a text array has each of its quotes escaped, one regular-expression
# replacement per quote in psycopg (about 53 per update at saturation in `bench.profiling --postgres`).
_INBOX_ADD = """
    INSERT INTO inbox (update_id, payload, received_at)
    SELECT update_id, payload, %s FROM unnest(%b::bigint[], %b::jsonb[]) AS kept (update_id, payload)
    ON CONFLICT (update_id) DO NOTHING
"""
_POSITION = "c.conversation->>'flow_id', c.conversation->>'flow_version', c.conversation->>'state'"
_UNFINISHED = "c.conversation IS NOT NULL AND NOT coalesce((c.conversation->>'finished')::boolean, FALSE)"
_STANDINGS = f"""
    SELECT {_POSITION}, count(*) FROM chats c WHERE {_UNFINISHED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
_STANDING_REMINDERS = f"""
    SELECT {_POSITION}, r.name, count(*) FROM reminders r JOIN chats c ON c.chat_id = r.chat_id
    WHERE {_UNFINISHED} GROUP BY 1, 2, 3, 4
"""
_LOAD_CHAT = load_sql("%s")
_COMMIT = "SELECT message_id, message FROM esim_commit(%s)"
_COMMIT_AND_CLAIM = "SELECT message_id, message, queued, claimed FROM esim_commit_and_claim(%s)"
_RECORD_DELIVERY = """
    WITH sent AS (DELETE FROM outbox WHERE id = %s)
    UPDATE chats SET
        screen_message_id = coalesce(%s, screen_message_id),
        reminder_message_id = coalesce(%s, reminder_message_id),
        version = version + 1
    WHERE chat_id = %s
"""
_ANONYMISE_EVENTS = """
    UPDATE flow_events SET chat_id = surrogate.id
    FROM unnest(%s::bigint[], %s::bigint[]) AS surrogate (chat_id, id)
    WHERE flow_events.chat_id = surrogate.chat_id
"""
_PENDING_OUTBOX = "SELECT id, chat_id, payload FROM outbox ORDER BY id LIMIT %s"
_PENDING_OUTBOX_OF_CHAT = "SELECT id, chat_id, payload FROM outbox WHERE chat_id = %s ORDER BY id LIMIT %s"
_SENDABLE = "chats.chat_id = reminders.chat_id AND NOT chats.reminders_stopped AND NOT chats.blocked"
# A reminder another instance holds falls due again when its claim lapses (greatest ignores NULL).
_NEXT_DUE = f"""
    SELECT greatest(reminders.due_at, reminders.claimed_until) AS at FROM reminders JOIN chats ON {_SENDABLE}
    ORDER BY at, reminders.id LIMIT 1
"""
# SKIP LOCKED: two instances claiming at once take different reminders instead of waiting for each other.
_CLAIM_REMINDERS = f"""
    UPDATE reminders SET claimed_until = %(now)s + %(lease)s
    WHERE id IN (
        SELECT reminders.id FROM reminders JOIN chats ON {_SENDABLE}
        WHERE reminders.due_at <= %(now)s
          AND (reminders.claimed_until IS NULL OR reminders.claimed_until <= %(now)s)
        ORDER BY reminders.due_at, reminders.id LIMIT %(limit)s
        FOR UPDATE OF reminders SKIP LOCKED
    )
    RETURNING id, chat_id, name, due_at, sequence, attempts
"""
# One row per claimed chat at least (a NULL message when nothing is pending); no row: not claimed.
_CLAIM_OUTBOX = """
    WITH claimed AS (
        UPDATE chats SET outbox_holder = %(holder)s, outbox_lease_until = %(now)s + %(lease)s
        WHERE chat_id = %(chat_id)s
          AND (outbox_holder IS NULL OR outbox_holder = %(holder)s OR outbox_lease_until <= %(now)s)
        RETURNING chat_id
    )
    SELECT outbox.id, outbox.payload FROM claimed LEFT JOIN outbox ON outbox.chat_id = claimed.chat_id
    ORDER BY outbox.id
"""
# Rows of the chat's pending messages besides the one delivered, under this holder's renewed claim; one row with
# a NULL holder when the claim was given up (nothing pending); another holder: the claim runs elsewhere; no row:
# the chat is gone. The snapshot does not see the DELETE of the same statement, hence "id <> the delivered one".
_RECORD_DELIVERY_AND_CLAIM = """
    WITH sent AS (
        DELETE FROM outbox WHERE id = %(outbox_id)s
    ), pending AS (
        SELECT EXISTS (SELECT FROM outbox WHERE chat_id = %(chat_id)s AND id <> %(outbox_id)s) AS any
    ), claimed AS (
        UPDATE chats SET
            screen_message_id = coalesce(%(screen)s, screen_message_id),
            reminder_message_id = coalesce(%(reminder)s, reminder_message_id),
            version = version + CASE WHEN %(screen)s::bigint IS NULL AND %(reminder)s::bigint IS NULL
                THEN 0 ELSE 1 END,
            outbox_holder = CASE
                WHEN NOT (outbox_holder IS NULL OR outbox_holder = %(holder)s OR outbox_lease_until <= %(now)s)
                    THEN outbox_holder
                WHEN pending.any THEN %(holder)s END,
            outbox_lease_until = CASE
                WHEN NOT (outbox_holder IS NULL OR outbox_holder = %(holder)s OR outbox_lease_until <= %(now)s)
                    THEN outbox_lease_until
                WHEN pending.any THEN %(now)s + %(lease)s END
        FROM pending WHERE chat_id = %(chat_id)s
        RETURNING chats.chat_id, chats.outbox_holder
    )
    SELECT claimed.outbox_holder, outbox.id, outbox.payload FROM claimed
    LEFT JOIN outbox ON claimed.outbox_holder = %(holder)s AND outbox.chat_id = claimed.chat_id
        AND outbox.id <> %(outbox_id)s
    ORDER BY outbox.id
"""
# No row: the claim is not (or no longer) this holder's; otherwise whether it was given up.
_RELEASE_OUTBOX = """
    UPDATE chats SET
        outbox_holder = CASE WHEN released.ok THEN NULL ELSE outbox_holder END,
        outbox_lease_until = CASE WHEN released.ok THEN NULL ELSE outbox_lease_until END
    FROM (SELECT NOT (%(unless_pending)s AND EXISTS (
        SELECT FROM outbox WHERE outbox.chat_id = %(chat_id)s)) AS ok) AS released
    WHERE chat_id = %(chat_id)s AND outbox_holder = %(holder)s
    RETURNING released.ok
"""
_ACQUIRE_LEASE = """
    INSERT INTO leases (name, holder, until) VALUES (%(name)s, %(holder)s, %(now)s + %(lease)s)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
    WHERE leases.holder = excluded.holder OR leases.until <= %(now)s
    RETURNING holder
"""
# The server's clock, so that instances on hosts whose clocks disagree still space their messages.
_RESERVE_SLOT = """
    INSERT INTO send_budget AS budget (name, next_slot)
    VALUES ('telegram', clock_timestamp() + %(pause)s + %(interval)s)
    ON CONFLICT (name) DO UPDATE SET
        next_slot = greatest(budget.next_slot, clock_timestamp() + %(pause)s) + %(interval)s
    RETURNING budget.next_slot - %(interval)s - clock_timestamp()
"""
_DUE_REMINDERS = f"""
    SELECT reminders.id, reminders.chat_id, name, due_at, sequence, attempts
    FROM reminders JOIN chats ON {_SENDABLE}
    WHERE reminders.due_at <= %s
    ORDER BY reminders.due_at, reminders.id LIMIT %s
"""
_REMINDERS_OF = """
    SELECT id, chat_id, name, due_at, sequence, attempts FROM reminders
    WHERE chat_id = %s ORDER BY due_at, id
"""
_POSTPONE = "UPDATE reminders SET due_at = %s, attempts = attempts + 1, claimed_until = NULL WHERE id = %s"
_PERIOD = "flow_id = %s AND at >= %s AND at < %s"
_REACHED = f"SELECT state, count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD} GROUP BY state"
_LAST_STATES = f"""
    SELECT state, count(*) FROM (
        SELECT state, row_number() OVER (PARTITION BY chat_id ORDER BY at DESC, id DESC) AS recency
        FROM flow_events WHERE {_PERIOD}
    ) AS latest WHERE recency = 1 GROUP BY state
"""
_STARTED = f"SELECT count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD}"
_TICKETS = "SELECT id, chat_id, language, opened_at, support_message_id, topic_id, answered_at, closed_at FROM tickets"
_OPEN_TICKET = """
    INSERT INTO tickets (chat_id, language, opened_at) VALUES (%s, %s, %s)
    ON CONFLICT (chat_id) WHERE closed_at IS NULL DO NOTHING
"""
_TICKET_FOR_REPLY = f"""
    {_TICKETS} WHERE closed_at IS NULL AND (support_message_id = %s OR id IN (
        SELECT ticket_id FROM ticket_messages WHERE direction = %s AND copy_id = %s
    ))
"""
_RELAY = """
    INSERT INTO ticket_messages (ticket_id, direction, source_message_id, at, text) VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
"""
_PENDING_QUESTIONS = """
    SELECT t.id, t.chat_id, t.language, t.opened_at, t.support_message_id, t.topic_id, t.answered_at,
           t.closed_at, m.source_message_id, m.text, m.at
    FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
    WHERE m.text IS NOT NULL ORDER BY m.at, m.ticket_id, m.source_message_id LIMIT %s
"""
_OWE_NOTICE = """
    INSERT INTO support_notices (ticket_id, kind, topic_id) SELECT id, %s, topic_id FROM tickets WHERE id = %s
    ON CONFLICT DO NOTHING
"""
_OWE_FORGOTTEN = """
    INSERT INTO support_notices (ticket_id, kind, topic_id)
    SELECT id, %s, topic_id FROM tickets WHERE chat_id = %s AND closed_at IS NULL
    ON CONFLICT DO NOTHING
"""
_RELAYED = """
    UPDATE ticket_messages SET copy_id = %s, text = NULL
    WHERE ticket_id = %s AND direction = %s AND source_message_id = %s
"""
_FIRST_POST = "UPDATE tickets SET support_message_id = coalesce(support_message_id, %s) WHERE id = %s"
_ANSWERED = "UPDATE tickets SET answered_at = coalesce(answered_at, %s) WHERE id = %s"
_TICKET_COUNTS = """
    SELECT count(*), count(answered_at), count(closed_at) FROM tickets WHERE opened_at >= %s AND opened_at < %s
"""
_JOURNEYS = """
    SELECT e.chat_id, e.state, e.at, c.conversation -> 'variables' ->> %s
    FROM flow_events e LEFT JOIN chats c ON c.chat_id = e.chat_id
    WHERE e.flow_id = %s AND e.at >= %s AND e.at < %s ORDER BY e.chat_id, e.at, e.id
"""
_CONFIRMED = f"SELECT count(DISTINCT chat_id) FROM flow_events WHERE {_PERIOD} AND state = ANY(%s::text[])"
