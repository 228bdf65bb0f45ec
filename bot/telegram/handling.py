"""Hands updates to the Application and learns whether their handlers finished without an error.

python-telegram-bot hands a handler's exception to the error handlers and returns normally, so the
caller of ``process_update`` cannot tell a failed update from a handled one. The one error handler,
:func:`handler_failed`, runs in the task that handles the update (PTB awaits blocking error handlers
there); it records the error in that task's own ``HandlingOutcome``, kept in a context variable, so two
updates in hand never mix up their outcomes, even two with the same update id.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.telegram.retrying import FIRST_RETRY_SECONDS

__all__ = ["AnyApplication", "UpdateHandling", "handler_failed"]

logger = logging.getLogger(__name__)

AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


@dataclass(slots=True)
class HandlingOutcome:
    """What the handlers of the update handled in this task raised."""

    errors: list[BaseException] = field(default_factory=list)


_outcome: ContextVar[HandlingOutcome | None] = ContextVar("handling_outcome", default=None)


async def handler_failed(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs a handler's error with the ids of its update (never texts) and marks the update as failed."""
    outcome = _outcome.get()
    if outcome is not None and context.error is not None:
        outcome.errors.append(context.error)
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        where = f" (update {update.update_id}, chat {chat.id if chat else '-'})"
    logger.error("error while handling an update%s", where, exc_info=context.error)


class UpdateHandling:
    """Starts handling updates, tries them again when asked, and waits for the ones in hand."""

    def __init__(self, application: AnyApplication) -> None:
        if not any(handler is handler_failed for handler in application.error_handlers):
            raise ValueError("the application must have handler_failed as an error handler")
        self.application = application
        self._in_hand: set[asyncio.Task[bool]] = set()

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
        outcome = HandlingOutcome()
        token = _outcome.set(outcome)
        try:
            await application.update_processor.process_update(update, application.process_update(update))
        except Exception:
            # process_update hands handler errors to the error handlers; this is anything else.
            logger.exception("could not handle update %s", update.update_id)
            return False
        finally:
            _outcome.reset(token)
        return not outcome.errors
