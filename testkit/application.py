"""Runs the real python-telegram-bot Application inside a test: what run_polling does, minus the signals."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from telegram.ext import Application

from bot.telegram.app import ALLOWED_UPDATES

__all__ = ["polling"]


@contextlib.asynccontextmanager
async def polling(application: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """Runs the application with long polling for the duration of the block: run_polling without signals."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
