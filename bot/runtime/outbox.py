"""The outbox as the messenger edge sees it: committed messages to claim, send and record as delivered.

The store keeps each message as an opaque payload (:mod:`bot.runtime.messages`); this commits them (with
several processes, claiming the chat's outbox in the same trip), reads them back as
:class:`~bot.runtime.messages.QueuedMessage` and records what a delivered one became (the chat's screen,
or its latest reminder), in the store and in the chats kept in memory (:mod:`bot.runtime.recent`). Giving a claim up, dropping an undeliverable message or marking a chat blocked
need nothing of the runtime: the edge asks the store itself.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.runtime.messages import OutgoingMessage, QueuedMessage, from_outbox
from bot.runtime.recent import RecentChats
from bot.store import ChatStore, Commit
from bot.store import Outbox as StoredOutbox
from bot.store.columns import after_delivery

__all__ = ["OUTBOX_LEASE", "Claimed", "Outbox"]

OUTBOX_LEASE = timedelta(seconds=3)
"""How long a process's claim on a chat's unsent messages lasts: it is taken before the first message, renewed with
each delivery recorded and every third of it while one is on its way (bot/telegram/delivery.py); if the process dies while sending, another
process's sweep sends them once it lapses."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A chat's outbox as the commit of its messages claimed it, in the same trip to the store.

    ``pending`` holds the chat's messages to send under this process's claim, oldest first (the commit's
    among them, and any another process left); None while another process holds the claim: it sends them all.
    """

    chat_id: int
    pending: tuple[QueuedMessage, ...] | None


class _Store(ChatStore, StoredOutbox, Protocol):
    """What the outbox uses of the store: the outbox, and the commit that claims it."""


class Outbox:
    """Commits messages, reads them back for delivery and records their delivery, as ``holder``."""

    def __init__(self, store: _Store, clock: Clock, recent: RecentChats | None = None) -> None:
        self.store = store
        self.clock = clock
        self.recent = RecentChats(0) if recent is None else recent
        """The chats kept as this process left them: a delivery recorded here changes them too."""
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process, as the holder of outbox claims (bot/store/base.py)."""

    async def commit(
        self, commit: Commit, now: datetime, messages: Sequence[OutgoingMessage], *, claim: bool
    ) -> tuple[tuple[QueuedMessage, ...], Claimed | None]:
        """Commits ``commit`` (``messages`` are its outbox, unencoded) and returns them as queued; with ``claim``
        and several processes sharing the store, the chat's outbox is claimed for this process in the same trip,
        so that its delivery starts with what to send."""
        if claim and commit.outbox and self.store.serves_several_processes:
            both = await self.store.commit_and_claim(commit, now, holder=self.holder, lease=OUTBOX_LEASE)
            stored, pending = both.queued, both.pending
            claimed = Claimed(commit.chat_id, None if pending is None else tuple(map(from_outbox, pending)))
        else:
            stored, claimed = await self.store.commit(commit, now), None
        queued = tuple(QueuedMessage(row.id, message) for row, message in zip(stored, messages, strict=True))
        return queued, claimed

    async def claim(self, chat_id: int, holder: str) -> list[QueuedMessage] | None:
        """Claims the chat's unsent messages for ``holder`` (this process) and returns them, oldest first;
        None while another process sends them."""
        claimed = await self.store.claim_outbox(chat_id, holder, self.clock.now(), OUTBOX_LEASE)
        return None if claimed is None else [from_outbox(stored) for stored in claimed]

    async def pending(self, limit: int = 500, chat_id: int | None = None) -> list[QueuedMessage]:
        """Returns messages committed but never sent (of one chat, when given), oldest first."""
        return [from_outbox(stored) for stored in await self.store.pending_outbox(limit, chat_id)]

    async def delivered(self, queued: QueuedMessage, message_id: int | None) -> None:
        """Records that a message went out; a new screen message becomes the one edited from now on."""
        chat_id, shown = queued.message.chat_id, _shown(queued, message_id)
        kept = self.recent.take(chat_id)  # kept again once recorded: a failed record leaves none
        await self.store.record_delivery(queued.outbox_id, chat_id, *shown)
        if kept is not None:
            self.recent.loaded(chat_id, after_delivery(kept, *shown))

    async def delivered_then_claim(
        self, queued: QueuedMessage, message_id: int | None, holder: str
    ) -> list[QueuedMessage] | None:
        """Records a delivery as :meth:`delivered` does and claims the chat's outbox again, in one trip: returns
        the messages still to send ([] once none is left, the claim given up), None while another holds it."""
        chat_id, shown = queued.message.chat_id, _shown(queued, message_id)
        kept = self.recent.take(chat_id)
        claimed = await self.store.record_delivery_and_claim(
            queued.outbox_id, chat_id, *shown, holder=holder, now=self.clock.now(), lease=OUTBOX_LEASE
        )
        if claimed is None:
            return None  # another holder's claim runs, or the chat is gone: it is loaded next time
        if kept is not None:
            self.recent.loaded(chat_id, after_delivery(kept, *shown))
        return [from_outbox(stored) for stored in claimed]


def _shown(queued: QueuedMessage, message_id: int | None) -> tuple[int | None, int | None]:
    """Returns what a delivered message became: (the chat's screen, its latest reminder), None where neither."""
    screen = message_id if queued.message.shows_screen else None
    reminder = message_id if queued.message.shows_reminder else None
    return screen, reminder
