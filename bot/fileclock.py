"""A clock read from a file, so that an end-to-end test can move a running bot's time forward."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["FileClock"]

POLL_SECONDS = 0.05


class FileClock:
    """Tells the time written (ISO 8601) in a file; a test rewrites the file to jump ahead."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        """Returns the time in the file, or the real time when the file is missing or unreadable."""
        try:
            moment = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Polls the file until ``when`` is reached or ``wake`` is set."""
        while not wake.is_set():
            if when is not None and self.now() >= when:
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                continue
