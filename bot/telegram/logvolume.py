"""A log filter that lets the same complaint through once per interval, however often it happens.

Anyone can make the webhook server complain (a wrong secret, a body that is not an update, a broken
request): without a bound, a flood of such calls becomes a flood of log lines filling the disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["OncePerInterval"]

# Complaints remembered at once; beyond this, the oldest are forgotten (and may be logged again).
MOST_KINDS = 1000


class OncePerInterval(logging.Filter):
    """Passes the first record of each kind (logger, level, message template, exception type) per interval;
    the next one passed after a quiet spell says how many were left out meanwhile."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, int, str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Returns whether ``record`` is logged; counts it when it is not."""
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, record.levelno, str(record.msg), error)
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last[0] < self.interval:
            self._last[kind] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            record.msg = f"{record.msg} ({last[1]} more like it left out in the last {self.interval:.0f} s)"
        self._last.pop(kind, None)
        self._last[kind] = (now, 0)
        if len(self._last) > MOST_KINDS:
            del self._last[next(iter(self._last))]
        return True
