"""An ExtBot that sends and edits screens from plain data.

The bot never reads the Message that Telegram returns for an edit, and only the id of a sent one: building
those objects was the largest single cost of a button press (bench/RESULTS.md). Requests still go through
ExtBot's rate limiter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import ExtBot

__all__ = ["ScreenBot", "keyboard"]

NO_PREVIEW = {"is_disabled": True}


def _button(label: str, kind: str, value: str) -> dict[str, Any]:
    if kind == "d":
        return {"text": label, "callback_data": value}
    if kind == "c":
        # Telegram's copy-text button (CopyTextButton): one tap copies a ready-made message.
        return {"text": label, "copy_text": {"text": value}}
    return {"text": label, "url": value}


def keyboard(rows: Iterable[Iterable[list[str]]]) -> dict[str, Any] | None:
    """Returns the inline keyboard for an outbox payload's rows, or None when there are no buttons."""
    inline = [[_button(label, kind, value) for label, kind, value in row] for row in rows]
    return {"inline_keyboard": inline} if inline else None


def _message(text: str, rows: Iterable[Iterable[list[str]]], **where: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        **where,
        "text": text,
        "parse_mode": ParseMode.HTML,
        "link_preview_options": NO_PREVIEW,
    }
    markup = keyboard(rows)
    if markup is not None:
        data["reply_markup"] = markup
    return data


class ScreenBot(ExtBot[Any]):
    """Sends and edits the bot's messages without building Message objects from the answers."""

    async def send_screen(self, chat_id: int, text: str, rows: Iterable[Iterable[list[str]]]) -> int:
        """Sends a message with its inline keyboard; returns its message id."""
        result = await self._post("sendMessage", _message(text, rows, chat_id=chat_id))
        return int(result["message_id"])

    async def edit_screen(
        self, chat_id: int, message_id: int, text: str, rows: Iterable[Iterable[list[str]]]
    ) -> None:
        """Replaces a message's text and keyboard (no keyboard given: the old one goes)."""
        await self._post("editMessageText", _message(text, rows, chat_id=chat_id, message_id=message_id))
