"""An ExtBot that sends and edits the runtime's messages from plain data.

The bot never reads the Message that Telegram returns for an edit, and only the id of a sent one: building
those objects was the largest single cost of a button press (bench/RESULTS.md). So these calls go through
the public ``ExtBot.do_api_request`` with no ``return_type``, which returns Telegram's JSON as it is and,
like every ExtBot call, passes through the rate limiter. getUpdates too comes back as JSON, which the
polling loop keeps in the store's inbox as it is and parses once.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.runtime.messages import OutgoingMessage, Rows, ScreenButton

__all__ = ["DECLINED_ENDPOINTS", "ScreenBot", "decline_advice", "declined_advice", "keyboard"]

NO_PREVIEW = {"is_disabled": True}

# do_api_request advises Bot.send_message for an endpoint PTB wraps; that method builds the Message object
# this class exists to avoid (Bot.get_updates: the Update objects, before the JSON is kept), so the advice
# is declined for these endpoints only, each by its exact message (tests/telegram/test_declined_advice.py
# fails when PTB stops giving it, or words it differently).
DECLINED_ENDPOINTS = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "getUpdates")


def declined_advice(endpoint: str) -> str:
    """Returns PTB's advice against calling ``endpoint`` through do_api_request, word for word."""
    return f"Please use 'Bot.{endpoint}' instead of 'Bot.do_api_request(\"{endpoint}\", ...)'"


def decline_advice() -> None:
    """Ignores PTB's advice for DECLINED_ENDPOINTS, and only that: installs each exact filter unless present."""
    present = {entry[1].pattern for entry in warnings.filters if isinstance(entry[1], re.Pattern)}
    for endpoint in DECLINED_ENDPOINTS:
        exact = re.escape(declined_advice(endpoint)) + r"\Z"
        if exact not in present:
            warnings.filterwarnings("ignore", message=exact, category=PTBUserWarning)


# Bot.get_updates waits this much longer than the long poll itself (its getUpdates request's read timeout).
LONG_POLL_READ_MARGIN = timedelta(seconds=30)


def _button(button: ScreenButton) -> dict[str, Any]:
    if button.data is not None:
        return {"text": button.label, "callback_data": button.data}
    if button.copy_text is not None:
        # Telegram's copy-text button (CopyTextButton): one tap copies a ready-made message.
        return {"text": button.label, "copy_text": {"text": button.copy_text}}
    return {"text": button.label, "url": button.url}


def keyboard(rows: Rows) -> dict[str, Any] | None:
    """Returns the inline keyboard for rows of buttons, or None when there are none."""
    inline = [[_button(b) for b in row] for row in rows]
    return {"inline_keyboard": inline} if inline else None


def _request(message: OutgoingMessage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "chat_id": message.chat_id,
        "text": message.text,
        "parse_mode": ParseMode.HTML,
        "link_preview_options": NO_PREVIEW,
    }
    if message.edit is not None:
        data["message_id"] = message.edit
    markup = keyboard(message.rows)
    if markup is not None:
        data["reply_markup"] = markup
    return data


class ScreenBot(ExtBot[Any]):
    """Sends and edits the bot's messages without building Message objects from the answers."""

    async def initialize(self) -> None:
        """Initializes the bot, once it is told which of python-telegram-bot's advice is declined."""
        decline_advice()
        await super().initialize()

    async def raw_updates(
        self, offset: int | None, wait: timedelta, allowed_updates: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Returns getUpdates' answer (a long poll of ``wait``) as Telegram's JSON objects, unparsed."""
        arguments: dict[str, Any] = {
            "timeout": int(wait.total_seconds()),
            "allowed_updates": list(allowed_updates),
        }
        if offset is not None:
            arguments["offset"] = offset
        read_timeout = (wait + LONG_POLL_READ_MARGIN).total_seconds()
        answer = await self.do_api_request("getUpdates", api_kwargs=arguments, read_timeout=read_timeout)
        if not isinstance(answer, list):
            raise TypeError(f"getUpdates answered {answer!r} instead of a list of updates")
        return [item for item in answer if isinstance(item, dict)]

    async def show(self, message: OutgoingMessage) -> int:
        """Sends ``message``, or edits the message it replaces; returns the id of the message showing it."""
        if message.strip and message.edit is not None:
            # No reply_markup: Telegram takes the keyboard off and leaves the text as it is.
            stripped = {"chat_id": message.chat_id, "message_id": message.edit}
            await self.do_api_request("editMessageReplyMarkup", api_kwargs=stripped)
            return message.edit
        if message.edit is not None:
            await self.do_api_request("editMessageText", api_kwargs=_request(message))
            return message.edit
        sent = await self.do_api_request("sendMessage", api_kwargs=_request(message))
        if not isinstance(sent, dict) or not isinstance(sent.get("message_id"), int):
            raise TypeError(f"sendMessage answered {sent!r} instead of a message")
        return int(sent["message_id"])
