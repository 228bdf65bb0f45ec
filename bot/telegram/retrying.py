"""Calls to the Bot API that are tried again until Telegram answers or the bot is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.startup import StartupError

__all__ = ["FIRST_RETRY_SECONDS", "LONGEST_RETRY_SECONDS", "Retrying", "until_stopped"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 60.0


async def until_stopped(call: Awaitable[_T], stopping: asyncio.Event) -> tuple[bool, _T | None]:
    """Awaits ``call`` unless ``stopping`` is set first (then cancels it); returns (finished, result)."""
    work = asyncio.ensure_future(call)
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if work.done():
        return True, work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    return False, None


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Retrying:
    """Calls the Bot API until it answers, waiting longer after each failure and saying so once a try."""

    def __init__(self, api_url: str, stopping: asyncio.Event) -> None:
        self.api_url = api_url
        self.stopping = stopping

    async def call(self, what: str, call: Callable[[], Awaitable[_T]]) -> tuple[bool, _T | None]:
        """Returns (True, result) once ``call`` succeeds, or (False, None) if the bot is stopped first."""
        delay = FIRST_RETRY_SECONDS
        attempt = 0
        while not self.stopping.is_set():
            attempt += 1
            try:
                return await until_stopped(call(), self.stopping)
            except InvalidToken as exc:
                raise StartupError(
                    f"Telegram at {self.api_url} rejected the bot token (TELEGRAM_BOT_TOKEN): "
                    "copy it again from @BotFather (/mybots, API Token)"
                ) from exc
            except BadRequest:
                raise  # a mistake in the request: trying again would not help
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                logger.warning("%s: Telegram asks to wait %.0f s (attempt %d)", what, wait, attempt)
            except TelegramError as exc:
                wait = delay
                logger.warning(
                    "%s: %s; trying again in %.0f s (attempt %d)", what, self._why(exc), wait, attempt
                )
            delay = min(delay * 2, LONGEST_RETRY_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait)
        return False, None

    def _why(self, error: TelegramError) -> str:
        """Says in a few words why a call failed."""
        if isinstance(error, Conflict):
            return f"{error.message} (another process is using this token?)"
        if isinstance(error, NetworkError):
            return f"Telegram is not reachable at {self.api_url} ({error.message})"
        return f"Telegram at {self.api_url} answered {error.message!r}"
