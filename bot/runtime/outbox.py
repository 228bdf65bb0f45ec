"""The outbox as the messenger edge sees it: committed messages to claim, send and record as delivered.

The store keeps each message as an opaque payload (:mod:`bot.runtime.messages`); this reads them back as
:class:`~bot.runtime.messages.QueuedMessage` and records what a delivered one became (the chat's screen,
or its latest reminder). Giving a claim up, dropping an undeliverable message or marking a chat blocked
need nothing of the runtime: the edge asks the store itself.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.runtime.messages import QueuedMessage, from_outbox
from bot.store import Outbox as StoredOutbox

__all__ = ["OUTBOX_LEASE", "Outbox"]

OUTBOX_LEASE = timedelta(seconds=3)
"""How long a process's claim on a chat's unsent messages lasts: it is taken before the first message, renewed with
each delivery recorded and every third of it while one is on its way (bot/telegram/delivery.py); if the process dies while sending, another
process's sweep sends them once it lapses."""


class Outbox:
    """Reads committed messages for delivery and records their delivery."""

    def __init__(self, store: StoredOutbox, clock: Clock) -> None:
        self.store = store
        self.clock = clock

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
        await self.store.record_delivery(
            queued.outbox_id, queued.message.chat_id, *_shown(queued, message_id)
        )

    async def delivered_then_claim(
        self, queued: QueuedMessage, message_id: int | None, holder: str
    ) -> list[QueuedMessage] | None:
        """Records a delivery as :meth:`delivered` does and claims the chat's outbox again, in one trip: returns
        the messages still to send ([] once none is left, the claim given up), None while another holds it."""
        claimed = await self.store.record_delivery_and_claim(
            queued.outbox_id,
            queued.message.chat_id,
            *_shown(queued, message_id),
            holder=holder,
            now=self.clock.now(),
            lease=OUTBOX_LEASE,
        )
        return None if claimed is None else [from_outbox(stored) for stored in claimed]


def _shown(queued: QueuedMessage, message_id: int | None) -> tuple[int | None, int | None]:
    """Returns what a delivered message became: (the chat's screen, its latest reminder), None where neither."""
    screen = message_id if queued.message.shows_screen else None
    reminder = message_id if queued.message.shows_reminder else None
    return screen, reminder
