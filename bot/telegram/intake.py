"""Takes updates from Telegram and makes each one durable before Telegram forgets it.

python-telegram-bot's ``Updater`` asks for the next getUpdates offset (which tells Telegram to forget the
previous batch) as soon as a batch is queued, before the handlers have committed it: a crash in between
loses the whole batch. Here each fetched batch is first written to the store's inbox in one transaction,
then confirmed by the next getUpdates, then handled (each update parsed once); a handled update leaves the
inbox, and what the inbox still holds at a start (a crash, a stop with updates in hand) is handled then,
oldest first, before anything new. The store's record of update ids (``DuplicateUpdate``) keeps an update
that was committed from being applied twice. A webhook call is answered only once its update's handlers
have finished (500 if they failed), so Telegram posts it again.

Updates of different chats run side by side through the Application's update processor (one chat's updates
one after the other); ``serve`` runs the whole life of the bot: connect, start, take updates, stop cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.control import running
from bot.startup import StartupError, opened_store
from bot.store import InboxUpdate, Store
from bot.telegram.leadership import lead_while_elected
from bot.telegram.screenbot import ScreenBot

__all__ = ["InboxPolling", "UpdateIntake", "Webhook", "WebhookIntake", "run_application", "serve"]

logger = logging.getLogger(__name__)

AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
_T = TypeVar("_T")

LONG_POLL = timedelta(seconds=25)
# Handled updates leave the inbox in batches, one store trip at most this often, so that the cost per
# update does not grow with the rate.
REMOVAL_SPACING_SECONDS = 0.02
# Unfinished updates beyond this stay at Telegram until some finish; the inbox is read in pages of this.
MOST_IN_HAND = 1000
INBOX_PAGE = 500
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 60.0
# A polled update whose handlers fail is tried this many times, then given up (and removed from the inbox),
# so that one update that always fails cannot come back at every start.
HANDLER_ATTEMPTS = 4
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_SHUTDOWN_SECONDS = 30.0


class UpdateIntake:
    """Hands updates to the Application and tells whether their handlers finished without an error."""

    def __init__(self, application: AnyApplication) -> None:
        self.application = application
        self._failed: set[int] = set()
        self._in_hand: set[asyncio.Task[bool]] = set()
        application.add_error_handler(self._handler_failed)

    async def _handler_failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remembers that a handler raised on ``update`` (the bot's own error handler logs it)."""
        self._failed.add(id(update))

    def submit(self, update: Update, *, attempts: int = 1) -> asyncio.Task[bool]:
        """Starts handling ``update``; the task ends True once its handlers have finished without an error."""
        task = asyncio.create_task(self._handle(update, attempts), name=f"update-{update.update_id}")
        # Held here so that stopping can wait for it, and so that a webhook call cut short cannot cancel it.
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)
        return task

    async def drain(self) -> None:
        """Waits until every update in hand is finished."""
        while self._in_hand:
            await asyncio.gather(*self._in_hand)

    async def _handle(self, update: Update, attempts: int) -> bool:
        delay = FIRST_RETRY_SECONDS
        for attempt in range(1, attempts + 1):
            if await self._handle_once(update):
                return True
            if attempt < attempts:
                logger.warning(
                    "handling update %s failed (attempt %d of %d); trying again in %.0f s",
                    update.update_id, attempt, attempts, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay *= 2
        if attempts > 1:
            logger.error("gave up on update %s after %d attempts", update.update_id, attempts)
        return False

    async def _handle_once(self, update: Update) -> bool:
        application = self.application
        key = id(update)  # the Update object itself: Updates compare equal by update_id alone
        try:
            await application.update_processor.process_update(update, application.process_update(update))
        except Exception:
            # process_update hands handler errors to the error handlers; this is anything else.
            logger.exception("could not handle update %s", update.update_id)
            return False
        finally:
            failed = key in self._failed
            self._failed.discard(key)
        return not failed


async def _until_stopped(call: Awaitable[_T], stopping: asyncio.Event) -> tuple[bool, _T | None]:
    """Awaits ``call`` unless ``stopping`` is set first (then cancels it); returns (finished, result)."""
    work = asyncio.ensure_future(call)
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if work.done():
        return True, work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    return False, None


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Retrying:
    """Calls the Bot API until it answers, waiting longer after each failure and saying so once a try."""

    def __init__(self, api_url: str, stopping: asyncio.Event) -> None:
        self.api_url = api_url
        self.stopping = stopping

    async def call(self, what: str, call: Callable[[], Awaitable[_T]]) -> tuple[bool, _T | None]:
        """Returns (True, result) once ``call`` succeeds, or (False, None) if the bot is stopped first."""
        delay = FIRST_RETRY_SECONDS
        attempt = 0
        while not self.stopping.is_set():
            attempt += 1
            try:
                return await _until_stopped(call(), self.stopping)
            except InvalidToken as exc:
                raise StartupError(
                    f"Telegram at {self.api_url} rejected the bot token (TELEGRAM_BOT_TOKEN): "
                    "copy it again from @BotFather (/mybots, API Token)"
                ) from exc
            except BadRequest as exc:
                # A mistake in the request: trying again would not help. One line, never a traceback.
                raise StartupError(f"{what}: Telegram at {self.api_url} refused it: {exc.message}") from exc
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                logger.warning("%s: Telegram asks to wait %.0f s (attempt %d)", what, wait, attempt)
            except Conflict as exc:
                wait = delay
                logger.warning(
                    "%s: %s (another process is using this token?); trying again in %.0f s (attempt %d)",
                    what, exc.message, wait, attempt,
                )  # fmt: skip
            except NetworkError as exc:
                wait = delay
                logger.warning(
                    "%s: Telegram is not reachable at %s (%s); trying again in %.0f s (attempt %d)",
                    what, self.api_url, exc.message, wait, attempt,
                )  # fmt: skip
            except TelegramError as exc:
                wait = delay
                logger.warning(
                    "%s: Telegram at %s answered %r; trying again in %.0f s (attempt %d)",
                    what, self.api_url, exc.message, wait, attempt,
                )  # fmt: skip
            delay = min(delay * 2, LONGEST_RETRY_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait)
        return False, None


def without_typed_text(update: Mapping[str, Any]) -> dict[str, Any]:
    """Returns an update as the inbox keeps it: without what the person typed or shared, only commands.

    Texts people type are never stored. An update kept before a crash and handled after the restart is
    answered as a message whose words were not kept (the bot asks again); commands, which the bot's menu
    writes, and button presses are kept whole.
    """
    message = update.get("message")
    if not isinstance(message, Mapping):
        return dict(update)
    text = message.get("text")
    if isinstance(text, str) and text.startswith("/"):
        return dict(update)
    private = {"text", "entities", "caption", "caption_entities", "contact", "location"}
    return {**update, "message": {key: value for key, value in message.items() if key not in private}}


class InboxPolling:
    """Long polling through the store's inbox: a batch is kept, then confirmed, then handled, each update once."""

    def __init__(
        self, intake: UpdateIntake, retrying: Retrying, allowed_updates: Sequence[str], inbox: Store
    ) -> None:
        self.intake = intake
        self.retrying = retrying
        self.allowed_updates = list(allowed_updates)
        self.inbox = inbox
        bot = intake.application.bot
        if not isinstance(bot, ScreenBot):
            raise TypeError("polling through the inbox takes getUpdates as JSON: the bot must be a ScreenBot")
        self.bot = bot
        self._in_hand: set[asyncio.Task[bool]] = set()
        self._handled: list[int] = []
        self._some_handled = asyncio.Event()
        self._closing = False
        self._offset: int | None = None
        self._newest = -1

    async def run(self) -> None:
        """Handles what the inbox still holds, polls until the bot is stopped, then finishes the updates in hand."""
        bot = self.bot
        stopping = self.retrying.stopping
        done, _ = await self.retrying.call("deleting the webhook", bot.delete_webhook)
        removing = asyncio.create_task(self._remove_handled_forever(), name="inbox-removal")
        try:
            if done:
                await self._resume()
                logger.info("taking updates by long polling")
            while done and not stopping.is_set():
                await self._wait_for_room()
                done, updates = await self.retrying.call("getting updates", self._get_updates)
                # Telegram's ids grow: one at or below the newest kept is in the inbox already (kept, then a crash).
                fresh = [
                    InboxUpdate(item["update_id"], item)
                    for item in updates or ()
                    if _newer(item, self._newest)
                ]
                kept = [InboxUpdate(update.update_id, without_typed_text(update.payload)) for update in fresh]
                if fresh and await self._keep(kept):
                    self._newest = fresh[-1].update_id
                    self._offset = self._newest + 1  # confirmed to Telegram by the next getUpdates
                    for update in fresh:
                        self._submit(update)  # as received: what was typed lives in this process only
        finally:
            await self._drain()
            # Not cancelled: a removal cut short in the store's thread would leave its ids unknown.
            self._closing = True
            self._some_handled.set()
            await removing
            await self._remove_handled()
        if self._offset is not None:
            try:
                await bot.get_updates(offset=self._offset, timeout=timedelta(0), limit=1)
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
        """Writes a fetched batch to the inbox in one transaction; False (after a pause) if that failed."""
        try:
            await self.inbox.inbox_add(batch, datetime.now(UTC))
        except Exception:
            # Not confirmed to Telegram either: the batch comes again at the next poll.
            logger.exception("could not keep %d updates in the inbox; fetching them again", len(batch))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.retrying.stopping.wait(), FIRST_RETRY_SECONDS)
            return False
        return True

    def _submit(self, kept: InboxUpdate) -> None:
        """Parses a kept update (the one time it is parsed) and starts handling it."""
        try:
            update = Update.de_json(dict(kept.payload), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.exception("update %s is not one python-telegram-bot can read; dropped", kept.update_id)
            self._handled.append(kept.update_id)
            self._some_handled.set()
            return
        task = self.intake.submit(update, attempts=HANDLER_ATTEMPTS)
        self._in_hand.add(task)
        task.add_done_callback(functools.partial(self._finished, kept.update_id))

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


def _newer(item: dict[str, Any], newest: int) -> bool:
    update_id = item.get("update_id")
    return isinstance(update_id, int) and update_id > newest


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
    """A small web server that answers each of Telegram's webhook calls only once the update is committed."""

    def __init__(
        self, intake: UpdateIntake, retrying: Retrying, webhook: Webhook, allowed_updates: Sequence[str]
    ) -> None:
        self.intake = intake
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
            site = web.TCPSite(runner, self.webhook.listen, self.webhook.port)
            try:
                await site.start()
            except OSError as exc:
                where = f"{self.webhook.listen}:{self.webhook.port}"
                raise StartupError(f"cannot listen for the webhook on {where}: {exc.strerror}") from exc
            bot = self.intake.application.bot
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
            await self.intake.drain()

    async def update_posted(self, request: web.Request) -> web.Response:
        """Handles one webhook call: 200 once the update is committed, 500 if its handlers failed."""
        secret = self.webhook.secret_token
        if secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.intake.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400)
        # Shielded: if Telegram hangs up early, the update is still finished (and the answer just unsent).
        handled = await asyncio.shield(self.intake.submit(update))
        return web.Response(status=200 if handled else 500)


