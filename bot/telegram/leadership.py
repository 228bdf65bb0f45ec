"""Exactly one instance polls Telegram: the holder of the store's polling lease.

Telegram serves one getUpdates consumer per bot. When several instances share the store, each one that
is to poll becomes a candidate: the one holding the lease ``telegram-polling`` polls and renews it every
few seconds; the others keep sending reminders and the outbox, and try for the lease every second. An
instance killed outright stops renewing, so another takes over within ``POLLING_LEASE`` plus a second;
one stopped cleanly gives the lease up at once. Updates the dead one took but had not confirmed are
delivered again by Telegram to the new one, and the store's update ids keep them from applying twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.store import Store

__all__ = ["POLLING_LEASE", "lead_while_elected"]

logger = logging.getLogger(__name__)

POLLING_LEASE = timedelta(seconds=6)
RENEW_EVERY = timedelta(seconds=2)
CANDIDATE_EVERY = timedelta(seconds=1)
LEASE_NAME = "telegram-polling"


def _now() -> datetime:
    # Wall-clock time, not the bot's injected clock: a lease is about processes staying alive.
    return datetime.now(UTC)


async def lead_while_elected(
    store: Store, holder: str, stopping: asyncio.Event, lead: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    """Until ``stopping`` is set: runs ``lead(lost)`` whenever this instance holds the lease; ``lost`` is
    set when the lease is lost or the bot stops, and ``lead`` must then return."""
    while not stopping.is_set():
        try:
            elected = await store.acquire_lease(LEASE_NAME, holder, _now(), POLLING_LEASE)
        except Exception:
            logger.warning("could not ask the store for the polling lease", exc_info=True)
            elected = False
        if not elected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), CANDIDATE_EVERY.total_seconds())
            continue
        logger.info("this instance polls Telegram (%s)", holder)
        lost = asyncio.Event()
        keeper = asyncio.create_task(_keep(store, holder, stopping, lost), name="polling-lease")
        try:
            await lead(lost)
        finally:
            lost.set()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if stopping.is_set():
                with contextlib.suppress(Exception):
                    await store.release_lease(LEASE_NAME, holder)  # another instance takes over at once


async def _keep(store: Store, holder: str, stopping: asyncio.Event, lost: asyncio.Event) -> None:
    """Renews the lease until the bot stops; sets ``lost`` when it stops or the lease cannot be kept."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), RENEW_EVERY.total_seconds())
        if stopping.is_set():
            lost.set()
            return
        try:
            kept = await store.acquire_lease(LEASE_NAME, holder, _now(), POLLING_LEASE)
        except Exception:
            logger.warning("could not renew the polling lease; stopping polling", exc_info=True)
            kept = False
        if not kept:
            logger.warning("another instance took over polling")
            lost.set()
            return
