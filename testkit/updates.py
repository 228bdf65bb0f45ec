"""The updates waiting for the bot, handed out in order by long polling or posted to its webhook."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import time
from collections import deque
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from testkit.chats import ApiError

__all__ = ["CONFLICT", "UpdateQueue"]

JSONDict = dict[str, Any]

# What Telegram answers a long poll that another getUpdates call ended (two pollers on one token).
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


@dataclasses.dataclass(slots=True)
class _QueuedUpdate:
    update_id: int
    kind: str
    payload: JSONDict
    chat_id: int | None
    handed_out: bool = False


class UpdateQueue:
    """Updates in the order people made them, kept until the bot confirms them, as Telegram keeps them."""

    def __init__(self) -> None:
        self._updates: deque[_QueuedUpdate] = deque()
        self._update_ids = itertools.count(100_000_001)
        self._allowed: list[str] | None = None
        self._webhook: JSONDict = {}
        self._webhook_task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._closing = False
        # Per chat, when each update handed out and not yet answered was handed out, oldest first.
        self._unanswered: dict[int, deque[float]] = {}
        # As on Telegram, a getUpdates ends the one still waiting (409): only the newest poll may wait.
        self._polls = itertools.count(1)
        self._newest_poll = 0

    def __len__(self) -> int:
        """Returns how many updates the bot has not confirmed yet."""
        return len(self._updates)

    def open(self) -> None:
        """Starts handing updates out (inside the running event loop)."""
        self._ready = asyncio.Event()
        self._closing = False

    async def close(self) -> None:
        """Ends long polls in progress and stops posting to the webhook."""
        self._closing = True
        if self._ready is not None:
            self._ready.set()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    def put(self, kind: str, payload: JSONDict, chat_id: int | None) -> int:
        """Queues an update of ``kind`` (``message``, ``callback_query``); returns its update id."""
        update_id = next(self._update_ids)
        self._updates.append(_QueuedUpdate(update_id, kind, payload, chat_id))
        if self._ready is not None:
            self._ready.set()
        return update_id

    def answered(self, chat_id: int) -> float | None:
        """Notes that the bot answered ``chat_id``; returns when the update it answered was handed out."""
        waiting = self._unanswered.get(chat_id)
        return waiting.popleft() if waiting else None

    async def get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Answers ``getUpdates``: confirms up to ``offset``, then hands out what is ready or waits for it."""
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        poll = self._newest_poll = next(self._polls)
        if self._ready is not None:
            self._ready.set()  # a long poll still waiting learns it has been overtaken
        self._confirm(int(params.get("offset", 0) or 0))
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        limit = max(1, min(100, int(params.get("limit", 100) or 100)))
        timeout = float(params.get("timeout", 0) or 0)
        ready = self._available(limit)
        if not ready and timeout > 0 and self._ready is not None:
            deadline = time.monotonic() + timeout
            while not ready and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), remaining)
                if poll != self._newest_poll:
                    raise ApiError(409, CONFLICT)
                ready = self._available(limit)
        now = time.monotonic()
        return [self._hand_out(update, now) for update in ready]

    def set_webhook(self, params: JSONDict) -> bool:
        """Answers ``setWebhook``: from now on updates are posted to its URL, with its secret token."""
        url = str(params.get("url", "") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            return self.delete_webhook(params)
        self._webhook = {"url": url, "max_connections": int(params.get("max_connections", 40) or 40)}
        if params.get("secret_token"):
            self._webhook["secret_token"] = str(params["secret_token"])
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._post_to_webhook())
        if self._ready is not None:
            self._ready.set()
        return True

    def delete_webhook(self, params: JSONDict) -> bool:
        """Answers ``deleteWebhook``: back to long polling."""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def webhook_info(self, params: JSONDict) -> JSONDict:
        """Answers ``getWebhookInfo``."""
        info: JSONDict = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "last_error_date", "last_error_message"):
            if key in self._webhook:
                info[key] = self._webhook[key]
        if self._webhook and self._allowed:
            info["allowed_updates"] = self._allowed
        return info

    def _hand_out(self, update: _QueuedUpdate, now: float) -> JSONDict:
        if not update.handed_out:
            update.handed_out = True
            if update.chat_id is not None:
                self._unanswered.setdefault(update.chat_id, deque()).append(now)
        return {"update_id": update.update_id, update.kind: update.payload}

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0].update_id < offset:
            self._updates.popleft()

    def _available(self, limit: int) -> list[_QueuedUpdate]:
        ready: list[_QueuedUpdate] = []
        for update in self._updates:
            if self._allowed and update.kind not in self._allowed:
                continue
            ready.append(update)
            if len(ready) >= limit:
                break
        return ready

    async def _post_to_webhook(self) -> None:
        """Posts queued updates to the webhook one at a time, in order, retrying failures."""
        assert self._ready is not None
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._closing:
                if not self._updates or not self._webhook.get("url"):
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                update = self._updates[0]
                headers = {"Content-Type": "application/json"}
                if self._webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(self._webhook["secret_token"])
                body = json.dumps(self._hand_out(update, time.monotonic()), ensure_ascii=False).encode()
                try:
                    async with session.post(
                        str(self._webhook["url"]), data=body, headers=headers
                    ) as response:
                        delivered = 200 <= response.status < 300
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
                except (TimeoutError, OSError, ClientError) as exc:
                    # As Telegram does: a connection the bot closed (or never answered on) is tried again.
                    delivered, error = False, f"Connection failed: {exc!r}"
                if delivered:
                    if self._updates and self._updates[0] is update:
                        self._updates.popleft()
                else:
                    self._webhook["last_error_date"] = int(time.time())
                    self._webhook["last_error_message"] = error
                    await asyncio.sleep(0.2)
