"""The shared send budget: a message goes no earlier than the slot the store reserved for it, however long
the store took to answer (several instances must stay under Telegram's limit together)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

from bot.store import Store
from bot.telegram.ratelimit import SharedRateLimiter

RATE = 20.0


class SlowBudget:
    """The store's one budget row, by the store's own clock, reached through a connection whose way there
    takes a different time on each call (a loaded database server): the wait is measured on arrival."""

    def __init__(self, way_there: Iterator[float]) -> None:
        self.way_there = way_there
        self.next_slot = 0.0
        # Per message (its task), the last slot reserved: a message late past the tolerance reserves anew.
        self.slots: dict[asyncio.Task[Any] | None, float] = {}

    async def reserve_send_slot(self, interval: timedelta, pause: timedelta = timedelta(0)) -> timedelta:
        await asyncio.sleep(next(self.way_there))
        now = asyncio.get_running_loop().time()
        slot = max(now, self.next_slot) + pause.total_seconds()
        self.next_slot = slot + interval.total_seconds()
        self.slots[asyncio.current_task()] = slot
        return timedelta(seconds=slot - now)


async def test_no_message_goes_before_its_slot_when_the_store_answers_slowly() -> None:
    budget = SlowBudget(iter([0.25, 0.0] * 20))  # every other reservation is slow to arrive
    limiter = SharedRateLimiter(cast(Store, budget), RATE)
    loop = asyncio.get_running_loop()
    sent: dict[asyncio.Task[Any] | None, float] = {}

    async def send(**_: Any) -> bool:
        sent[asyncio.current_task()] = loop.time()
        return True

    await asyncio.gather(*(limiter.process_request(send, (), {}, "sendMessage", {}, None) for _ in range(30)))

    assert len(sent) == 30
    early = [budget.slots[task] - moment for task, moment in sent.items()]
    assert max(early) <= 0.002, f"sent up to {max(early):.3f} s before its slot"
