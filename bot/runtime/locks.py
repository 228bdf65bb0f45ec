"""Per-chat locks: one conversation never sees two events at once, different chats never wait.

A process has one :class:`ChatLocks` (``ChatService.locks``). The update processor holds a chat's lock for
the whole update, delivery included; a due reminder and the outbox sweep take the same lock, so a chat's
updates, reminders and deliveries never interleave. Between processes the store's promises take over
(bot/store/base.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["ChatLocks"]


class ChatLocks:
    """Hands out one FIFO lock per chat and drops it when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        """Holds the chat's lock for the duration of the block."""
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            remaining = self._users[chat_id] - 1
            if remaining:
                self._users[chat_id] = remaining
            else:
                del self._users[chat_id]
                del self._locks[chat_id]

    def busy(self, chat_id: int) -> bool:
        """Tells whether someone holds or waits for the chat's lock."""
        return chat_id in self._users

    def __len__(self) -> int:
        return len(self._locks)
