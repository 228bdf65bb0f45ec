"""A small web server for Telegram's webhook calls, each answered only once its update is handled.

A call is answered 200 once its update's handlers have finished, 500 if they failed, so that Telegram
posts it again.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot.startup import StartupError
from bot.telegram.handling import UpdateHandling
from bot.telegram.retrying import Retrying

__all__ = ["Webhook", "WebhookIntake"]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_SHUTDOWN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates (``url``) and where this process listens for them."""

    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str | None = None

    @property
    def path(self) -> str:
        """The local path the server answers on: the URL's last segment, as python-telegram-bot does."""
        return "/" + urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]


class WebhookIntake:
    """Serves the webhook until the bot is stopped."""

    def __init__(
        self, handling: UpdateHandling, retrying: Retrying, webhook: Webhook, allowed_updates: Sequence[str]
    ) -> None:
        self.handling = handling
        self.retrying = retrying
        self.webhook = webhook
        self.allowed_updates = list(allowed_updates)

    async def run(self) -> None:
        """Serves until the bot is stopped, then answers the calls in hand and stops listening."""
        app = web.Application()
        app.router.add_post(self.webhook.path, self.update_posted)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=WEBHOOK_SHUTDOWN_SECONDS
        )
        await runner.setup()
        try:
            await self._listen(runner)
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
        finally:
            # Stops listening, lets the calls in hand be answered, then closes idle connections. The webhook
            # stays set: Telegram keeps the updates that arrive meanwhile until the bot is back.
            await runner.cleanup()
            await self.handling.drain()

    async def _listen(self, runner: web.AppRunner) -> None:
        site = web.TCPSite(runner, self.webhook.listen, self.webhook.port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{self.webhook.listen}:{self.webhook.port}"
            raise StartupError(f"cannot listen for the webhook on {where}: {exc.strerror}") from exc

    async def update_posted(self, request: web.Request) -> web.Response:
        """Handles one webhook call: 200 once the update is committed, 500 if its handlers failed."""
        secret = self.webhook.secret_token
        if secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.handling.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400)
        # Shielded: if Telegram hangs up early, the update is still finished (and the answer just unsent).
        handled = await asyncio.shield(self.handling.submit(update))
        return web.Response(status=200 if handled else 500)