async def serve(
    application: AnyApplication,
    *,
    api_url: str,
    database: str | Path,
    inbox: Store,
    allowed_updates: Sequence[str],
    webhook: Webhook | None = None,
    on_hangup: Callable[[], None] | None = None,
) -> None:
    """Runs the bot until SIGINT or SIGTERM: checks the database, connects, then polls or serves a webhook.

    SIGHUP calls ``on_hangup`` (the bot reloads its flow); ``esim-bot reload`` finds the process by the
    pid file written beside the database.

    ``inbox`` is the application's store (opened by its post_init), where polled updates are kept.
    """
    async with opened_store(database):
        pass  # a database the bot cannot use stops it here, before anything reaches Telegram
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    for stop_signal in stop_signals:
        loop.add_signal_handler(stop_signal, stopping.set)
    if on_hangup is not None:
        loop.add_signal_handler(signal.SIGHUP, on_hangup)
    try:
        with running(database):
            await run_application(
                application,
                stopping,
                api_url=api_url,
                inbox=inbox,
                allowed_updates=allowed_updates,
                webhook=webhook,
            )
    finally:
        for stop_signal in (*stop_signals, signal.SIGHUP):
            loop.remove_signal_handler(stop_signal)


def _shared_store(application: AnyApplication) -> Store | None:
    """Returns the bot's store when several instances may share it (they then elect one poller)."""
    runtime = application.bot_data.get("runtime")
    store = getattr(runtime, "store", None)
    return store if isinstance(store, Store) and store.serves_several_processes else None


