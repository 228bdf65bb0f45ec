"""People's questions, posted in the support chat from the store: once each, whoever recorded them; and the
bot's lines owed to the support chat (a question solved, closed, or gone with its person), said from the store
the same way.

A question is recorded with its text before anything is sent (bot.handoff.desk), so a crash cannot lose
it: whatever is still pending is posted here, by the handler that recorded it, or after a restart, or by
another instance's sweep. Like the outbox (bot/telegram/delivery.py), posting is at least once: a question is
posted again only when a crash falls between Telegram's answer and its record, which forgets the text.

One poster at a time keeps them in order and never posts one twice: within a process a lock, across
processes the store's lease ``support-questions`` (renewed while a post is on its way), given up only once
nothing is left, or once Telegram makes it wait. The bot's other lines in the support chat (the open questions
on /tickets, "sent to the person", how to reach a question) are said here too, directly: an operator who
misses one asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.handoff.desk import SupportDesk
from bot.runtime.messages import OutgoingMessage
from bot.runtime.outbox import OUTBOX_LEASE
from bot.store import PendingQuestion, Relay, SupportNotice, Ticket
from bot.telegram.screenbot import ScreenBot

__all__ = ["QuestionRelay"]

logger = logging.getLogger(__name__)

LEASE_NAME = "support-questions"
SETTLE_SECONDS = 2 * OUTBOX_LEASE.total_seconds()
"""How long an operator's reply waits for the questions still being posted, at most: the post it replies to
may be one whose id is not recorded yet."""
SETTLE_CHECK_SECONDS = 0.05


def _now() -> datetime:
    # Wall-clock time, not the bot's injected clock: a lease is about processes staying alive.
    return datetime.now(UTC)


class QuestionRelay:
    """Posts the questions waiting in the store in the support chat, oldest first, and says the bot's lines there."""

    def __init__(self, desk: SupportDesk, bot: ScreenBot, holder: str) -> None:
        self.desk = desk
        self.store = desk.store
        self.bot = bot
        self.holder = holder
        self._posting = asyncio.Lock()
        self._forum: bool | None = None
        """Whether the support chat is a forum: learnt from the first topic Telegram creates or refuses."""

    async def post_pending(self) -> None:
        """Posts every question waiting, unless another instance is posting them (it posts these too)."""
        async with self._posting:
            shared = self.store.serves_several_processes
            while True:
                if shared and not await self.store.acquire_lease(
                    LEASE_NAME, self.holder, _now(), OUTBOX_LEASE
                ):
                    return  # the holder checks for more before it gives the lease up
                try:
                    finished = await self._post_all()
                finally:
                    if shared:
                        await self.store.release_lease(LEASE_NAME, self.holder)
                # Checked once the lease is given up: a question recorded meanwhile is posted by someone.
                if not finished or not shared or not await self._anything_pending():
                    return

    async def settled(self) -> None:
        """Posts the questions waiting, or waits (at most SETTLE_SECONDS) while another instance posts them."""
        await self.post_pending()
        if not self.store.serves_several_processes:
            return  # what this process was posting is recorded; what is left waits for Telegram
        deadline = time.monotonic() + SETTLE_SECONDS
        # Another instance posts them: nothing here signals when it is done, so the store is asked.
        while time.monotonic() < deadline and await self.store.pending_questions(1):  # noqa: ASYNC110
            await asyncio.sleep(SETTLE_CHECK_SECONDS)

    async def _post_all(self) -> bool:
        """Posts pending questions, then the lines owed to the support chat, until none is left (True) or
        Telegram makes the rest wait (False).

        One at a time, read again each time: a ticket's first post makes the next question a follow-up.
        """
        while pending := await self.store.pending_questions(1):
            if not await self._post(pending[0]):
                return False
        while owed := await self.store.pending_notices(1):
            if not await self._say_owed(owed[0]):
                return False
        return True

    async def _anything_pending(self) -> bool:
        return bool(await self.store.pending_questions(1) or await self.store.pending_notices(1))

    async def _post(self, question: PendingQuestion) -> bool:
        """Posts one question and records it; False when it must wait for a later try."""
        ticket = question.ticket

        async def post() -> int:
            topic = await self._topic_for(ticket)
            return await self.say((await self.desk.post_of(question)).text, topic)

        done, copy = await self._attempt(post, f"question #{ticket.id}'s message")
        if done:
            await self.store.relayed(ticket.id, Relay.QUESTION, question.source_message_id, copy)
        return done

    async def _say_owed(self, notice: SupportNotice) -> bool:
        """Says one line owed to the support chat and forgets it; False when it must wait for a later try."""

        async def say() -> int:
            return await self.say(self.desk.notice_text(notice), notice.topic_id)

        done, _ = await self._attempt(say, f"the line about #{notice.ticket_id}")
        if done:
            await self.store.notice_said(notice.id)
        return done

    async def _attempt(self, send: Callable[[], Awaitable[int]], what: str) -> tuple[bool, int | None]:
        """Sends one message in the support chat: (True, its id); (True, None) when Telegram refuses it for
        good; (False, None) when it must wait for a later try."""
        try:
            async with self._lease_kept():
                return True, await send()
        except Forbidden as exc:
            logger.warning("the support chat refuses the bot's messages; they wait (%s)", exc.message)
            return False, None
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                logger.warning("the support chat cannot be found; questions wait (check BOT_SUPPORT_CHAT_ID)")
                return False, None
            logger.error("Telegram refused %s: %s", what, exc.message)
            return True, None
        except TelegramError as exc:
            # Timed out, flood limit, network: maybe sent; sent (again) at the next sweep.
            logger.warning("could not send %s yet (%s)", what, type(exc).__name__)
            return False, None

    async def say(self, text: str, topic: int | None = None) -> int:
        """Says ``text`` in the support chat, in a forum topic when given; returns the message's id."""
        chat_id = self.desk.support.chat_id
        if topic is None:
            return await self.bot.show(OutgoingMessage(chat_id, text))
        sent = await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, message_thread_id=topic)
        return sent.message_id

    async def _topic_for(self, ticket: Ticket) -> int | None:
        """Returns the ticket's forum topic, opening (and recording) it for its first post in a forum."""
        if ticket.topic_id is not None or ticket.support_message_id is not None or self._forum is False:
            return ticket.topic_id
        name = f"#{ticket.id} · {ticket.language}"
        try:
            topic = await self.bot.create_forum_topic(self.desk.support.chat_id, name)
        except BadRequest as exc:
            if "not a forum" not in exc.message.lower():
                raise
            self._forum = False
            return None
        self._forum = True
        await self.store.record_topic(ticket.id, topic.message_thread_id)
        return topic.message_thread_id

    @contextlib.asynccontextmanager
    async def _lease_kept(self) -> AsyncIterator[None]:
        """Renews the lease while a post is on its way, however long Telegram takes (several instances)."""
        if not self.store.serves_several_processes:
            yield
            return
        renewing = asyncio.create_task(self._renew(), name="support-questions-lease")
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(OUTBOX_LEASE.total_seconds() / 3)
            try:
                kept = await self.store.acquire_lease(LEASE_NAME, self.holder, _now(), OUTBOX_LEASE)
            except Exception as exc:
                logger.warning("could not renew the lease on posting questions (%s)", type(exc).__name__)
                continue
            if not kept:
                logger.warning("the lease on posting questions ran out while one was on its way")
                return
