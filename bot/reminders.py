"""Sends reminders when they fall due: the store is the schedule, so nothing is lost across restarts.

The scheduler sleeps until the store's earliest due reminder, or until :meth:`ReminderScheduler.notify`
tells it of a nearer one. Due reminders are read in bounded batches and handed to a callback at a pace
Telegram accepts, so a backlog that built up while the bot was down goes out once, spread out.

The callback owns the outcome: it commits with ``Commit.consumed_reminder_id`` (deleting or rescheduling
the reminder in the same transaction as the message) and then sends. If it raises, the reminder is
postponed with a growing delay, never into the chat's quiet hours.

The store is the schedule: a batch of due reminders is claimed there for a lease
(``ReminderQueue.claim_due_reminders``), so schedulers of several processes share a backlog instead of racing
for it, and a reminder claimed by a process that died is claimed again once the lease lapses. Consuming
stays the final word. What the scheduler keeps in memory is only a cache that spares work: reminders in
flight, and ones held back when even their postponement failed. A restarted
scheduler, or a second one on the same database, starts without them and still hands each reminder
over once (tests/reminders/test_reminder_scheduler.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.store import ChatStore, Reminder, ReminderGone, ReminderQueue

__all__ = ["CLAIM_LEASE", "FireReminder", "Pacing", "ReminderScheduler", "RetryPolicy"]

logger = logging.getLogger(__name__)

FireReminder = Callable[[Reminder], Awaitable[None]]

CLAIM_LEASE = timedelta(minutes=2)
"""How long a claimed reminder is left to its scheduler before any may claim it (its process died)."""


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast reminders may go out; Telegram allows about 30 messages a second, 1 per second per chat."""

    messages_per_second: float = 25.0
    per_chat_interval: timedelta = timedelta(seconds=1)

    def __post_init__(self) -> None:
        if self.messages_per_second <= 0:
            raise ValueError("messages_per_second must be positive")

    @property
    def interval(self) -> timedelta:
        """Returns the gap between any two reminders."""
        return timedelta(seconds=1 / self.messages_per_second)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a reminder whose callback failed waits before the next try: doubling, up to a ceiling."""

    first_delay: timedelta = timedelta(minutes=1)
    longest_delay: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        """Returns the wait after ``attempts`` earlier failures."""
        # The exponent is capped so that timedelta never overflows on an old, much-failed reminder.
        return min(self.first_delay * (1 << min(attempts, 32)), self.longest_delay)


class Schedule(ReminderQueue, ChatStore, Protocol):
    """What the scheduler reads and changes: the reminders, and a chat's settings (its quiet hours)."""