async def run_application(
    application: AnyApplication,
    stopping: asyncio.Event,
    *,
    api_url: str,
    inbox: Store,
    allowed_updates: Sequence[str],
    webhook: Webhook | None = None,
) -> None:
    """Runs the application until ``stopping`` is set: connect, post_init, take updates, stop, shut down.

    What ``serve`` runs, without signals or the database check: a test can run the bot in its own loop.
    """
    retrying = Retrying(api_url, stopping)
    try:
        connected, _ = await retrying.call("connecting", application.initialize)
    except BaseException:
        await application.bot.shutdown()  # closes the connection pools the first try opened
        raise
    if not connected:
        # Stopped while Telegram was unreachable: close the connection pools the first try opened.
        await application.bot.shutdown()
        return
    intake = UpdateIntake(application)
    try:
        if application.post_init is not None:
            try:
                await application.post_init(application)
            except TelegramError as exc:
                raise StartupError(f"Telegram failed while the bot was starting: {exc.message}") from exc
        await application.start()
        try:
            store = _shared_store(application)
            if webhook is not None:
                await WebhookIntake(intake, retrying, webhook, allowed_updates).run()
            elif store is not None:
                # Several instances may share the store: only the one holding the polling lease polls.
                await lead_while_elected(
                    store,
                    application.bot_data["runtime"].delivery.holder,
                    stopping,
                    lambda lost: InboxPolling(intake, Retrying(api_url, lost), allowed_updates, inbox).run(),
                )
            else:
                await InboxPolling(intake, retrying, allowed_updates, inbox).run()
        finally:
            await intake.drain()
            await application.stop()
    finally:
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
