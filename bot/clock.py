"""The one place the bot asks what time it is and waits for a moment to come.

Everything time-dependent takes a :class:`Clock`, so tests (and the subprocess tests) run on a
:class:`FakeClock` that only moves when told to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]

# Long sleeps are cut into slices so that a wall-clock jump (NTP, suspended VM) is noticed within minutes.
_LONGEST_SLICE = timedelta(minutes=5)
# Real seconds a test waits for a sleeper before failing instead of hanging.
_PATIENCE_SECONDS = 5.0


class Clock(Protocol):
    """Tells the current time and sleeps until a moment or an earlier wake-up."""

    def now(self) -> datetime:
        """Returns the current time, timezone-aware, in UTC."""
        ...

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Returns once ``when`` is reached or ``wake`` is set; ``None`` waits for ``wake`` alone."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Returns the current time in UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Sleeps until ``when`` or until ``wake`` is set, whichever comes first."""
        if when is None:
            await wake.wait()
            return
        while not wake.is_set():
            remaining = when - self.now()
            if remaining <= timedelta(0):
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=min(remaining, _LONGEST_SLICE).total_seconds())
            except TimeoutError:
                continue


class FakeClock:
    """A clock for tests: time moves only on :meth:`advance` or :meth:`set`, and nothing really sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 1, 1, tzinfo=UTC)
        _require_aware(self._now)
        self._sleepers: list[tuple[datetime | None, asyncio.Future[None]]] = []
        self._sleepers_changed: asyncio.Event | None = None

    def now(self) -> datetime:
        """Returns the fake current time."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Moves time forward by ``delta`` and wakes every sleeper whose moment has come."""
        if delta < timedelta(0):
            raise ValueError("a FakeClock does not go backwards; use set() to jump")
        self.set(self._now + delta)

    def set(self, when: datetime) -> None:
        """Jumps to ``when`` and wakes every sleeper whose moment has come."""
        _require_aware(when)
        self._now = when.astimezone(UTC)
        for due, future in self._sleepers:
            if due is not None and due <= self._now and not future.done():
                future.set_result(None)

    @property
    def sleepers(self) -> list[datetime | None]:
        """Returns the moments the current sleepers wait for, earliest first (``None``: until woken)."""
        pending = [due for due, future in self._sleepers if not future.done()]
        return sorted(pending, key=lambda due: (due is None, due or self._now))

    async def wait_for_sleeper(self) -> datetime | None:
        """Waits until some task sleeps on this clock and returns the earliest moment slept for."""
        sleepers = await self.wait_for_sleepers(bool)
        return sleepers[0]

    async def wait_for_sleepers(
        self, condition: Callable[[list[datetime | None]], bool]
    ) -> list[datetime | None]:
        """Waits until ``condition(self.sleepers)`` holds and returns the sleepers.

        Fails after a few real seconds instead of hanging the test.
        """
        async with asyncio.timeout(_PATIENCE_SECONDS):
            while not condition(sleepers := self.sleepers):
                await self._changed().wait()
                self._changed().clear()
        return sleepers

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Waits until the fake time reaches ``when`` or ``wake`` is set."""
        if wake.is_set() or (when is not None and when <= self._now):
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (when, future)
        self._sleepers.append(entry)
        self._changed().set()
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((future, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            if not future.done():
                future.cancel()
            self._sleepers.remove(entry)
            self._changed().set()

    def _changed(self) -> asyncio.Event:
        if self._sleepers_changed is None:
            self._sleepers_changed = asyncio.Event()
        return self._sleepers_changed


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
