"""Delivers committed outbox messages through the Bot API, and handles Telegram's failure modes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.runtime.messages import OutgoingMessage, QueuedMessage
from bot.runtime.outbox import OUTBOX_LEASE, Claimed
from bot.runtime.service import ChatService
from bot.telegram.screenbot import ScreenBot

__all__ = ["Delivery"]

logger = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3
RENEW_EVERY = OUTBOX_LEASE.total_seconds() / 3
"""Seconds between renewals of a chat's outbox claim while one of its messages is on its way."""


def _is(exc: TelegramError, *phrases: str) -> bool:
    text = exc.message.lower()
    return any(phrase in text for phrase in phrases)


class Delivery:
    """Sends outbox messages once each and in order per chat, whoever asks: a handler, a reminder, the sweep.

    Whoever delivers holds the chat's lock (``service.locks``): a handler's update, a reminder and the
    sweep never send one chat's messages at the same time. The sweep reads a chat's outbox again once it
    holds the lock, so what a handler has just delivered is not sent twice; nothing about deliveries is
    remembered in memory.

    When several processes share the store, a chat's messages are sent by the one process holding the
    chat's outbox claim (bot/store/base.py): it sends every pending message of the chat in order, its own
    and those another process committed meanwhile, and gives the claim up only once none is left. A
    process that finds the claim taken leaves its messages to the holder.
    """

    def __init__(self, bot: ScreenBot, service: ChatService) -> None:
        self.bot = bot
        self.service = service
        self.holder = service.outbox.holder
        """This process, as the holder of outbox claims (the one its commits claim for)."""

    async def deliver(self, messages: Iterable[QueuedMessage], claimed: Claimed | None = None) -> None:
        """Delivers one chat's messages in order (the caller holds the chat's lock); stops at the first
        that must wait, so none overtakes it. ``claimed``: the chat's outbox as their commit claimed it."""
        if self.service.store.serves_several_processes:
            for chat_id in dict.fromkeys(queued.message.chat_id for queued in messages):
                await self._deliver_claimed(
                    chat_id, claimed if claimed and claimed.chat_id == chat_id else None
                )
            return
        for queued in messages:
            sent = await self._send_one(queued)
            if sent is None:
                return  # left in the outbox with those after it: the sweep sends them later, in order
            await self.service.outbox.delivered(sent.queued, sent.message_id)

    async def _deliver_claimed(self, chat_id: int, claimed: Claimed | None) -> None:
        """Sends the chat's pending messages while holding its outbox claim, until none is left.

        The claim is taken by the commit (``claimed``) or here, and again (renewed) with each delivery
        recorded, so that it lasts one send whatever the number of messages, and lapses soon if this
        process dies.
        """
        if claimed is None:
            pending = await self.service.outbox.claim(chat_id, self.holder)
        else:
            pending = None if claimed.pending is None else list(claimed.pending)
        while pending is not None:  # None: another process holds the claim; it sends these too, after its own
            if not pending:
                if await self.service.store.release_outbox(chat_id, self.holder, unless_pending=True):
                    return
                pending = await self.service.outbox.claim(chat_id, self.holder)
                continue
            async with self._claim_kept(chat_id):
                sent = await self._send_one(pending[0])
            if sent is None:
                # Must wait: the claim goes, so that a later sweep (of any process) sends them in order.
                await self.service.store.release_outbox(chat_id, self.holder, unless_pending=False)
                return
            # [] once none is left: the claim was given up in the same trip.
            pending = await self.service.outbox.delivered_then_claim(
                sent.queued, sent.message_id, self.holder
            )
            if pending == []:
                return

    @contextlib.asynccontextmanager
    async def _claim_kept(self, chat_id: int) -> AsyncIterator[None]:
        """Renews the chat's outbox claim while a message is on its way, however long Telegram takes.

        So the claim can be short (OUTBOX_LEASE): if this process dies mid-send, another sends the message
        soon after, and a slow answer from Telegram never lets another process send it a second time.
        """
        # Most messages are sent well within a third of the lease: a timer, not a task, waits for that, so a
        # quick send costs no task to create and cancel (one per message, on the busiest path).
        renewing: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            RENEW_EVERY,
            lambda: renewing.append(
                asyncio.create_task(self._renew_claim(chat_id), name=f"outbox-claim-{chat_id}")
            ),
        )
        try:
            yield
        finally:
            timer.cancel()
            for task in renewing:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _renew_claim(self, chat_id: int) -> None:
        """Renews the claim now, then every RENEW_EVERY, until cancelled or the claim is found lost."""
        while True:
            try:
                still = await self.service.outbox.claim(chat_id, self.holder)
            except Exception as exc:
                logger.warning(
                    "could not renew the outbox claim of chat %s (%s)", chat_id, type(exc).__name__
                )
            else:
                if still is None:
                    logger.warning(
                        "the outbox claim of chat %s ran out while a message was on its way", chat_id
                    )
                    return
            await asyncio.sleep(RENEW_EVERY)

    async def deliver_direct(self, messages: Iterable[OutgoingMessage]) -> None:
        """Sends messages that are not in the outbox (nothing is recorded about them)."""
        for message in messages:
            try:
                await self.bot.show(message)
            except TelegramError as exc:
                logger.info("could not send a direct message to chat %s: %s", message.chat_id, exc)

    async def sweep(self, limit: int = 500) -> int:
        """Sends what was committed but never sent (after a crash or a failure); returns how many it found."""
        pending = await self.service.outbox.pending(limit)
        chats = dict.fromkeys(queued.message.chat_id for queued in pending)
        if self.service.store.serves_several_processes:
            # A chat whose lock is held (or awaited) here is being handled: its holder delivers every message
            # pending for it under the outbox claim, and a later sweep finds any it could not. Waiting for the
            # lock to read them again would cost a store trip per chat busy now, for nothing.
            chats = {chat_id: None for chat_id in chats if not self.service.locks.busy(chat_id)}
        await asyncio.gather(*(self._sweep_chat(chat_id, limit) for chat_id in chats))
        return len(pending)

    async def _sweep_chat(self, chat_id: int, limit: int) -> None:
        async with self.service.locks.hold(chat_id):
            # Read again under the lock: an update of this chat may have delivered them meanwhile.
            await self.deliver(await self.service.outbox.pending(limit, chat_id))

    async def _send_one(self, queued: QueuedMessage) -> _Sent | None:
        """Sends one message; returns what to record of it, or None when it must stay in the outbox for a
        later try. The caller records the delivery (it leaves the outbox then)."""
        chat_id = queued.message.chat_id
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                return _Sent(queued, await self.bot.show(queued.message))
            except Forbidden:
                logger.info("chat %s blocked the bot; its reminders stop", chat_id)
                await self.service.store.set_blocked(chat_id, True)
                return _Sent(queued, None)
            except RetryAfter:
                # The rate limiter already waited and retried; the sweep will try again later.
                logger.warning("flood limit still hit for chat %s; message kept for later", chat_id)
                return None
            except BadRequest as exc:
                if _is(exc, "message is not modified"):
                    return _Sent(queued, None)
                edits = queued.message.edit is not None
                if queued.message.strip and _is(exc, "message to edit not found", "message can't be edited"):
                    # The buttons went with the message: nothing is left to take off.
                    return _Sent(queued, None)
                if edits and _is(exc, "message to edit not found", "message can't be edited"):
                    # The screen was deleted or is too old to edit: show it as a new message instead.
                    queued = replace(queued, message=queued.message.as_new_message())
                    continue
                logger.error("Telegram refused a message to chat %s: %s", chat_id, exc.message)
                return _Sent(queued, None)
            except TimedOut:
                # Telegram may have received it: a retry now could show it twice. The sweep retries later.
                logger.warning("timed out sending to chat %s; message kept for later", chat_id)
                return None
            except NetworkError as exc:
                if attempt == CONNECT_ATTEMPTS:
                    logger.warning("network error for chat %s, message kept for later: %s", chat_id, exc)
                    return None
                await asyncio.sleep(0.2 * 2**attempt)
        return None


@dataclass(frozen=True, slots=True)
class _Sent:
    """A message that leaves the outbox: as it was sent, and the message it showed (None: nothing to record
    beyond its leaving, as when Telegram refused it or the chat blocked the bot)."""

    queued: QueuedMessage
    message_id: int | None
