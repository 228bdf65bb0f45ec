"""The whole life of the bot: connect, start, take updates (polling or a webhook), stop cleanly.

Updates of different chats run side by side through the Application's update processor (one chat's
updates one after the other).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from telegram.error import TelegramError

from bot.control import running
from bot.startup import StartupError, opened_store
from bot.store import Coordination, Inbox
from bot.telegram.handling import AnyApplication, UpdateHandling
from bot.telegram.inbox import InboxPolling
from bot.telegram.kept import InboxCopy
from bot.telegram.leadership import Tenure, lead_while_elected
from bot.telegram.retrying import Retrying
from bot.telegram.webhook import Webhook, WebhookIntake

__all__ = ["UpdateSource", "run_application", "serve"]


class PollingStore(Inbox, Coordination, Protocol):
    """What polling needs of the store: its inbox, and the lease that elects one poller among instances."""


@dataclass(frozen=True, slots=True)
class UpdateSource:
    """Where updates come from: long polling through the store's inbox, or a webhook."""

    api_url: str
    store: PollingStore
    """Keeps polled updates (its inbox); shared by several instances, it elects the one that polls."""
    holder: str
    """This instance, as a candidate for the polling lease."""
    allowed_updates: Sequence[str]
    inbox_copy: InboxCopy
    """What the inbox keeps of each polled update."""
    webhook: Webhook | None = None


async def serve(
    application: AnyApplication,
    source: UpdateSource,
    *,
    database: str | Path,
    on_hangup: Callable[[], None] | None = None,
) -> None:
    """Runs the bot until SIGINT or SIGTERM: checks the database, connects, then polls or serves a webhook.

    SIGHUP calls ``on_hangup`` (the bot reloads its flow); ``esim-bot reload`` finds the process by the
    pid file written beside the database.
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
            await run_application(application, source, stopping)
    finally:
        for stop_signal in (*stop_signals, signal.SIGHUP):
            loop.remove_signal_handler(stop_signal)


async def run_application(application: AnyApplication, source: UpdateSource, stopping: asyncio.Event) -> None:
    """Runs the application until ``stopping`` is set: connect, post_init, take updates, stop, shut down.

    What ``serve`` runs, without signals or the database check: a test can run the bot in its own loop.
    """
    retrying = Retrying(source.api_url, stopping)
    try:
        connected, _ = await retrying.call("connecting", application.initialize)
    except BaseException:
        await application.bot.shutdown()  # closes the connection pools the first try opened
        raise
    if not connected:
        # Stopped while Telegram was unreachable: close the connection pools the first try opened.
        await application.bot.shutdown()
        return
    handling = UpdateHandling(application)
    try:
        if application.post_init is not None:
            try:
                await application.post_init(application)
            except TelegramError as exc:
                raise StartupError(f"Telegram failed while the bot was starting: {exc.message}") from exc
        await application.start()
        try:
            await _take_updates(handling, source, retrying)
        finally:
            await handling.drain()
            await application.stop()
    finally:
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _take_updates(handling: UpdateHandling, source: UpdateSource, retrying: Retrying) -> None:
    """Serves the webhook, or polls: alone, or while elected when several instances share the store."""
    if source.webhook is not None:
        await WebhookIntake(handling, retrying, source.webhook, source.allowed_updates).run()
    elif source.store.serves_several_processes:
        await lead_while_elected(
            source.store,
            source.holder,
            retrying.stopping,
            lambda tenure: _polling(handling, source, Retrying(source.api_url, tenure.ended), tenure).run(),
        )
    else:
        await _polling(handling, source, retrying).run()


def _polling(
    handling: UpdateHandling, source: UpdateSource, retrying: Retrying, tenure: Tenure | None = None
) -> InboxPolling:
    return InboxPolling(handling, retrying, source.allowed_updates, source.store, source.inbox_copy, tenure)
