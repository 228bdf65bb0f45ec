"""A small web server for Telegram's webhook calls, each answered only once its update is handled.

A call is answered 200 once its update's handlers have finished, 500 if they failed, so that Telegram posts
it again; 403 without the secret, 400 for a body that is not an update. What anyone on the network can send
is bounded: a connection that takes over ``header_seconds`` to send a request head is closed, a body must
arrive within ``body_seconds``, at most ``most_connections`` stay open (an idle or slow one makes room for a
new one), and the same complaint is logged once per ``LOG_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot.startup import StartupError
from bot.telegram.handling import UpdateHandling
from bot.telegram.logvolume import OncePerInterval
from bot.telegram.retrying import Retrying

__all__ = ["Webhook", "WebhookIntake", "WebhookLimits"]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_SHUTDOWN_SECONDS = 30.0
# Telegram's updates are a few kilobytes; a message of 4096 characters with its entities stays far below.
LARGEST_BODY = 256 * 1024
LOG_INTERVAL = 60.0
# An idle connection kept alive for Telegram's next call: longer than clients keep theirs (aiohttp's 15 s),
# so that the server is not the one closing a connection a client is about to reuse.
KEEPALIVE_SECONDS = 30.0
# Where the webhook server's complaints go: this module's and aiohttp's own.
_NOISY_LOGGERS = (__name__, "aiohttp.server", "aiohttp.web")


@dataclass(frozen=True, slots=True)
class WebhookLimits:
    """How long and how many: what one client can hold of the webhook server."""

    header_seconds: float = 5.0
    """A connection must send a whole request head within this, and again after each answer."""
    body_seconds: float = 10.0
    most_connections: int = 128
    """Telegram opens at most 100 (setWebhook's max_connections)."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates (``url``) and where this process listens for them.

    Refuses (StartupError) to listen beyond loopback without a secret: anyone reaching the port could post
    forged updates in any person's name.
    """

    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str | None = None
    limits: WebhookLimits = field(default_factory=WebhookLimits)

    def __post_init__(self) -> None:
        if self.secret_token is None and not _loopback(self.listen):
            raise StartupError(
                f"the webhook would listen on {self.listen or 'every address'} without a secret, so anyone who "
                "reaches it could post forged updates: set BOT_WEBHOOK_SECRET or BOT_WEBHOOK_SECRET_FILE "
                "(or --listen 127.0.0.1)"
            )

    @property
    def path(self) -> str:
        """The local path the server answers on: the URL's last segment, as python-telegram-bot does."""
        return "/" + urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]


def _loopback(listen: str) -> bool:
    if listen == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen).is_loopback
    except ValueError:
        return False  # a host name, or "" (every address)


class WebhookIntake:
    """Serves the webhook until the bot is stopped."""

    def __init__(
        self, handling: UpdateHandling, retrying: Retrying, webhook: Webhook, allowed_updates: Sequence[str]
    ) -> None:
        self.handling = handling
        self.retrying = retrying
        self.webhook = webhook
        self.allowed_updates = list(allowed_updates)
        self.connections = ConnectionGuard(webhook.limits)

    async def run(self) -> None:
        """Serves until the bot is stopped, then answers the calls in hand and stops listening."""
        app = web.Application(client_max_size=LARGEST_BODY)
        app.router.add_post(self.webhook.path, self.update_posted)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=WEBHOOK_SHUTDOWN_SECONDS,
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        await runner.setup()
        quieter = OncePerInterval(LOG_INTERVAL)
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).addFilter(quieter)
        try:
            async with self.connections.serving(runner, self.webhook.listen, self.webhook.port):
                await self._set_webhook()
        finally:
            # Stops listening, lets the calls in hand be answered, then closes idle connections. The webhook
            # stays set: Telegram keeps the updates that arrive meanwhile until the bot is back.
            await runner.cleanup()
            await self.handling.drain()
            for name in _NOISY_LOGGERS:
                logging.getLogger(name).removeFilter(quieter)

    async def _set_webhook(self) -> None:
        """Tells Telegram where to post, then serves until the bot is stopped."""
        bot = self.handling.application.bot
        done, _ = await self.retrying.call(
            "setting the webhook",
            lambda: bot.set_webhook(
                url=self.webhook.url,
                secret_token=self.webhook.secret_token,
                allowed_updates=self.allowed_updates,
            ),
        )
        if done:
            logger.info("receiving updates at %s", self.webhook.url)
            await self.retrying.stopping.wait()

    async def update_posted(self, request: web.Request) -> web.Response:
        """Handles one webhook call: 200 once the update is committed, 500 if its handlers failed."""
        with self.connections.busy(request.transport):
            if not self._has_secret(request):
                logger.warning("webhook call refused: wrong or missing secret header")
                return web.Response(status=403)
            try:
                async with asyncio.timeout(self.webhook.limits.body_seconds):
                    body = await request.read()
            except TimeoutError:
                logger.warning(
                    "webhook call refused: its body took over %.0f s", self.webhook.limits.body_seconds
                )
                return web.Response(status=408)
            update = self._update_in(body)
            if update is None:
                return web.Response(status=400)
            # Shielded: if Telegram hangs up early, the update is still finished (and the answer just unsent).
            handled = await asyncio.shield(self.handling.submit(update))
            return web.Response(status=200 if handled else 500)

    def _has_secret(self, request: web.Request) -> bool:
        secret = self.webhook.secret_token
        if secret is None:
            return True
        # Headers that are not UTF-8 reach here as surrogates: compared as the bytes they were.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, secret.encode())

    def _update_in(self, body: bytes) -> Update | None:
        """Returns the update a body holds, or None (logged in one line) when it holds none."""
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an object with an update_id")
            return Update.de_json(payload, self.handling.application.bot)
        except Exception as exc:  # anyone can post anything: whatever fails to read is a bad request
            logger.warning("webhook call refused: its body is not an update (%s)", type(exc).__name__)
            return None


