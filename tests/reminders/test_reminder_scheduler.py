"""Reminders go out once, on time, at a pace Telegram accepts, across slow callbacks, failures and restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.clock import FakeClock
from bot.reminders import CLAIM_LEASE, Pacing, ReminderScheduler, RetryPolicy
from bot.store import Commit, NewReminder, Reminder, Store, UserSettings

StoreFactory = Callable[[], Store]
PATIENCE = 5.0  # real seconds before a test gives up waiting, instead of hanging


class Recipient:
    """The fire callback: consumes the reminder and queues its message, as the bot does."""

    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.store = store
        self.clock = clock
        self.fired: list[tuple[Reminder, datetime]] = []
        self.failures_left: Mapping[str, int] = {}
        self.consume = True
        self.release: asyncio.Event | None = None
        self.finished = 0
        self._changed = asyncio.Event()

    async def __call__(self, reminder: Reminder) -> None:
        self.fired.append((reminder, self.clock.now()))
        self._changed.set()
        try:
            await self._receive(reminder)
        finally:
            self.finished += 1
            self._changed.set()

    async def _receive(self, reminder: Reminder) -> None:
        if self.release is not None:
            await self.release.wait()
        left = self.failures_left.get(reminder.name, 0)
        if left:
            self.failures_left = {**self.failures_left, reminder.name: left - 1}
            raise RuntimeError("Telegram is down")
        if self.consume:
            await self.store.commit(
                Commit(
                    chat_id=reminder.chat_id,
                    consumed_reminder_id=reminder.id,
                    outbox=[{"reminder": reminder.name}],
                ),
                self.clock.now(),
            )

    async def wait_for(self, count: int) -> None:
        """Waits until ``count`` reminders were handed over."""
        await self._wait_until(lambda: len(self.fired) >= count)

    async def wait_until_finished(self, count: int) -> None:
        """Waits until ``count`` callbacks returned or raised."""
        await self._wait_until(lambda: self.finished >= count)

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(PATIENCE):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    @property
    def names(self) -> list[tuple[int, str]]:
        return [(reminder.chat_id, reminder.name) for reminder, _ in self.fired]

    @property
    def times(self) -> list[datetime]:
        return [at for _, at in self.fired]


class ObservedStore:
    """Records how many reminders the scheduler asks the store for at once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.limits: list[int] = []
        self.batch_sizes: list[int] = []
        self._looked_up = asyncio.Event()
        original = store.claim_due_reminders

        async def claim_due_reminders(now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
            batch = await original(now, limit, lease)
            self.limits.append(limit)
            self.batch_sizes.append(len(batch))
            self._looked_up.set()
            return batch

        store.claim_due_reminders = claim_due_reminders  # type: ignore[method-assign]

    async def wait_for_lookups(self, count: int) -> None:
        """Waits until the scheduler has read due reminders ``count`` times."""
        async with asyncio.timeout(PATIENCE):
            while len(self.limits) < count:
                self._looked_up.clear()
                await self._looked_up.wait()


@pytest.fixture
def recipient(store: Store, clock: FakeClock) -> Recipient:
    return Recipient(store, clock)


@pytest.fixture
async def make_scheduler(
    store: Store, clock: FakeClock, recipient: Recipient
) -> AsyncIterator[Callable[..., ReminderScheduler]]:
    """Builds schedulers on the test's store and clock, and stops them after the test."""
    started: list[ReminderScheduler] = []

    def make(**options: object) -> ReminderScheduler:
        scheduler = ReminderScheduler(store, recipient, clock=clock, **options)  # type: ignore[arg-type]
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        await scheduler.stop()


async def next_turn(clock: FakeClock) -> None:
    """Moves the fake clock to the moment the scheduler waits for."""
    sleepers = await clock.wait_for_sleepers(lambda sleepers: bool(sleepers) and sleepers[0] is not None)
    turn = sleepers[0]
    assert turn is not None
    clock.set(turn)


async def schedule(store: Store, chat_id: int, name: str, due_at: datetime, now: datetime) -> None:
    await store.commit(Commit(chat_id=chat_id, schedule=[NewReminder(name, due_at, 1)]), now)


async def test_it_sleeps_until_the_next_reminder_and_fires_it_on_time(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    due = clock.now() + timedelta(hours=1)
    await schedule(store, 1, "nudge", due, clock.now())
    await make_scheduler().start()

    assert await clock.wait_for_sleeper() == due
    clock.advance(timedelta(hours=1) - timedelta(microseconds=1))
    assert recipient.fired == []

    clock.advance(timedelta(microseconds=1))
    await recipient.wait_for(1)

    assert recipient.names == [(1, "nudge")]
    assert recipient.times == [due]
    assert await clock.wait_for_sleepers(lambda sleepers: sleepers == [None]) == [None]
    assert [dict(message.payload) for message in await store.pending_outbox(10)] == [{"reminder": "nudge"}]


async def test_a_nearer_reminder_wakes_it_early(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    far = clock.now() + timedelta(days=2)
    near = clock.now() + timedelta(minutes=10)
    await schedule(store, 1, "far", far, clock.now())
    scheduler = make_scheduler()
    await scheduler.start()
    assert await clock.wait_for_sleeper() == far

    await schedule(store, 2, "near", near, clock.now())
    scheduler.notify(near)

    assert await clock.wait_for_sleepers(lambda sleepers: sleepers == [near]) == [near]
    clock.set(near)
    await recipient.wait_for(1)
    assert recipient.names == [(2, "near")]
    assert await clock.wait_for_sleepers(lambda sleepers: sleepers == [far]) == [far]


async def test_a_later_reminder_does_not_wake_it(
    store: Store, clock: FakeClock, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    observed = ObservedStore(store)
    near = clock.now() + timedelta(minutes=10)
    await schedule(store, 1, "near", near, clock.now())
    scheduler = make_scheduler()
    await scheduler.start()
    assert await clock.wait_for_sleeper() == near
    lookups = len(observed.limits)

    scheduler.notify(near + timedelta(days=1))
    await asyncio.sleep(0)

    assert clock.sleepers == [near]
    assert len(observed.limits) == lookups


async def test_due_reminders_are_read_in_bounded_batches(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    observed = ObservedStore(store)
    for chat_id in range(1, 8):
        await schedule(store, chat_id, "nudge", clock.now(), clock.now())

    await make_scheduler(batch_size=3, max_in_flight=1, pacing=Pacing(messages_per_second=1000)).start()
    for fired in range(1, 8):
        await recipient.wait_for(fired)
        if fired < 7:
            await next_turn(clock)

    assert sorted(recipient.names) == [(chat_id, "nudge") for chat_id in range(1, 8)]
    assert observed.limits[0] == 3
    assert max(observed.limits) <= 3 + 1
    assert max(observed.batch_sizes) < 7


async def test_one_chat_gets_at_most_one_reminder_a_second(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    start = clock.now()
    await store.commit(
        Commit(chat_id=1, schedule=[NewReminder(name, start, 1) for name in ("a", "b", "c")]), start
    )
    await make_scheduler().start()

    for fired in (1, 2, 3):
        await recipient.wait_for(fired)
        if fired < 3:
            await next_turn(clock)

    assert recipient.times == [start, start + timedelta(seconds=1), start + timedelta(seconds=2)]


async def test_a_backlog_goes_out_once_under_the_global_limit(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    # The bot was down for a day: 60 chats' reminders fell due meanwhile.
    down_since = clock.now() - timedelta(days=1)
    for chat_id in range(1, 61):
        await schedule(store, chat_id, "nudge", down_since + timedelta(minutes=chat_id), down_since)

    await make_scheduler(batch_size=25).start()
    for fired in range(1, 61):
        await recipient.wait_for(fired)
        if fired < 60:
            await next_turn(clock)

    assert recipient.names == [(chat_id, "nudge") for chat_id in range(1, 61)]
    times = recipient.times
    assert all(
        later - earlier >= timedelta(seconds=1) for earlier, later in zip(times, times[25:], strict=False)
    )
    assert times[-1] - times[0] < timedelta(seconds=3)
    await recipient.wait_until_finished(60)
    assert await store.next_due_at() is None


async def test_reminders_due_during_a_restart_are_sent_once_after_it(
    new_store: StoreFactory, clock: FakeClock
) -> None:
    async with new_store() as store:
        first = Recipient(store, clock)
        scheduler = ReminderScheduler(store, first, clock=clock)
        await schedule(store, 1, "early", clock.now() + timedelta(minutes=5), clock.now())
        await schedule(store, 2, "during_downtime", clock.now() + timedelta(hours=2), clock.now())
        await scheduler.start()
        clock.advance(timedelta(minutes=5))
        await first.wait_for(1)
        await clock.wait_for_sleepers(
            lambda sleepers: sleepers == [clock.now() + timedelta(hours=1, minutes=55)]
        )
        await scheduler.stop()

    clock.advance(timedelta(hours=3))
    async with new_store() as reopened:
        second = Recipient(reopened, clock)
        restarted = ReminderScheduler(reopened, second, clock=clock)
        await restarted.start()
        await second.wait_for(1)
        await clock.wait_for_sleepers(lambda sleepers: sleepers == [None])
        await restarted.stop()

    assert first.names == [(1, "early")]
    assert second.names == [(2, "during_downtime")]


async def test_a_slow_callback_never_gets_the_same_reminder_twice(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    observed = ObservedStore(store)
    recipient.release = asyncio.Event()
    await schedule(store, 1, "nudge", clock.now(), clock.now())
    scheduler = make_scheduler()
    await scheduler.start()
    await recipient.wait_for(1)
    # Claimed while it is in flight: due again only if its claim lapses (the process died).
    claim_lapses = clock.now() + CLAIM_LEASE
    await clock.wait_for_sleepers(lambda sleepers: sleepers == [claim_lapses])

    lookups = len(observed.limits)
    scheduler.notify(clock.now())
    await observed.wait_for_lookups(lookups + 1)
    await clock.wait_for_sleepers(lambda sleepers: sleepers == [claim_lapses])
    assert len(recipient.fired) == 1

    lookups = len(observed.limits)
    recipient.release.set()
    await recipient.wait_until_finished(1)
    await observed.wait_for_lookups(lookups + 1)
    await clock.wait_for_sleepers(lambda sleepers: sleepers == [None])
    assert len(recipient.fired) == 1
    assert await store.next_due_at() is None


async def test_a_failing_callback_is_retried_later_with_growing_delays(
    store: Store,
    clock: FakeClock,
    recipient: Recipient,
    make_scheduler: Callable[..., ReminderScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recipient.failures_left = {"nudge": 2}
    start = clock.now()
    await schedule(store, 1, "nudge", start, start)
    await schedule(store, 2, "other", start + timedelta(seconds=30), start)
    retry = RetryPolicy(first_delay=timedelta(minutes=1), longest_delay=timedelta(hours=1))

    with caplog.at_level(logging.ERROR, logger="bot.reminders"):
        # Claims that outlast the test: only the retries decide when the reminder is due again.
        await make_scheduler(retry=retry, claim_lease=timedelta(days=1)).start()
        await recipient.wait_for(1)
        # Failed once: the next try is a minute later; the other chat's reminder is not held up.
        assert await clock.wait_for_sleepers(lambda s: s == [start + timedelta(seconds=30)])
        clock.set(start + timedelta(seconds=30))
        await recipient.wait_for(2)
        assert await clock.wait_for_sleepers(lambda s: s == [start + timedelta(minutes=1)])
        clock.set(start + timedelta(minutes=1))
        await recipient.wait_for(3)
        # Failed twice: two minutes more.
        assert await clock.wait_for_sleepers(lambda s: s == [start + timedelta(minutes=3)])
        clock.set(start + timedelta(minutes=3))
        await recipient.wait_for(4)
        # Sleeping with nothing due also happens while the fourth try is still consuming the reminder.
        await recipient.wait_until_finished(4)
        await clock.wait_for_sleepers(lambda s: s == [None])

    assert recipient.names == [(1, "nudge"), (2, "other"), (1, "nudge"), (1, "nudge")]
    assert await store.next_due_at() is None
    failures = [record for record in caplog.records if "failed" in record.getMessage()]
    assert len(failures) == 2
    assert all(record.exc_info is not None for record in failures)


async def test_a_retry_never_lands_in_the_users_quiet_hours(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    clock.set(datetime(2025, 3, 10, 9, 59, 30, tzinfo=UTC))  # 20:59:30 in Noumea
    settings = UserSettings(chat_id=1, language="fr", timezone="Pacific/Noumea", quiet_end=time(7, 30))
    await store.commit(
        Commit(chat_id=1, settings=settings, schedule=[NewReminder("nudge", clock.now(), 1)]), clock.now()
    )
    recipient.failures_left = {"nudge": 1}

    await make_scheduler().start()
    await recipient.wait_for(1)

    next_morning = datetime(2025, 3, 10, 20, 30, tzinfo=UTC)  # 07:30 in Noumea
    assert await clock.wait_for_sleepers(lambda s: s == [next_morning])
    assert await store.next_due_at() == next_morning


async def test_a_callback_that_forgets_to_consume_does_not_spam_the_chat(
    store: Store,
    clock: FakeClock,
    recipient: Recipient,
    make_scheduler: Callable[..., ReminderScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recipient.consume = False
    await schedule(store, 1, "nudge", clock.now(), clock.now())

    with caplog.at_level(logging.ERROR, logger="bot.reminders"):
        await make_scheduler().start()
        await recipient.wait_for(1)
        retry_at = clock.now() + RetryPolicy().first_delay
        assert await clock.wait_for_sleepers(lambda s: s == [retry_at])

    assert len(recipient.fired) == 1
    assert "not consumed" in caplog.text


async def test_stopped_and_blocked_chats_get_nothing(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    now = clock.now()
    await store.commit(
        Commit(
            chat_id=1,
            settings=UserSettings(chat_id=1, language="en", reminders_stopped=True),
            schedule=[NewReminder("nudge", now, 1)],
        ),
        now,
    )
    await schedule(store, 2, "nudge", now, now)
    await store.set_blocked(2, True)
    await schedule(store, 3, "nudge", now + timedelta(hours=1), now)

    await make_scheduler().start()
    assert await clock.wait_for_sleeper() == now + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    await recipient.wait_for(1)

    assert recipient.names == [(3, "nudge")]


async def test_a_stopped_chats_overdue_reminder_is_kept_without_waking_the_scheduler_until_turned_on(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    now = clock.now()
    stopped = UserSettings(chat_id=1, language="en", reminders_stopped=True)
    kept = Commit(chat_id=1, settings=stopped, schedule=[NewReminder("nudge", now - timedelta(days=2), 1)])
    await store.commit(kept, now)
    observed = ObservedStore(store)
    scheduler = make_scheduler()

    await scheduler.start()
    assert await clock.wait_for_sleeper() is None, "asleep until told of a reminder, not every tick"
    clock.advance(timedelta(days=1))
    await asyncio.sleep(0.05)
    assert len(observed.limits) == 1, "one read, no spinning on the kept reminder"
    assert recipient.fired == []

    await store.commit(Commit(chat_id=1, settings=replace(stopped, reminders_stopped=False)), clock.now())
    scheduler.notify(now - timedelta(days=2))
    await recipient.wait_for(1)
    assert recipient.names == [(1, "nudge")]


async def test_after_stop_nothing_fires(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    await schedule(store, 1, "nudge", clock.now() + timedelta(hours=1), clock.now())
    scheduler = make_scheduler()
    await scheduler.start()
    await clock.wait_for_sleeper()

    await scheduler.stop()
    clock.advance(timedelta(days=1))
    await asyncio.sleep(0)

    assert clock.sleepers == []
    assert recipient.fired == []
    assert await store.next_due_at() is not None


class ConnectionWait:
    """Makes the store's claim wait the way psycopg_pool waits for a free connection: in asyncio.wait_for.

    On Python 3.11, wait_for returns normally when it is cancelled just as what it waits for finishes (the
    cancellation is lost; 3.12 fixed it): a pool handing the scheduler a connection as stop() cancels it.
    """

    def __init__(self, store: Store) -> None:
        self.waiting = asyncio.Event()
        self.connection_free = asyncio.Event()
        original = store.claim_due_reminders

        async def claim_due_reminders(now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
            self.waiting.set()
            await asyncio.wait_for(self.connection_free.wait(), PATIENCE)
            return await original(now, limit, lease)

        store.claim_due_reminders = claim_due_reminders  # type: ignore[method-assign]


@pytest.mark.parametrize("due", [False, True], ids=["nothing due", "a reminder due"])
async def test_stop_ends_the_scheduler_even_when_a_store_call_loses_the_cancellation(
    store: Store,
    clock: FakeClock,
    recipient: Recipient,
    make_scheduler: Callable[..., ReminderScheduler],
    caplog: pytest.LogCaptureFixture,
    due: bool,
) -> None:
    if due:
        await schedule(store, 1, "nudge", clock.now(), clock.now())
    pool = ConnectionWait(store)
    scheduler = make_scheduler()
    await scheduler.start()
    await pool.waiting.wait()
    await asyncio.sleep(0)  # the wait for a connection has begun

    pool.connection_free.set()
    started = asyncio.get_running_loop().time()
    with caplog.at_level(logging.WARNING, logger="bot.reminders"):
        await scheduler.stop(grace=timedelta(seconds=2))

    assert "did not stop" not in caplog.text
    assert asyncio.get_running_loop().time() - started < 1, "stopped at once, not after the grace period"
    assert clock.sleepers == [], "nothing left sleeping on the clock"
    assert recipient.fired == [], "nothing handed over after stop"


async def test_stop_lets_a_reminder_being_sent_finish(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    recipient.release = asyncio.Event()
    await schedule(store, 1, "nudge", clock.now(), clock.now())
    scheduler = make_scheduler()
    await scheduler.start()
    await recipient.wait_for(1)

    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    recipient.release.set()
    await stopping

    assert await store.next_due_at() is None
    assert len(await store.pending_outbox(10)) == 1


async def test_a_reminder_falling_due_between_its_read_and_the_sleep_still_fires(
    store: Store, clock: FakeClock, recipient: Recipient, make_scheduler: Callable[..., ReminderScheduler]
) -> None:
    due = clock.now() + timedelta(seconds=1)
    await schedule(store, 1, "nudge", due, clock.now())
    original = store.next_due_at
    moved = False

    async def slow_next_due_at() -> datetime | None:
        # Time passes while the store answers: the reminder is due by the time the scheduler would sleep.
        nonlocal moved
        answer = await original()
        if not moved:
            moved = True
            clock.advance(timedelta(seconds=2))
        return answer

    store.next_due_at = slow_next_due_at  # type: ignore[method-assign]
    await make_scheduler().start()
    await recipient.wait_for(1)
    assert recipient.names == [(1, "nudge")]


async def test_two_schedulers_on_one_database_hand_each_reminder_over_once(
    new_store: StoreFactory, clock: FakeClock
) -> None:
    # Two processes, or a restarted bot racing the old one: one claims the reminder, and consuming it
    # stays the final word.
    async with new_store() as one, new_store() as other:
        await schedule(one, 1, "nudge", clock.now(), clock.now())
        recipients = [Recipient(one, clock), Recipient(other, clock)]
        schedulers = [ReminderScheduler(r.store, r, clock=clock) for r in recipients]
        for scheduler in schedulers:
            await scheduler.start()
        waits = [asyncio.create_task(recipient.wait_until_finished(1)) for recipient in recipients]
        _, still_waiting = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in still_waiting:
            wait.cancel()
        # The other one, if it looked while the reminder was claimed, sleeps until the claim would lapse,
        # finds nothing due then, and sleeps on.
        claim_lapses = clock.now() + CLAIM_LEASE
        await clock.wait_for_sleepers(
            lambda sleepers: len(sleepers) == 2 and None in sleepers and set(sleepers) <= {None, claim_lapses}
        )
        clock.set(claim_lapses)
        await clock.wait_for_sleepers(lambda sleepers: sleepers == [None, None])
        assert sum(len(recipient.fired) for recipient in recipients) == 1
        for scheduler in schedulers:
            await scheduler.stop()
        assert [dict(message.payload) for message in await one.pending_outbox(10)] == [{"reminder": "nudge"}]
        assert await one.next_due_at() is None


async def test_a_reminder_held_back_in_memory_goes_out_after_a_restart(
    new_store: StoreFactory, clock: FakeClock
) -> None:
    async with new_store() as store:
        await schedule(store, 1, "nudge", clock.now(), clock.now())

        async def cannot_postpone(reminder_id: int, due_at: datetime) -> bool:
            raise OSError("disk full")

        store.postpone_reminder = cannot_postpone  # type: ignore[method-assign]
        failing = Recipient(store, clock)
        failing.failures_left = {"nudge": 1}
        scheduler = ReminderScheduler(store, failing, clock=clock)
        await scheduler.start()
        await failing.wait_until_finished(1)
        await clock.wait_for_sleepers(lambda sleepers: sleepers == [clock.now() + RetryPolicy().first_delay])
        await scheduler.stop()

    # The memory of the held reminder died with the process; the store still says it is due, once the
    # dead process's claim lapses.
    async with new_store() as reopened:
        recipient = Recipient(reopened, clock)
        restarted = ReminderScheduler(reopened, recipient, clock=clock)
        await restarted.start()
        claim_lapses = clock.now() + CLAIM_LEASE
        await clock.wait_for_sleepers(lambda sleepers: sleepers == [claim_lapses])
        clock.set(claim_lapses)
        await recipient.wait_until_finished(1)
        await clock.wait_for_sleepers(lambda sleepers: sleepers == [None])
        await restarted.stop()
        assert recipient.names == [(1, "nudge")]
        assert [dict(message.payload) for message in await reopened.pending_outbox(10)] == [
            {"reminder": "nudge"}
        ]
