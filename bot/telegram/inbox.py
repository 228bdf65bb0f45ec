"""Long polling that makes each update durable before Telegram forgets it.

python-telegram-bot's ``Updater`` asks for the next getUpdates offset (which tells Telegram to forget the
previous batch) as soon as a batch is queued, before the handlers have committed it: a crash in between
loses the whole batch. Here each fetched batch is first written to the store's inbox in one transaction,
then confirmed by the next getUpdates, then handled (each update parsed once); a handled update leaves the
inbox, and what the inbox still holds at a start (a crash, a stop with updates in hand) is handled then,
oldest first, before anything new. The store's record of update ids (``DuplicateUpdate``) keeps an update
that was committed from being applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.store import Inbox, InboxUpdate
from bot.telegram.handling import UpdateHandling
from bot.telegram.kept import InboxCopy
from bot.telegram.leadership import Tenure
from bot.telegram.retrying import FIRST_RETRY_SECONDS, Retrying
from bot.telegram.screenbot import ScreenBot

__all__ = ["InboxPolling"]

logger = logging.getLogger(__name__)

LONG_POLL = timedelta(seconds=25)
# Handled updates leave the inbox in batches, one store trip at most this often, so that the cost per
# update does not grow with the rate.
REMOVAL_SPACING_SECONDS = 0.02
# Unfinished updates beyond this stay at Telegram until some finish; the inbox is read in pages of this.
MOST_IN_HAND = 1000
INBOX_PAGE = 500
# A polled update whose handlers fail is tried this many times, then given up (and removed from the inbox),
# so that one update that always fails cannot come back at every start.
HANDLER_ATTEMPTS = 4
# An update the store refuses to keep (while it keeps others) is fetched again this many times, then set
# aside: handled without a copy, so that it cannot hold up every chat behind it.
KEEP_ATTEMPTS = 3
LEASE_CHECK_SECONDS = 0.02


class InboxPolling:
    """Long polling through the store's inbox: a batch is kept, then confirmed, then handled, each update once."""

    def __init__(
        self,
        handling: UpdateHandling,
        retrying: Retrying,
        allowed_updates: Sequence[str],
        inbox: Inbox,
        copy: InboxCopy,
        tenure: Tenure | None = None,
    ) -> None:
        self.handling = handling
        self.retrying = retrying
        self.allowed_updates = list(allowed_updates)
        self.inbox = inbox
        self.copy = copy
        self.tenure = tenure
        """The polling lease's term, when several instances share the store: poll only while it runs."""
        bot = handling.application.bot
        if not isinstance(bot, ScreenBot):
            raise TypeError("polling through the inbox takes getUpdates as JSON: the bot must be a ScreenBot")
        self.bot = bot
        self._in_hand: set[asyncio.Task[bool]] = set()
        self._handled: list[int] = []
        self._some_handled = asyncio.Event()
        self._closing = False
        self._offset: int | None = None
        self._newest = -1
        self._refusals: Counter[int] = Counter()

    async def run(self) -> None:
        """Handles what the inbox still holds, polls until the bot is stopped, then finishes the updates in hand."""
        done, _ = await self.retrying.call("deleting the webhook", self.bot.delete_webhook)
        removing = asyncio.create_task(self._remove_handled_forever(), name="inbox-removal")
        try:
            if done:
                await self._resume()
                logger.info("taking updates by long polling")
                await self._poll()
        finally:
            await self._drain()
            # Not cancelled: a removal cut short in the store's thread would leave its ids unknown.
            self._closing = True
            self._some_handled.set()
            await removing
            await self._remove_handled()
        await self._confirm_last()

    async def _poll(self) -> None:
        """Takes batches from Telegram until the bot is stopped: each kept, then confirmed, then handled."""
        while not self.retrying.stopping.is_set():
            await self._wait_for_room()
            if not await self._lease_runs():
                return
            done, updates = await self.retrying.call("getting updates", self._get_updates)
            if not done:
                return
            # Telegram's ids grow: one at or below the newest kept is in the inbox already (kept, then a crash).
            fresh = [item for item in updates or () if _newer(item, self._newest)]
            parsed = [(item, self._parsed(item["update_id"], item)) for item in fresh]
            relayed = await self._relayed([update for _, update in parsed if update is not None])
            copies = [
                (update, self._copy(item, update, relayed)) for item, update in parsed if update is not None
            ]
            kept = [InboxUpdate(update.update_id, copy) for update, copy in copies if copy is not None]
            if fresh and await self._keep(kept):
                self._newest = fresh[-1]["update_id"]
                self._offset = self._newest + 1  # confirmed to Telegram by the next getUpdates
                for update, _ in copies:
                    # As received: what was typed lives in this process only.
                    self._start(update.update_id, update)

    async def _lease_runs(self) -> bool:
        """Waits while a renewal of the polling lease is due; False once the tenure has ended."""
        tenure = self.tenure
        while tenure is not None and not tenure.valid():
            if tenure.ended.is_set():
                return False
            await asyncio.sleep(LEASE_CHECK_SECONDS)
        return True

    async def _confirm_last(self) -> None:
        """Tells Telegram the last batch arrived, so that the next start does not fetch it again.

        Not after a lost lease: another instance may be polling, and any getUpdates would end its long poll.
        """
        if self._offset is None or (self.tenure is not None and self.tenure.lost):
            return
        try:
            await self.bot.get_updates(offset=self._offset, timeout=timedelta(0), limit=1)
        except TelegramError as exc:
            # They come again at the next start: kept in the inbox or recognised as already handled.
            logger.info("could not confirm the last updates to Telegram: %s", exc)

    async def _resume(self) -> None:
        """Hands over what the inbox kept before a stop or a crash, oldest first, before any new update."""
        resumed = 0
        while True:
            await self._wait_for_room()
            kept = await self.inbox.inbox_pending(INBOX_PAGE, after_update_id=self._newest)
            if not kept:
                break
            for entry in kept:
                self._submit(entry)
            resumed += len(kept)
            self._newest = kept[-1].update_id
            self._offset = self._newest + 1
        if resumed:
            logger.info("handling %d updates kept from before the restart", resumed)

    async def _get_updates(self) -> list[dict[str, Any]]:
        return await self.bot.raw_updates(self._offset, LONG_POLL, self.allowed_updates)

    async def _keep(self, batch: Sequence[InboxUpdate]) -> bool:
        """Writes a fetched batch to the inbox in one transaction; False (after a pause) to fetch it again.

        When the store refuses the batch, each update is tried alone: one the store keeps refusing while it
        answers (a lone surrogate, a NUL) is set aside after KEEP_ATTEMPTS, logged by id only.
        """
        try:
            await self.inbox.inbox_add(batch, datetime.now(UTC))
        except Exception as exc:
            refused = await self._refused_alone(batch)
            if refused is None or any(self._refusals[entry.update_id] < KEEP_ATTEMPTS for entry in refused):
                # Not confirmed to Telegram either: the batch comes again at the next poll.
                logger.warning(
                    "could not keep %d updates in the inbox (%s); fetching them again", len(batch), _why(exc)
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.retrying.stopping.wait(), FIRST_RETRY_SECONDS)
                return False
            for entry in refused:
                logger.error(
                    "update %s set aside: the store refused to keep it %d times (%s); handled without a copy",
                    entry.update_id, KEEP_ATTEMPTS, _why(exc),
                )  # fmt: skip
                del self._refusals[entry.update_id]
        return True

    async def _refused_alone(self, batch: Sequence[InboxUpdate]) -> list[InboxUpdate] | None:
        """Keeps each update of a refused batch alone; returns those refused, None when the store is down."""
        refused = []
        for entry in batch:
            try:
                await self.inbox.inbox_add([entry], datetime.now(UTC))
            except Exception:
                refused.append(entry)
        if len(refused) == len(batch):
            try:
                await self.inbox.inbox_pending(1, after_update_id=self._newest)
            except Exception:
                return None  # the store answers nothing: not these updates' fault
        for entry in refused:
            self._refusals[entry.update_id] += 1
        return refused

    def _parsed(self, update_id: int, payload: Mapping[str, Any]) -> Update | None:
        """Parses an update (the one time it is parsed); None, logged by id, when it cannot be read."""
        try:
            return Update.de_json(dict(payload), self.bot)
        except (
            Exception
        ) as exc:  # anything Telegram hands over is untrusted: one bad update must not stop polling
            logger.error("update %s set aside: python-telegram-bot cannot read it (%s)", update_id, _why(exc))
            return None

    async def _relayed(self, updates: Sequence[Update]) -> frozenset[int]:
        """Returns the chats whose typed text the inbox keeps (bot.telegram.kept); none when the store fails."""
        try:
            return await self.copy.relayed_chats(updates)
        except Exception as exc:  # the batch is still kept, without the texts: polling goes on
            logger.warning("could not tell which chats relay their messages (%s)", _why(exc))
            return frozenset()

    def _copy(
        self, payload: Mapping[str, Any], update: Update, relayed: frozenset[int]
    ) -> dict[str, Any] | None:
        """Returns what the inbox keeps of an update; None (logged by id) when there is nothing to keep."""
        try:
            return self.copy.of(payload, update, relayed)
        except Exception as exc:  # as in _parsed: handled without a copy rather than stopping polling
            logger.error(
                "update %s handled without a copy: its copy failed (%s)", update.update_id, _why(exc)
            )
            return None

    def _submit(self, kept: InboxUpdate) -> None:
        """Starts handling an update kept before a restart, or lets it go when it cannot be read."""
        update = self._parsed(kept.update_id, kept.payload)
        if update is None:
            self._handled.append(kept.update_id)
            self._some_handled.set()
            return
        self._start(kept.update_id, update)

    def _start(self, update_id: int, update: Update) -> None:
        task = self.handling.submit(update, attempts=HANDLER_ATTEMPTS)
        self._in_hand.add(task)
        task.add_done_callback(functools.partial(self._finished, update_id))

    def _finished(self, update_id: int, task: asyncio.Task[bool]) -> None:
        self._in_hand.discard(task)
        if not task.cancelled():  # finished, or given up after HANDLER_ATTEMPTS: either way done with
            self._handled.append(update_id)
            self._some_handled.set()

    async def _wait_for_room(self) -> None:
        """Waits while MOST_IN_HAND updates are unfinished: the rest wait at Telegram meanwhile."""
        while len(self._in_hand) >= MOST_IN_HAND:
            await asyncio.wait(tuple(self._in_hand), return_when=asyncio.FIRST_COMPLETED)

    async def _drain(self) -> None:
        while self._in_hand:
            await asyncio.wait(tuple(self._in_hand))

    async def _remove_handled_forever(self) -> None:
        """Removes handled updates from the inbox, at most one store trip per REMOVAL_SPACING_SECONDS."""
        while True:
            await self._some_handled.wait()
            self._some_handled.clear()
            if self._closing:
                return
            await self._remove_handled()
            await asyncio.sleep(REMOVAL_SPACING_SECONDS)

    async def _remove_handled(self) -> None:
        handled, self._handled = self._handled, []
        if not handled:
            return
        try:
            await self.inbox.inbox_remove(handled)
        except Exception:
            # Kept for the next try; were the bot to stop first, they would be recognised as handled.
            logger.exception("could not remove %d handled updates from the inbox", len(handled))
            self._handled.extend(handled)


def _why(error: BaseException) -> str:
    """Names an error without its message, which may quote what people typed."""
    return type(error).__name__


def _newer(item: dict[str, Any], newest: int) -> bool:
    update_id = item.get("update_id")
    return isinstance(update_id, int) and update_id > newest
