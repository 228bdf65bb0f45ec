"""What the fake Bot API keeps per chat, the checks Telegram applies to a message, and its flood limits."""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Any

from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from testkit.formatting import FormattingError, parse_formatted_text, utf16_length
from testkit.screens import Button, Screen

__all__ = ["ApiError", "Chat", "FloodLimits", "StoredMessage", "inline_markup", "text_of"]

JSONDict = dict[str, Any]

# Telegram's flood limits: 30 messages a second overall, 1 a second per chat, 20 a minute per group.
MESSAGES_PER_SECOND = 30
MESSAGES_PER_CHAT_SECOND = 1
GROUP_MESSAGES_PER_MINUTE = 20


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        """Returns the JSON body Telegram answers with."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclasses.dataclass(slots=True)
class StoredMessage:
    """A message of the bot's as the chat holds it now, in the Bot API's own shapes."""

    message_id: int
    text: str
    date: int
    reply_markup: JSONDict | None = None
    entities: list[JSONDict] = dataclasses.field(default_factory=list)
    edit_date: int | None = None
    thread_id: int | None = None
    """The forum topic the message is in, in a forum group."""

    def screen(self) -> Screen:
        """Returns what the person sees of this message now."""
        keyboard = (self.reply_markup or {}).get("inline_keyboard", [])
        rows = tuple(
            tuple(Button(str(b["text"]), data=b.get("callback_data"), url=b.get("url")) for b in row)
            for row in keyboard
        )
        links = tuple(str(e["url"]) for e in self.entities if e.get("type") == "text_link")
        return Screen(self.message_id, self.text, rows, links)

    def to_telegram(self, sender: JSONDict, chat: JSONDict) -> JSONDict:
        """Returns the message as a Bot API ``Message`` object."""
        message: JSONDict = {"message_id": self.message_id, "from": sender, "chat": chat, "date": self.date}
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        message["text"] = self.text
        if self.entities:
            message["entities"] = self.entities
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        if self.thread_id is not None:
            message["message_thread_id"] = self.thread_id
            message["is_topic_message"] = True
        return message


@dataclasses.dataclass(slots=True)
class Chat:
    """One chat: its Bot API ``Chat`` object, the bot's messages in it, whether the person blocked the bot."""

    chat: JSONDict
    messages: dict[int, StoredMessage] = dataclasses.field(default_factory=dict)
    """The bot's messages (the person's own are only numbered: the bot never reads them back)."""
    next_message_id: int = 1
    blocked: bool = False
    topics: dict[int, str] = dataclasses.field(default_factory=dict)
    """A forum group's topics by thread id, with their names."""

    def new_message_id(self) -> int:
        """Returns the next message id of this chat (ids grow per chat, as Telegram's do)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


def text_of(params: JSONDict) -> tuple[str, list[JSONDict]]:
    """Returns a message's plain text and entities, or raises the error Telegram answers a bad text with."""
    raw = params.get("text")
    if raw is None or raw == "":
        raise ApiError(400, "Bad Request: message text is empty")
    text = str(raw)
    entities = params.get("entities")
    if isinstance(entities, list) and entities:
        plain, parsed = text, entities
    else:
        try:
            plain, parsed = parse_formatted_text(text, params.get("parse_mode"))
        except FormattingError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(plain) > MessageLimit.MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return plain, parsed


def inline_markup(params: JSONDict) -> JSONDict | None:
    """Returns a message's inline keyboard (None without one), or raises Telegram's error for a bad one."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list):
        raise ApiError(
            400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if (
                data is not None
                and not 1 <= len(str(data).encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
            ):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
    return markup


class FloodLimits:
    """Telegram's flood limits: what was sent recently, overall and per chat, and the 429 beyond them."""

    def __init__(self) -> None:
        self._overall: deque[float] = deque()
        self._by_chat: dict[int, deque[float]] = {}

    def check(self, chat_id: int, now: float) -> None:
        """Raises 429 with a retry_after when one more message to ``chat_id`` now would exceed a limit."""
        overall = self._overall
        while overall and now - overall[0] >= 1.0:
            overall.popleft()
        if len(overall) >= MESSAGES_PER_SECOND:
            _too_many(1.0 - (now - overall[0]))
        is_group = chat_id < 0
        window = 60.0 if is_group else 1.0
        limit = GROUP_MESSAGES_PER_MINUTE if is_group else MESSAGES_PER_CHAT_SECOND
        times = self._by_chat.get(chat_id)
        if times is None:
            return
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= limit:
            _too_many(window - (now - times[0]))

    def count(self, chat_id: int, now: float) -> None:
        """Counts a message that went out (refused calls do not count)."""
        self._overall.append(now)
        self._by_chat.setdefault(chat_id, deque()).append(now)


def _too_many(wait: float) -> None:
    retry_after = max(1, math.ceil(wait))
    raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
