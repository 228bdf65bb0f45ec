"""Delivers committed outbox messages through the Bot API, and handles Telegram's failure modes."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.runtime.locks import ChatLocks
from bot.runtime.service import ChatService
from bot.store import OutboxMessage
from bot.telegram.screenbot import ScreenBot

__all__ = ["Delivery"]

logger = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3
REMEMBERED_DELIVERIES = 10_000


def _is(exc: TelegramError, *phrases: str) -> bool:
    text = exc.message.lower()
    return any(phrase in text for phrase in phrases)


class Delivery:
    """Sends outbox messages once each and in order per chat, whoever asks: a handler, a reminder, the sweep."""

    def __init__(self, bot: ScreenBot, service: ChatService) -> None:
        self.bot = bot
        self.service = service
        self._locks = ChatLocks()
        # Ids sent (or given up) by this process, so a sweep that read the outbox a moment ago skips them.
        self._done: OrderedDict[int, None] = OrderedDict()

    async def deliver(self, messages: Iterable[OutboxMessage]) -> None:
        """Delivers one chat's messages in order; stops at the first that must wait, so none overtakes it."""
        batch = [m for m in messages]
        if not batch:
            return
        async with self._locks.hold(batch[0].chat_id):
            for outgoing in batch:
                if outgoing.id in self._done:
                    continue
                if not await self._deliver_one(outgoing):
                    return  # left in the outbox with those after it: the sweep sends them later, in order
                self._remember(outgoing.id)

    async def deliver_direct(self, payloads: Iterable[Mapping[str, Any]]) -> None:
        """Sends messages that are not in the outbox (nothing is recorded about them)."""
        for payload in payloads:
            try:
                await self._send(payload)
            except TelegramError as exc:
                logger.info("could not send a direct message to chat %s: %s", payload.get("chat_id"), exc)

    async def sweep(self, limit: int = 500) -> int:
        """Sends what was committed but never sent (after a crash or a failure); returns how many it tried."""
        pending = [m for m in await self.service.pending(limit) if m.id not in self._done]
        by_chat: dict[int, list[OutboxMessage]] = {}
        for outgoing in pending:
            by_chat.setdefault(outgoing.chat_id, []).append(outgoing)
        await asyncio.gather(*(self.deliver(chat_messages) for chat_messages in by_chat.values()))
        return len(pending)

    def _remember(self, outbox_id: int) -> None:
        self._done[outbox_id] = None
        if len(self._done) > REMEMBERED_DELIVERIES:
            self._done.popitem(last=False)

    async def _deliver_one(self, outgoing: OutboxMessage) -> bool:
        """Sends one message; returns False when it must stay in the outbox for a later try."""
        payload = outgoing.payload
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                sent = await self._send(payload)
            except Forbidden:
                logger.info("chat %s blocked the bot; its reminders stop", outgoing.chat_id)
                await self.service.blocked(outgoing.chat_id)
                await self.service.undeliverable(outgoing)
                return True
            except RetryAfter:
                # The rate limiter already waited and retried; the sweep will try again later.
                logger.warning("flood limit still hit for chat %s; message kept for later", outgoing.chat_id)
                return False
            except BadRequest as exc:
                if _is(exc, "message is not modified"):
                    await self.service.delivered(outgoing, None)
                    return True
                if "edit" in payload and _is(exc, "message to edit not found", "message can't be edited"):
                    # The screen was deleted or is too old to edit: show it as a new message instead.
                    payload = {k: v for k, v in payload.items() if k != "edit"}
                    outgoing = OutboxMessage(outgoing.id, outgoing.chat_id, payload)
                    continue
                logger.error("Telegram refused a message to chat %s: %s", outgoing.chat_id, exc.message)
                await self.service.undeliverable(outgoing)
                return True
            except TimedOut:
                # Telegram may have received it: a retry now could show it twice. The sweep retries later.
                logger.warning("timed out sending to chat %s; message kept for later", outgoing.chat_id)
                return False
            except NetworkError as exc:
                if attempt == CONNECT_ATTEMPTS:
                    logger.warning(
                        "network error for chat %s, message kept for later: %s", outgoing.chat_id, exc
                    )
                    return False
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            await self.service.delivered(outgoing, sent)
            return True
        return False

    async def _send(self, payload: Mapping[str, Any]) -> int | None:
        """Sends or edits; returns the id of the message that now shows the payload."""
        rows = payload.get("rows", ())
        if "edit" in payload:
            await self.bot.edit_screen(payload["chat_id"], payload["edit"], payload["text"], rows)
            return int(payload["edit"])
        return await self.bot.send_screen(payload["chat_id"], payload["text"], rows)
