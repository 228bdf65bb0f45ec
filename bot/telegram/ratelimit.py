"""One budget for Telegram's limit, shared by every instance of the bot through the store.

Telegram allows a bot about 30 messages a second in all, however many processes send them. Each
message reserves the next slot of the store's one send budget (``Coordination.reserve_send_slot``: one row,
by the database server's clock) and waits for it, so instances together stay under the rate. A 429
that still comes back pushes the budget back for every instance, then the message is tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

from bot.store import Coordination

__all__ = ["SharedRateLimiter", "rate_limiter"]

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
# Calls that put or change a message in a chat: they count against Telegram's limit (answering a button
# press, setting the command menu or fetching updates do not).
_MESSAGE_PREFIXES = ("send", "edit", "copy", "forward")


def _retry_after(exc: RetryAfter) -> timedelta:
    value: object = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(str(value)))


class SharedRateLimiter(BaseRateLimiter[int]):
    """Spaces the messages of every instance ``1 / messages_per_second`` apart, through the store."""

    def __init__(self, store: Coordination, messages_per_second: float, max_retries: int = 3) -> None:
        if messages_per_second <= 0:
            raise ValueError("messages_per_second must be positive")
        self.store = store
        self.interval = timedelta(seconds=1 / messages_per_second)
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives in the store."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Waits for the message's slot in the shared budget, then sends it; after a 429, holds back
        every instance for the time Telegram asked and tries again."""
        if not endpoint.startswith(_MESSAGE_PREFIXES):
            return await callback(*args, **kwargs)
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        pause = timedelta(0)
        for attempt in range(retries + 1):
            await self._wait_for_slot(pause)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                pause = _retry_after(exc)
                logger.warning("Telegram asked to wait %s; every instance holds back", pause)
        raise AssertionError("the loop returns or raises")

    async def _wait_for_slot(self, pause: timedelta) -> None:
        """Reserves a slot and sleeps until it; a slot missed by more than half an interval is given up
        for a fresh one, since a late message could land in the same second as the ones after it."""
        loop = asyncio.get_running_loop()
        tolerance = self.interval.total_seconds() / 2
        while True:
            wait = (await self.store.reserve_send_slot(self.interval, pause)).total_seconds()
            # Counted from the answer, not the question: the store measured ``wait`` somewhere between the
            # two, so counting from the question would send early by the time the question took to arrive
            # (a slow store under load would let messages bunch up). Late by the answer's way back is safe.
            answered = loop.time()
            pause = timedelta(0)
            await asyncio.sleep(max(0.0, answered + wait - loop.time()))
            if loop.time() - (answered + wait) <= tolerance:
                return


def rate_limiter(messages_per_second: float, store: Coordination) -> BaseRateLimiter[int]:
    """Returns the rate limiter: the store's shared budget when several instances may share it, else
    python-telegram-bot's own (see :func:`_local_rate_limiter`)."""
    if store.serves_several_processes and messages_per_second > 0:
        return SharedRateLimiter(store, messages_per_second)
    return _local_rate_limiter(messages_per_second)


def _local_rate_limiter(messages_per_second: float) -> AIORateLimiter:
    """Returns python-telegram-bot's rate limiter, spacing messages evenly at ``messages_per_second``.

    A bucket of one (rather than ``messages_per_second`` per second) never bursts: after a 429's pause,
    or when a backlog of reminders starts, messages still go out one every 1/rate seconds, so Telegram's
    30-per-second window is never exceeded. 0 turns the overall limit off.
    """
    if messages_per_second <= 0:
        return AIORateLimiter(overall_max_rate=0, max_retries=3)
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / messages_per_second, max_retries=3)