class ReminderScheduler:
    """One task that hands each due reminder to ``fire`` once, paced, and sleeps in between."""

    def __init__(
        self,
        store: Schedule,
        fire: FireReminder,
        *,
        clock: Clock,
        batch_size: int = 100,
        max_in_flight: int = 32,
        pacing: Pacing = Pacing(),
        retry: RetryPolicy = RetryPolicy(),
        error_pause: timedelta = timedelta(seconds=30),
        claim_lease: timedelta = CLAIM_LEASE,
    ) -> None:
        if batch_size < 1 or max_in_flight < 1:
            raise ValueError("batch_size and max_in_flight must be at least 1")
        self._store = store
        self._fire_callback = fire
        self._clock = clock
        self._batch_size = batch_size
        self._max_in_flight = max_in_flight
        self._pacing = pacing
        self._retry = retry
        self._error_pause = error_pause
        self._claim_lease = claim_lease
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._sleeping_until: datetime | None = None
        self._sleeping = False
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        # Reminders whose postponement could not be stored, kept back in memory until this moment.
        self._held: dict[int, datetime] = {}
        # Counts finished callbacks, so the loop notices one that finished while it was reading the store.
        self._finished = 0
        self._finished_before_read = 0
        self._next_turn: datetime | None = None
        self._next_turn_in_chat: dict[int, datetime] = {}

    async def start(self) -> None:
        """Starts the scheduling task; reminders that fell due while the bot was down go out first."""
        if self._task is not None:
            raise RuntimeError("the reminder scheduler is already started")
        self._task = asyncio.create_task(self._run(), name="reminder-scheduler")

    def notify(self, due_at: datetime) -> None:
        """Tells the scheduler a reminder was committed for ``due_at``; wakes it if that is sooner."""
        if not self._sleeping or self._sleeping_until is None or due_at < self._sleeping_until:
            self._wake.set()

    async def stop(self, grace: timedelta = timedelta(seconds=10)) -> None:
        """Stops scheduling, lets reminders being sent finish for up to ``grace``, then cancels them."""
        self._stopped.set()
        # A sleep ends by itself and the loop sees it is stopped, even if the cancel is lost (_sleep_until_next).
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: a cancelled scheduler was seen never to finish on PostgreSQL (CI hung in this await).
            _, unfinished = await asyncio.wait({task}, timeout=grace.total_seconds())
            if unfinished:
                logger.warning("the reminder scheduler did not stop within %s; going on", grace)
        if not self._in_flight:
            return
        _, late = await asyncio.wait(self._in_flight.values(), timeout=grace.total_seconds())
        for straggler in late:
            straggler.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                if not await self._dispatch_due():
                    await self._sleep_until_next()
            except Exception:
                logger.error("the reminder scheduler failed; trying again shortly", exc_info=True)
                await self._clock.sleep_until(self._clock.now() + self._error_pause, self._stopped)

    async def _dispatch_due(self) -> bool:
        """Hands one batch of due reminders to the callback; returns whether there was any."""
        now = self._clock.now()
        self._held = {rid: until for rid, until in self._held.items() if until > now}
        self._next_turn_in_chat = {chat: at for chat, at in self._next_turn_in_chat.items() if at > now}
        self._finished_before_read = self._finished
        busy = self._in_flight.keys() | self._held.keys()
        # Reminders in flight are claimed already; only one held back in memory can come back here.
        batch = await self._store.claim_due_reminders(now, self._batch_size, self._claim_lease)
        fresh = [reminder for reminder in batch if reminder.id not in busy]
        for reminder in fresh:
            if self._stopped.is_set():
                break  # stopped meanwhile (see _sleep_until_next): its claim lapses and another instance sends it
            # Capacity first: a turn is taken only when the reminder can go out at that very moment.
            await self._wait_for_capacity()
            await self._wait_for_turn(reminder.chat_id)
            self._in_flight[reminder.id] = asyncio.create_task(
                self._fire(reminder), name=f"reminder-{reminder.id}"
            )
        return bool(fresh)

    async def _sleep_until_next(self) -> None:
        # Cleared before reading the store, so a notify() after the read still wakes the sleep below.
        self._wake.clear()
        if self._stopped.is_set():
            # stop() cancels this task, but a cancellation can be lost in a store call: on Python 3.11,
            # asyncio.wait_for (psycopg_pool's wait for a free connection) returns normally when cancelled
            # just as its wait ends. The clear above would then erase stop()'s wake-up, and the loop sleep on.
            return
        if self._finished != self._finished_before_read:
            return  # a reminder skipped as in flight may be due again: read once more before sleeping
        next_due = await self._store.next_due_at()
        now = self._clock.now()
        if next_due is not None and next_due <= now:
            if not self._in_flight and not self._held:
                return  # it fell due after the last read: dispatch it now rather than sleep past it
            # Everything due is being sent or held back; a finishing callback sets the wake event.
            next_due = None
        until = min(
            (moment for moment in (next_due, *self._held.values()) if moment is not None), default=None
        )
        self._sleeping_until, self._sleeping = until, True
        try:
            await self._clock.sleep_until(until, self._wake)
        finally:
            self._sleeping = False

    async def _wait_for_turn(self, chat_id: int) -> None:
        """Sleeps until this chat, and Telegram's overall limit, allow another message."""
        now = self._clock.now()
        turn = max(now, self._next_turn or now, self._next_turn_in_chat.get(chat_id, now))
        if turn > now:
            await self._clock.sleep_until(turn, self._stopped)
        self._next_turn = turn + self._pacing.interval
        self._next_turn_in_chat[chat_id] = turn + self._pacing.per_chat_interval

    async def _wait_for_capacity(self) -> None:
        while len(self._in_flight) >= self._max_in_flight:
            await asyncio.wait(self._in_flight.values(), return_when=asyncio.FIRST_COMPLETED)

    async def _fire(self, reminder: Reminder) -> None:
        failed = gone = False
        try:
            await self._fire_callback(reminder)
        except ReminderGone:
            logger.debug("reminder %d was cancelled while it was being sent", reminder.id)
            gone = True
        except Exception:
            logger.error(
                "sending reminder %d to chat %d failed", reminder.id, reminder.chat_id, exc_info=True
            )
            failed = True
        finally:
            # No longer in flight before it is postponed: once postponing gives up its claim, the next
            # read may claim it again, and must not skip it as in flight (it would stay claimed, unsent).
            del self._in_flight[reminder.id]
        try:
            if failed:
                await self._retry_later(reminder)
            elif not gone:
                await self._unless_consumed(reminder)
        finally:
            self._finished += 1
            self._wake.set()

    async def _retry_later(self, reminder: Reminder) -> None:
        retry_at = self._clock.now() + self._retry.delay(reminder.attempts)
        try:
            retry_at = await self._outside_quiet_hours(reminder.chat_id, retry_at)
            await self._store.postpone_reminder(reminder.id, retry_at)
        except Exception:
            logger.error("could not postpone reminder %d; holding it back", reminder.id, exc_info=True)
            self._held[reminder.id] = retry_at

    async def _outside_quiet_hours(self, chat_id: int, moment: datetime) -> datetime:
        record = await self._store.load_chat(chat_id)
        if record is None:
            return moment
        return record.settings.sendable_from(moment)

    async def _unless_consumed(self, reminder: Reminder) -> None:
        """Postpones a reminder the callback returned from without consuming it.

        Its claim would otherwise bring it back only when the lease lapses, and then at once, again and
        again: the chat would be spammed. Postponing it also gives up the claim.
        """
        try:
            pending = await self._store.reminders_of(reminder.chat_id)
        except Exception:
            logger.error("could not tell whether reminder %d was consumed", reminder.id, exc_info=True)
            return  # its claim lapses in time, and it is looked at again then
        if any(other.id == reminder.id for other in pending):
            logger.error(
                "reminder %d of chat %d was fired but not consumed; retrying it later",
                reminder.id,
                reminder.chat_id,
            )
            await self._retry_later(reminder)
