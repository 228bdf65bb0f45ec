"""Exactly one instance polls Telegram: the holder of the store's polling lease.

Telegram serves one getUpdates consumer per bot. When several instances share the store, each one that
is to poll becomes a candidate: the one holding the lease ``telegram-polling`` polls and renews it every
``RENEW_EVERY``; the others keep sending reminders and the outbox, and try for the lease every
``CANDIDATE_EVERY``. An instance killed outright stops renewing, so another takes over within
``POLLING_LEASE`` plus ``CANDIDATE_EVERY`` (under 2 s); one stopped cleanly gives the lease up at once.
Updates the dead one took but had not confirmed are delivered again by Telegram to the new one, and the
store's update ids keep them from applying twice.

Never two pollers: the holder polls only while its lease is known to run, counted from before the store was
asked (``Tenure.valid``), and stops (its call in flight cancelled) as soon as a renewal fails, is refused or
does not answer in time. After that it makes no call to getUpdates at all, not even to confirm the last
batch: that call would end the new holder's long poll with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.store import Coordination

__all__ = ["POLLING_LEASE", "Tenure", "lead_while_elected"]

logger = logging.getLogger(__name__)

POLLING_LEASE = timedelta(seconds=1.5)
RENEW_EVERY = timedelta(seconds=0.4)
CANDIDATE_EVERY = timedelta(seconds=0.2)
LEASE_NAME = "telegram-polling"


def _now() -> datetime:
    # Wall-clock time, not the bot's injected clock: a lease is about processes staying alive.
    return datetime.now(UTC)


class Tenure:
    """One term of holding the polling lease: ``ended`` is set when it ends; ``lost`` says it ended without
    the bot being stopped (refused, failed or late renewal), when nothing may be asked of Telegram."""

    def __init__(self, asked_at: float) -> None:
        self.ended = asyncio.Event()
        self.lost = False
        self._runs_until = asked_at + POLLING_LEASE.total_seconds()

    def valid(self) -> bool:
        """Tells whether the lease is known to run now (by this process's monotonic clock)."""
        return not self.ended.is_set() and time.monotonic() < self._runs_until

    def renewed(self, asked_at: float) -> None:
        self._runs_until = asked_at + POLLING_LEASE.total_seconds()

    def remaining(self) -> float:
        return max(0.0, self._runs_until - time.monotonic())

    def lose(self, why: str) -> None:
        if not self.ended.is_set():
            logger.warning("stopped polling Telegram: %s", why)
            self.lost = True
            self.ended.set()


async def lead_while_elected(
    store: Coordination, holder: str, stopping: asyncio.Event, lead: Callable[[Tenure], Awaitable[None]]
) -> None:
    """Until ``stopping`` is set: runs ``lead(tenure)`` whenever this instance holds the lease; ``lead`` must
    return once ``tenure.ended`` is set."""
    while not stopping.is_set():
        asked_at = time.monotonic()
        try:
            elected = await store.acquire_lease(LEASE_NAME, holder, _now(), POLLING_LEASE)
        except Exception as exc:
            logger.warning("could not ask the store for the polling lease (%s)", type(exc).__name__)
            elected = False
        if not elected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), CANDIDATE_EVERY.total_seconds())
            continue
        logger.info("this instance polls Telegram (%s)", holder)
        tenure = Tenure(asked_at)
        keeper = asyncio.create_task(_keep(store, holder, stopping, tenure), name="polling-lease")
        try:
            await lead(tenure)
        finally:
            tenure.ended.set()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if stopping.is_set() and not tenure.lost:
                with contextlib.suppress(Exception):
                    await store.release_lease(LEASE_NAME, holder)  # another instance takes over at once


async def _keep(store: Coordination, holder: str, stopping: asyncio.Event, tenure: Tenure) -> None:
    """Renews the lease until the bot stops; ends the tenure as soon as the lease cannot be known to run."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), RENEW_EVERY.total_seconds())
        if stopping.is_set():
            tenure.ended.set()
            return
        if tenure.remaining() == 0:
            tenure.lose("the polling lease ran out before this instance could renew it (was it paused?)")
            return
        asked_at = time.monotonic()
        try:
            # An answer later than the lease's end would come too late to keep polling meanwhile.
            async with asyncio.timeout(tenure.remaining()):
                kept = await store.acquire_lease(LEASE_NAME, holder, _now(), POLLING_LEASE)
        except TimeoutError:
            tenure.lose(
                "the polling lease ran out before this instance could renew it "
                "(the store answered too late, or this instance was paused)"
            )
            return
        except Exception as exc:
            tenure.lose(f"the store failed to renew the polling lease ({type(exc).__name__})")
            return
        if not kept:
            tenure.lose("the polling lease ran out and another instance holds it now")
            return
        tenure.renewed(asked_at)
