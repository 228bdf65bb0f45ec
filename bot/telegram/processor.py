"""Concurrent update processing that keeps each chat's updates strictly in order."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.runtime.locks import ChatLocks

__all__ = ["PerChatUpdateProcessor"]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different chats side by side and updates of one chat one after the other.

    It holds the process's one per-chat lock (shared with reminders and the outbox sweep) for the whole
    update, delivery included: the lock is taken here, in the order updates arrive.
    """

    def __init__(self, max_concurrent_updates: int, locks: ChatLocks) -> None:
        super().__init__(max_concurrent_updates)
        self._locks = locks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Processes the update once every earlier update of its chat is done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._locks.hold(chat.id):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