@dataclass(slots=True)
class _Connection:
    transport: asyncio.BaseTransport
    head_due: float | None
    """When it must have sent a whole request head: set once it opens or starts a request, None while idle."""
    busy: bool = False


class ConnectionGuard:
    """Counts the webhook server's connections, closes those slow to send a request head, caps their number.

    An idle connection kept alive between two calls is left to aiohttp's keep-alive timeout.
    """

    def __init__(self, limits: WebhookLimits) -> None:
        self.limits = limits
        self.open: dict[asyncio.BaseTransport, _Connection] = {}

    @contextlib.asynccontextmanager
    async def serving(self, runner: web.AppRunner, host: str, port: int) -> AsyncIterator[None]:
        """Listens on host:port with aiohttp's request handlers, each watched by this guard."""
        server = runner.server
        if server is None:
            raise RuntimeError("the runner is not set up")
        loop = asyncio.get_running_loop()
        try:
            listening = await loop.create_server(
                lambda: _Watched(server(), self), host, port, reuse_address=True
            )
        except OSError as exc:
            raise StartupError(f"cannot listen for the webhook on {host}:{port}: {exc.strerror}") from exc
        sweeper = asyncio.create_task(self._close_slow_forever(), name="webhook-slow-connections")
        try:
            yield
        finally:
            sweeper.cancel()
            listening.close()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    def opened(self, transport: asyncio.BaseTransport) -> bool:
        """Admits a new connection, making room by closing an idle or slow one; False if none can go."""
        if len(self.open) >= self.limits.most_connections:
            waiting = [entry for entry in self.open.values() if not entry.busy]
            if not waiting:
                return False
            # Idle ones first, then the one that has been sending its request head longest.
            self._close(
                min(waiting, key=lambda entry: -1.0 if entry.head_due is None else entry.head_due).transport
            )
        self.open[transport] = _Connection(transport, time.monotonic() + self.limits.header_seconds)
        return True

    def received(self, transport: asyncio.BaseTransport) -> None:
        """Notes bytes from an idle connection: a request head has begun, and must end in time."""
        entry = self.open.get(transport)
        if entry is not None and not entry.busy and entry.head_due is None:
            entry.head_due = time.monotonic() + self.limits.header_seconds

    def closed(self, transport: asyncio.BaseTransport) -> None:
        """Forgets a connection that ended."""
        self.open.pop(transport, None)

    @contextlib.contextmanager
    def busy(self, transport: asyncio.BaseTransport | None) -> Iterator[None]:
        """Marks a connection as handling a request: not closed for slowness meanwhile."""
        entry = self.open.get(transport) if transport is not None else None
        if entry is not None:
            entry.busy, entry.head_due = True, None
        try:
            yield
        finally:
            if entry is not None:
                entry.busy = False

    async def _close_slow_forever(self) -> None:
        every = min(1.0, self.limits.header_seconds / 2)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for entry in list(self.open.values()):
                if entry.head_due is not None and entry.head_due < now:
                    self._close(entry.transport)

    def _close(self, transport: asyncio.BaseTransport) -> None:
        self.open.pop(transport, None)
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        else:
            transport.close()


class _Watched(asyncio.Protocol):
    """aiohttp's request handler for one connection, with the guard told when it opens and ends."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.guard.opened(transport):
            transport.close()  # every connection is in the middle of a request: this one waits its turn
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.guard.received(self.transport)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.guard.closed(self.transport)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()
