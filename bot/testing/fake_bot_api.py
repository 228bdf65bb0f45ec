"""A fake Telegram Bot API server on 127.0.0.1, for tests and benchmarks.

In-process::

    async with FakeBotApi() as api:
        bot = telegram.Bot(api.token, base_url=api.bot_base_url)
        user = api.user(chat_id=42, language_code="fr")
        await user.send("/start")
        screen = await user.wait_for_reply()
        await user.click("Airalo")

As a process (for end-to-end tests and benchmarks)::

    python -m bot.testing.fake_bot_api --port 0

prints its base URL (the value for ``TELEGRAM_API_URL``) on the first line of stdout, then serves the Bot API
under ``/bot<token>/<method>`` and a control interface under ``/_control/`` that :class:`FakeBotApiProcess`
and :class:`RemoteUser` drive from another process.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientSession, ClientTimeout, web

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ChatMessage",
    "FakeBotApi",
    "FakeBotApiProcess",
    "FakeUser",
    "FormattingError",
    "RemoteUser",
    "main",
    "parse_formatted_text",
]

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456789:TEST-fake-bot-api-token"
"""The token :class:`FakeBotApi` accepts unless told otherwise."""

# ---------------------------------------------------------------------------------------------------------
# Telegram's text formatting: plain text, entities, and the errors a malformed text gets.
# ---------------------------------------------------------------------------------------------------------

_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot|apos|nbsp);")
_HTML_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))""")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_NAMES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
    "`": "code",
    "```": "pre",
    "[": "text_link",
}
_ENTITY_TITLES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


class FormattingError(ValueError):
    """Raised with the text Telegram puts after "Bad Request: can't parse entities: "."""


def utf16_length(text: str) -> int:
    """Returns the length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _Builder:
    """Accumulates plain text and the entities opened and closed over it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_length(text)

    def close(self, kind: str, start: int, extra: dict[str, Any] | None = None) -> None:
        if self.offset > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.offset - start, **(extra or {})}
            )

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), self.entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _Builder()
    open_tags: list[tuple[str, int, dict[str, Any]]] = []
    extra: dict[str, Any]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            match = _HTML_TAG.match(text, index)
            if match is None:
                raise FormattingError(f"Unsupported start tag at byte offset {_byte_offset(text, index)}")
            closing, tag, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
            if tag not in _HTML_TAGS:
                raise FormattingError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, index)}'
                )
            if closing:
                if not open_tags or open_tags[-1][0] != tag:
                    raise FormattingError(
                        f'Unmatched end tag at byte offset {_byte_offset(text, index)}, expected "</'
                        f'{open_tags[-1][0] if open_tags else tag}>", found "</{tag}>"'
                    )
                opened, start, extra = open_tags.pop()
                builder.close(_HTML_TAGS[opened], start, extra)
            else:
                extra = {}
                values = {
                    m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
                    for m in _HTML_ATTRIBUTE.finditer(attributes)
                }
                if tag == "a":
                    extra["url"] = values.get("href", "")
                if tag == "pre" and "language" in values:
                    extra["language"] = values["language"]
                open_tags.append((tag, builder.offset, extra))
            index = match.end()
        elif char == "&":
            match = _HTML_ENTITY.match(text, index)
            if match is None:
                builder.add("&")
                index += 1
                continue
            name = match.group(1)
            if name.startswith("#x"):
                builder.add(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                builder.add(chr(int(name[1:])))
            else:
                builder.add(_NAMED_ENTITIES[name])
            index = match.end()
        elif char == ">":
            # Telegram accepts a bare ">" but never a bare "<".
            builder.add(">")
            index += 1
        else:
            end = index
            while end < len(text) and text[end] not in "<&>":
                end += 1
            builder.add(text[index:end])
            index = end
    if open_tags:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    return builder.result()


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _Builder()
    open_entities: list[tuple[str, int, int]] = []
    index = 0
    while index < len(text):
        char = text[index]
        in_code = bool(open_entities) and open_entities[-1][0] in ("`", "```")
        if char == "\\":
            if index + 1 >= len(text):
                raise FormattingError(
                    f"Can't parse escape sequence at byte offset {_byte_offset(text, index)}"
                )
            builder.add(text[index + 1])
            index += 2
            continue
        if in_code:
            marker = open_entities[-1][0]
            if text.startswith(marker, index):
                _, start, _ = open_entities.pop()
                builder.close(_MARKDOWN_V2_NAMES[marker], start)
                index += len(marker)
            else:
                builder.add(char)
                index += 1
            continue
        if char == "]" and open_entities and open_entities[-1][0] == "[":
            match = re.compile(r"\]\(((?:[^)\\]|\\.)*)\)").match(text, index)
            if match is None:
                raise FormattingError(f"Can't find end of a URL at byte offset {_byte_offset(text, index)}")
            _, start, _ = open_entities.pop()
            builder.close("text_link", start, {"url": re.sub(r"\\(.)", r"\1", match.group(1))})
            index = match.end()
            continue
        opening = next(
            (
                candidate
                for candidate in ("```", "__", "||", "*", "_", "~", "`", "[")
                if text.startswith(candidate, index)
            ),
            None,
        )
        if opening is not None:
            marker = opening
            if open_entities and open_entities[-1][0] == marker and marker != "[":
                _, start, _ = open_entities.pop()
                builder.close(_MARKDOWN_V2_NAMES[marker], start)
            else:
                open_entities.append((marker, builder.offset, index))
                if marker == "```":
                    newline = text.find("\n", index + 3)
                    if newline != -1 and " " not in text[index + 3 : newline]:
                        index = newline + 1
                        continue
            index += len(marker)
            continue
        if char == ">" and (index == 0 or text[index - 1] == "\n"):
            index += 1
            continue
        if char in _MARKDOWN_V2_RESERVED:
            raise FormattingError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        builder.add(char)
        index += 1
    if open_entities:
        marker, _, position = open_entities[-1]
        title = _ENTITY_TITLES[_MARKDOWN_V2_NAMES[marker]]
        raise FormattingError(
            f"Can't find end of {title} entity at byte offset {_byte_offset(text, position)}"
        )
    return builder.result()


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _Builder()
    index = 0
    kinds = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}
    while index < len(text):
        marker = next((m for m in ("```", "*", "_", "`", "[") if text.startswith(m, index)), None)
        if marker is None:
            builder.add(text[index])
            index += 1
            continue
        if marker == "[":
            match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, index)
            if match is None:
                raise FormattingError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, index)}"
                )
            start = builder.offset
            builder.add(match.group(1))
            builder.close("text_link", start, {"url": match.group(2)})
            index = match.end()
            continue
        end = text.find(marker, index + len(marker))
        if end == -1:
            raise FormattingError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, index)}"
            )
        start = builder.offset
        builder.add(text[index + len(marker) : end])
        builder.close(kinds[marker], start)
        index = end + len(marker)
    return builder.result()


def parse_formatted_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Returns the plain text and entities Telegram would derive from ``text`` in ``parse_mode``."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if mode:
        raise FormattingError(f"Unsupported parse_mode {parse_mode!r}")
    return text, []


# ---------------------------------------------------------------------------------------------------------
# What the fake records and shows.
# ---------------------------------------------------------------------------------------------------------

# Parameters whose form-encoded value is the string itself, never JSON: a text "123" stays a string.
_STRING_PARAMETERS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "action",
        "emoji",
        "description",
        "short_description",
        "name",
        "title",
        "business_connection_id",
        "message_effect_id",
    }
)
# Calls that put something in front of the user: they answer the update being timed for that chat.
_ANSWERING_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}
)
# Calls that count against Telegram's flood limits.
_LIMITED_METHODS = frozenset({"sendMessage", "editMessageText"})
_CHAT_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessage", "sendChatAction"}
)
_MAX_TEXT_LENGTH = 4096
_MAX_CALLBACK_DATA_BYTES = 64
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BLOCKED = "Forbidden: bot was blocked by the user"
_STATUS_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class _ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclasses.dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API call the bot made: what it asked, when it arrived (``time.monotonic()``), what it got."""

    method: str
    params: JSONDict
    time: float
    chat_id: int | None
    status: int
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        """Whether Telegram would have answered ``{"ok": true}``."""
        return self.status == 200


@dataclasses.dataclass(slots=True)
class ChatMessage:
    """A message as the chat shows it now: plain text after formatting, inline keyboard after edits."""

    message_id: int
    chat_id: int
    text: str
    from_bot: bool
    reply_markup: JSONDict | None = None
    entities: list[JSONDict] = dataclasses.field(default_factory=list)
    kind: str = "text"
    date: int = 0
    edit_date: int | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[list[str]]:
        """The inline keyboard's labels, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[str(button.get("text", "")) for button in row] for row in rows]

    @property
    def button_labels(self) -> list[str]:
        """The inline keyboard's labels, in reading order."""
        return [label for row in self.buttons for label in row]

    def button(self, label: str) -> JSONDict:
        """Returns the button labelled ``label`` exactly or, failing that, the only one containing it."""
        buttons = [button for row in (self.reply_markup or {}).get("inline_keyboard", []) for button in row]
        exact = [button for button in buttons if button.get("text") == label]
        if len(exact) == 1:
            return dict(exact[0])
        folded = label.casefold()
        partial = [button for button in buttons if folded in str(button.get("text", "")).casefold()]
        if len(exact) > 1 or len(partial) > 1:
            matches = [str(button.get("text")) for button in (exact or partial)]
            raise LookupError(f"{label!r} matches several buttons of message {self.message_id}: {matches}")
        if not partial:
            raise LookupError(
                f"no button {label!r} in message {self.message_id} ({self.text[:60]!r}); "
                f"buttons: {self.button_labels}"
            )
        return dict(partial[0])

    def to_telegram(self, bot_user: JSONDict, sender: JSONDict, chat: JSONDict) -> JSONDict:
        """Returns the message as a Bot API ``Message`` object."""
        message: JSONDict = {
            "message_id": self.message_id,
            "from": bot_user if self.from_bot else sender,
            "chat": chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.kind == "text":
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        return message

    def to_view(self) -> JSONDict:
        """Returns the JSON the control interface answers for this message."""
        return dataclasses.asdict(self)

    @classmethod
    def from_view(cls, view: JSONDict) -> "ChatMessage":
        """Builds a message from :meth:`to_view`'s JSON."""
        return cls(**view)


@dataclasses.dataclass(slots=True)
class _Chat:
    chat: JSONDict
    messages: dict[int, ChatMessage] = dataclasses.field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False
    # Updates handed out to the bot and not yet answered, oldest first: (update_id, handed out at).
    unanswered: deque[tuple[int, float]] = dataclasses.field(default_factory=deque)
    sent_times: deque[float] = dataclasses.field(default_factory=deque)


@dataclasses.dataclass(slots=True)
class _Query:
    chat_id: int
    user: "FakeUser"
    answered: bool = False
    expired: bool = False


@dataclasses.dataclass(slots=True)
class _QueuedUpdate:
    update_id: int
    kind: str
    payload: JSONDict
    chat_id: int | None
    handed_out_at: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    description: str
    drop_connection: bool
    delay: float
    retry_after: int | None


def _decode_form_value(name: str, value: str) -> Any:
    """Turns a form field back into what the bot meant: PTB JSON-encodes every non-string value."""
    if name in _STRING_PARAMETERS or not value:
        return value
    first = value[0]
    if first in "{[" or value in ("true", "false", "null") or first == "-" or first.isdigit():
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_chat_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class _Changes:
    """Wakes everyone waiting for the next recorded call: a fresh Event per change, cheaper than a Condition."""

    # Waits here and in the user-story helpers take a timeout (ruff's ASYNC109 prefers the caller's
    # asyncio.timeout) so that a test which waits in vain fails saying what it waited for.

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), remaining)


# ---------------------------------------------------------------------------------------------------------
# Simulated users.
# ---------------------------------------------------------------------------------------------------------


class FakeUser:
    """A person in a chat with the bot: sends messages, presses buttons, sees what the bot shows."""

    def __init__(self, api: "FakeBotApi", user: JSONDict, chat: JSONDict) -> None:
        self._api = api
        self.user = user
        self.chat = chat
        self._toasts: list[str] = []
        self._mark = 0
        self._last_query_id: str | None = None

    @property
    def id(self) -> int:
        """The user's Telegram id."""
        return int(self.user["id"])

    @property
    def chat_id(self) -> int:
        """The id of the chat this user writes in (the user's id in a private chat)."""
        return int(self.chat["id"])

    @property
    def language_code(self) -> str | None:
        """The language Telegram reports for this user."""
        code = self.user.get("language_code")
        return str(code) if code is not None else None

    async def send(self, text: str) -> int:
        """Sends ``text`` to the bot (``/command`` gets a bot_command entity) and returns its message id."""
        message = self._new_message()
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command is not None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}
            ]
        return self._queue_message(message, text, "text")

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Sends a sticker and returns its message id."""
        message = self._new_message()
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAEfake{message['message_id']}",
            "file_unique_id": f"AgADfake{message['message_id']}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._queue_message(message, emoji, "sticker")

    async def send_photo(self, caption: str | None = None) -> int:
        """Sends a photo (with an optional caption) and returns its message id."""
        message = self._new_message()
        message["photo"] = [
            {
                "file_id": f"AgACAgIAAxkBAAEfake{message['message_id']}{size}",
                "file_unique_id": f"AQADfake{message['message_id']}{size}",
                "width": size,
                "height": size,
                "file_size": size * 40,
            }
            for size in (90, 320, 800)
        ]
        if caption is not None:
            message["caption"] = caption
        return self._queue_message(message, caption or "", "photo")

    async def click(self, label: str, *, message_id: int | None = None) -> str:
        """Presses the button ``label`` on the latest message with a keyboard (or ``message_id``)."""
        chat = self._api._chat(self.chat_id)
        if message_id is None:
            target = next(
                (
                    message
                    for message in reversed(chat.messages.values())
                    if message.from_bot
                    and message.reply_markup
                    and message.reply_markup.get("inline_keyboard")
                ),
                None,
            )
            if target is None:
                raise LookupError(
                    f"no message with inline buttons in chat {self.chat_id}; {self._describe()}"
                )
        else:
            found = chat.messages.get(message_id)
            if found is None:
                raise LookupError(f"no message {message_id} in chat {self.chat_id}; {self._describe()}")
            target = found
        button = target.button(label)
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data: {button}")
        return self._queue_callback(target.message_id, str(button["callback_data"]))

    async def click_data(self, message_id: int, data: str) -> str:
        """Presses a button with ``data`` on message ``message_id``, as a stale or forged press would."""
        return self._queue_callback(message_id, data)

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat as they look now, oldest first (deleted ones left out)."""
        chat = self._api._chat(self.chat_id)
        return [dataclasses.replace(message) for message in chat.messages.values() if message.from_bot]

    @property
    def screen(self) -> ChatMessage:
        """The bot's latest message in this chat, with its buttons."""
        messages = self.messages
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    @property
    def toasts(self) -> list[str]:
        """The texts the bot answered this user's button presses with, oldest first."""
        return list(self._toasts)

    async def wait_for_reply(self, timeout: float = 5.0) -> ChatMessage:  # noqa: ASYNC109
        """Waits for the bot to send or edit a message in this chat since this user's last action."""
        api = self._api
        found: list[ChatMessage] = []

        def replied() -> bool:
            for call in itertools.islice(api.calls, self._mark, None):
                if (
                    call.chat_id == self.chat_id
                    and call.ok
                    and call.method
                    in (
                        "sendMessage",
                        "editMessageText",
                        "editMessageReplyMarkup",
                    )
                ):
                    message = api._chat(self.chat_id).messages.get(int(call.result["message_id"]))
                    if message is not None:
                        found.append(dataclasses.replace(message))
                        return True
            return False

        await api._wait(replied, timeout, f"a reply in chat {self.chat_id}; {self._describe()}")
        return found[0]

    async def wait_for_answer(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Waits until the bot answers this user's last button press; returns the toast text ('' if none)."""
        query_id = self._last_query_id
        if query_id is None:
            raise LookupError("this user has not pressed a button yet")
        api = self._api
        answers: list[str] = []

        def answered() -> bool:
            for call in itertools.islice(api.calls, self._mark, None):
                if call.method == "answerCallbackQuery" and call.params.get("callback_query_id") == query_id:
                    answers.append(str(call.params.get("text", "")))
                    return True
            return False

        await api._wait(answered, timeout, f"an answer to callback query {query_id}")
        return answers[0]

    def _describe(self) -> str:
        chat = self._api._chats.get(self.chat_id)
        if chat is None or not chat.messages:
            return "the chat is empty"
        last = list(chat.messages.values())[-1]
        return f"latest message {last.message_id}: {last.text[:80]!r} buttons {last.button_labels}"

    def _new_message(self) -> JSONDict:
        chat = self._api._chat(self.chat_id)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return {"message_id": message_id, "from": self.user, "chat": self.chat, "date": int(time.time())}

    def _queue_message(self, message: JSONDict, text: str, kind: str) -> int:
        message_id = int(message["message_id"])
        self._api._chat(self.chat_id).messages[message_id] = ChatMessage(
            message_id=message_id,
            chat_id=self.chat_id,
            text=text,
            from_bot=False,
            kind=kind,
            date=int(message["date"]),
            entities=list(message.get("entities", [])),
        )
        self._mark = len(self._api.calls)
        self._api._queue_update("message", message, self.chat_id)
        return message_id

    def _queue_callback(self, message_id: int, data: str) -> str:
        api = self._api
        chat = api._chat(self.chat_id)
        query_id = str(next(api._query_ids))
        query: JSONDict = {
            "id": query_id,
            "from": self.user,
            "chat_instance": f"-{abs(self.chat_id)}00",
            "data": data,
        }
        message = chat.messages.get(message_id)
        if message is None:
            # What Telegram sends for a message the bot can no longer see: an InaccessibleMessage.
            query["message"] = {"chat": self.chat, "message_id": message_id, "date": 0}
        else:
            query["message"] = message.to_telegram(api.bot_user, self.user, self.chat)
        api._queries[query_id] = _Query(chat_id=self.chat_id, user=self)
        self._last_query_id = query_id
        self._mark = len(api.calls)
        api._queue_update("callback_query", query, self.chat_id)
        return query_id

    def _record_toast(self, text: str) -> None:
        if text:
            self._toasts.append(text)


# ---------------------------------------------------------------------------------------------------------
# The server.
# ---------------------------------------------------------------------------------------------------------


class FakeBotApi:
    """A Bot API server on 127.0.0.1 answering as Telegram does, with simulated users and failure modes."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        enforce_limits: bool = False,
        messages_per_second: int = 30,
        messages_per_chat_second: int = 1,
        group_messages_per_minute: int = 20,
        accept_any_chat: bool = False,
        record_calls: bool = True,
        bot_username: str = "esim_test_bot",
    ) -> None:
        self.token = token
        # A long benchmark can switch the call log off; latencies are still measured.
        self.record_calls = record_calls
        self.host = host
        self.port = port
        self.latency = latency
        self.enforce_limits = enforce_limits
        self.messages_per_second = messages_per_second
        self.messages_per_chat_second = messages_per_chat_second
        self.group_messages_per_minute = group_messages_per_minute
        self.accept_any_chat = accept_any_chat
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456789
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "eSIM test bot",
            "username": bot_username,
        }
        self.calls: list[ApiCall] = []
        self.latencies: list[float] = []
        self.in_flight = 0
        """How many Bot API calls the server is answering right now."""
        """Per update handed out: seconds from getUpdates handing it out to the bot's first answer."""
        self._chats: dict[int, _Chat] = {}
        self._users: dict[tuple[int, int], FakeUser] = {}
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._updates: deque[_QueuedUpdate] = deque()
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: list[str] | None = None
        self._webhook: JSONDict = {}
        self._webhook_task: asyncio.Task[None] | None = None
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._sent_times: deque[float] = deque()
        self._changes: _Changes | None = None
        self._updates_ready: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._handlers: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {}
        for name, handler in self._method_table().items():
            self._handlers[name.lower()] = (name, handler)

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts serving on ``host``:``port`` (a free port when 0)."""
        self._changes = _Changes()
        self._updates_ready = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/_control/{action:.*}", self._control)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server
        if server is not None and isinstance(server, asyncio.base_events.Server) and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Ends long polls in progress and stops serving."""
        self._closing = True
        if self._updates_ready is not None:
            self._updates_ready.set()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Starts the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stops the server."""
        await self.stop()

    @property
    def base_url(self) -> str:
        """The server's root URL, the value for ``TELEGRAM_API_URL``."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """The ``base_url`` to give python-telegram-bot, which appends the token to it."""
        return f"{self.base_url}/bot"

    # -- simulated people -------------------------------------------------------------------------------

    def user(
        self,
        chat_id: int,
        *,
        language_code: str | None = "en",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """Returns the person in the private chat ``chat_id`` (created on first use)."""
        existing = self._users.get((chat_id, chat_id))
        if existing is not None:
            return existing
        user: JSONDict = {"id": chat_id, "is_bot": False, "first_name": first_name}
        chat: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = chat[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        return self._add_user(user, chat)

    def group(
        self,
        chat_id: int,
        *,
        user_id: int = 1001,
        title: str = "Test group",
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> FakeUser:
        """Returns a person writing in the group ``chat_id`` (a supergroup when the id starts with -100)."""
        existing = self._users.get((chat_id, user_id))
        if existing is not None:
            return existing
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return self._add_user(user, {"id": chat_id, "type": kind, "title": title})

    def _add_user(self, user: JSONDict, chat: JSONDict) -> FakeUser:
        fake = FakeUser(self, user, chat)
        self._users[(int(chat["id"]), int(user["id"]))] = fake
        self._chat(int(chat["id"]), chat)
        return fake

    def _chat(self, chat_id: int, chat: JSONDict | None = None) -> _Chat:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _Chat(
                chat=chat or {"id": chat_id, "type": "private", "first_name": "User"}
            )
        return state

    # -- failure modes ----------------------------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """Makes every send to ``chat_id`` fail with 403 "bot was blocked by the user"."""
        self._chat(chat_id).blocked = True

    def unblock(self, chat_id: int) -> None:
        """Lets the bot write to ``chat_id`` again."""
        self._chat(chat_id).blocked = False

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        *,
        drop_connection: bool = False,
        delay: float = 0.0,
        retry_after: int | None = None,
    ) -> None:
        """Makes the next call to ``method`` fail once: an error answer, a dropped connection, or a stall."""
        if description is None:
            description = _STATUS_DESCRIPTIONS.get(status, "Internal Server Error")
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
        failure = _Failure(status, description, drop_connection, delay, retry_after)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def delay_next(self, method: str, seconds: float) -> None:
        """Makes the next call to ``method`` answer normally, but only after ``seconds``."""
        self._failures.setdefault(method.lower(), deque()).append(_Failure(0, "", False, seconds, None))

    def expire_callback_queries(self) -> None:
        """Makes every callback query handed out so far too old to answer."""
        for query in self._queries.values():
            query.expired = True

    # -- reading what happened ---------------------------------------------------------------------------

    def calls_to(self, method: str, chat_id: int | None = None) -> list[ApiCall]:
        """Returns the calls to ``method`` (optionally for one chat), oldest first."""
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id)
        ]

    def commands(self, language_code: str = "", scope: JSONDict | None = None) -> list[tuple[str, str]]:
        """Returns the command menu set for ``language_code`` and ``scope`` as (command, description)."""
        key = (language_code, json.dumps(scope or {"type": "default"}, sort_keys=True))
        return [(str(item["command"]), str(item["description"])) for item in self._commands.get(key, [])]

    @property
    def pending_updates(self) -> int:
        """How many updates the bot has not yet confirmed."""
        return len(self._updates)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Waits until ``predicate()`` holds, checking it after every recorded call."""
        await self._wait(predicate, timeout, getattr(predicate, "__name__", "a condition"))

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        if self._changes is None:
            raise RuntimeError("the FakeBotApi is not started")
        await self._changes.wait_until(predicate, timeout, what)

    async def wait_for_call(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ApiCall:
        """Waits for the next call to ``method`` (optionally for ``chat_id``) and returns it."""
        start = len(self.calls)
        found: list[ApiCall] = []

        def called() -> bool:
            for call in itertools.islice(self.calls, start, None):
                if call.method == method and (chat_id is None or call.chat_id == chat_id):
                    found.append(call)
                    return True
            return False

        called.__name__ = f"a call to {method}"
        await self.wait_until(called, timeout)
        return found[0]

    # -- updates ---------------------------------------------------------------------------------------

    def _queue_update(self, kind: str, payload: JSONDict, chat_id: int | None) -> int:
        update_id = next(self._update_ids)
        self._updates.append(_QueuedUpdate(update_id, kind, payload, chat_id))
        if self._updates_ready is not None:
            self._updates_ready.set()
        return update_id

    def _hand_out(self, update: _QueuedUpdate, now: float) -> JSONDict:
        if update.handed_out_at is None:
            update.handed_out_at = now
            if update.chat_id is not None:
                self._chat(update.chat_id).unanswered.append((update.update_id, now))
        return {"update_id": update.update_id, update.kind: update.payload}

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0].update_id < offset:
            self._updates.popleft()

    def _available(self, limit: int) -> list[_QueuedUpdate]:
        allowed = self._allowed_updates
        ready: list[_QueuedUpdate] = []
        for update in self._updates:
            if allowed and update.kind not in allowed:
                continue
            ready.append(update)
            if len(ready) >= limit:
                break
        return ready

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self._webhook.get("url"):
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        self._confirm(int(params.get("offset", 0) or 0))
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"] or [])
        limit = max(1, min(100, int(params.get("limit", 100) or 100)))
        timeout = float(params.get("timeout", 0) or 0)
        ready = self._available(limit)
        if not ready and timeout > 0 and self._updates_ready is not None:
            deadline = time.monotonic() + timeout
            while not ready and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._updates_ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_ready.wait(), remaining)
                ready = self._available(limit)
        now = time.monotonic()
        return [self._hand_out(update, now) for update in ready]

    async def _deliver_webhook(self) -> None:
        """Posts queued updates to the webhook one at a time, in order, retrying failures."""
        assert self._updates_ready is not None
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._closing:
                if not self._updates or not self._webhook.get("url"):
                    self._updates_ready.clear()
                    await self._updates_ready.wait()
                    continue
                update = self._updates[0]
                headers = {"Content-Type": "application/json"}
                if self._webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(self._webhook["secret_token"])
                body = _dumps(self._hand_out(update, time.monotonic()))
                try:
                    async with session.post(
                        str(self._webhook["url"]), data=body, headers=headers
                    ) as response:
                        delivered = 200 <= response.status < 300
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
                except (TimeoutError, OSError) as exc:
                    delivered, error = False, f"Connection failed: {exc!r}"
                if delivered:
                    if self._updates and self._updates[0] is update:
                        self._updates.popleft()
                else:
                    self._webhook["last_error_date"] = int(time.time())
                    self._webhook["last_error_message"] = error
                    await asyncio.sleep(0.2)

    # -- the Bot API -----------------------------------------------------------------------------------

    def _method_table(self) -> dict[str, Callable[[JSONDict], Any]]:
        return {
            "getMe": lambda params: dict(
                self.bot_user,
                can_join_groups=True,
                can_read_all_group_messages=False,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            ),
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": lambda params: True,
            "close": lambda params: True,
            "logOut": lambda params: True,
        }

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = {key: _decode_form_value(key, value) for key, value in request.query.items()}
        if not request.can_read_body:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            body = json.loads(await request.read() or b"{}")
            if not isinstance(body, dict):
                raise _ApiError(400, "Bad Request: JSON object expected")
            params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = _decode_form_value(key, value)
                elif isinstance(value, bytes | bytearray):
                    params[key] = _decode_form_value(key, bytes(value).decode())
                else:
                    content = value.file.read()
                    params[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(content),
                    }
        return params

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.Response(
            status=404,
            body=_dumps({"ok": False, "error_code": 404, "description": "Not Found"}),
            content_type="application/json",
        )

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        if self._changes is not None:
            self._changes.notify()
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        if request.match_info["token"] != self.token:
            return web.Response(
                status=401,
                body=_dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}),
                content_type="application/json",
            )
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        requested = request.match_info["method"]
        entry = self._handlers.get(requested.lower())
        method = entry[0] if entry is not None else requested
        params: JSONDict = {}
        chat_id: int | None = None
        try:
            params = await self._read_params(request)
            chat_id = self._chat_of(method, params)
            failures = self._failures.get(method.lower())
            if failures:
                failure = failures.popleft()
                if failure.delay > 0:
                    await asyncio.sleep(failure.delay)
                if failure.drop_connection:
                    self._record(method, params, arrived, chat_id, 0, "connection dropped", None)
                    if request.transport is not None:
                        request.transport.abort()
                    raise ConnectionResetError("the fake Bot API dropped the connection on purpose")
                if failure.status:
                    raise _ApiError(failure.status, failure.description, failure.retry_after)
            if entry is None:
                raise _ApiError(404, "Not Found")
            if method in _LIMITED_METHODS and chat_id is not None:
                self._check_limits(chat_id, arrived)
            result = entry[1](params)
            if asyncio.iscoroutine(result):
                result = await result
            if self.enforce_limits and method in _LIMITED_METHODS and chat_id is not None:
                self._count_sent(chat_id, arrived)
        except _ApiError as error:
            self._record(method, params, arrived, chat_id, error.status, error.description, None)
            return web.Response(
                status=error.status, body=_dumps(error.payload()), content_type="application/json"
            )
        self._record(method, params, arrived, chat_id, 200, None, result)
        return web.Response(body=_dumps({"ok": True, "result": result}), content_type="application/json")

    def _record(
        self,
        method: str,
        params: JSONDict,
        arrived: float,
        chat_id: int | None,
        status: int,
        description: str | None,
        result: Any,
    ) -> None:
        if self.record_calls:
            self.calls.append(ApiCall(method, params, arrived, chat_id, status, description, result))
        if status == 200 and chat_id is not None and method in _ANSWERING_METHODS:
            unanswered = self._chats[chat_id].unanswered if chat_id in self._chats else None
            if unanswered:
                _, handed_out_at = unanswered.popleft()
                self.latencies.append(arrived - handed_out_at)
        if self._changes is not None:
            self._changes.notify()

    def _chat_of(self, method: str, params: JSONDict) -> int | None:
        if method == "answerCallbackQuery":
            query = self._queries.get(str(params.get("callback_query_id", "")))
            return query.chat_id if query is not None else None
        if method in _CHAT_METHODS:
            return _as_chat_id(params.get("chat_id"))
        return None

    def _check_limits(self, chat_id: int, now: float) -> None:
        if not self.enforce_limits:
            return
        chat = self._chats.get(chat_id)
        is_group = chat_id < 0
        window = 60.0 if is_group else 1.0
        limit = self.group_messages_per_minute if is_group else self.messages_per_chat_second
        overall = self._sent_times
        while overall and now - overall[0] >= 1.0:
            overall.popleft()
        if len(overall) >= self.messages_per_second:
            self._too_many(1.0 - (now - overall[0]))
        if chat is not None:
            times = chat.sent_times
            while times and now - times[0] >= window:
                times.popleft()
            if len(times) >= limit:
                self._too_many(window - (now - times[0]))

    def _count_sent(self, chat_id: int, now: float) -> None:
        """Counts a message that went out against the flood limits (refused calls do not count)."""
        self._sent_times.append(now)
        chat = self._chats.get(chat_id)
        if chat is not None:
            chat.sent_times.append(now)

    @staticmethod
    def _too_many(wait: float) -> None:
        retry_after = max(1, math.ceil(wait))
        raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    # -- methods ---------------------------------------------------------------------------------------

    def _writable_chat(self, params: JSONDict) -> _Chat:
        chat_id = _as_chat_id(params.get("chat_id"))
        if chat_id is None:
            raise _ApiError(
                400,
                "Bad Request: chat not found" if params.get("chat_id") else "Bad Request: chat_id is empty",
            )
        chat = self._chats.get(chat_id)
        if chat is None:
            if not self.accept_any_chat or chat_id <= 0:
                raise _ApiError(400, "Bad Request: chat not found")
            chat = self._chat(chat_id)
        if chat.blocked:
            raise _ApiError(403, _BLOCKED)
        return chat

    @staticmethod
    def _text_of(params: JSONDict) -> tuple[str, list[JSONDict]]:
        raw = params.get("text")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(raw)
        entities = params.get("entities")
        if isinstance(entities, list) and entities:
            plain, parsed = text, entities
        else:
            try:
                plain, parsed = parse_formatted_text(text, params.get("parse_mode"))
            except FormattingError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > _MAX_TEXT_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return plain, parsed

    @staticmethod
    def _inline_markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list):
            raise _ApiError(
                400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= _MAX_CALLBACK_DATA_BYTES:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return markup

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = self._text_of(params)
        message = ChatMessage(
            message_id=chat.next_message_id,
            chat_id=int(chat.chat["id"]),
            text=text,
            from_bot=True,
            reply_markup=self._inline_markup(params),
            entities=entities,
            date=int(time.time()),
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message.to_telegram(self.bot_user, self.bot_user, chat.chat)

    def _editable(self, params: JSONDict) -> tuple[_Chat, ChatMessage]:
        if "inline_message_id" in params:
            raise _ApiError(400, "Bad Request: message to edit not found")
        chat = self._writable_chat(params)
        message = chat.messages.get(int(params.get("message_id", 0) or 0))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat, message

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        chat, message = self._editable(params)
        text, entities = self._text_of(params)
        # Telegram drops the keyboard of an edited message unless the edit repeats it.
        markup = self._inline_markup(params)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = int(time.time())
        return message.to_telegram(self.bot_user, self.bot_user, chat.chat)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        chat, message = self._editable(params)
        markup = self._inline_markup(params)
        if markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return message.to_telegram(self.bot_user, self.bot_user, chat.chat)

    def _delete_message(self, params: JSONDict) -> bool:
        chat = self._writable_chat(params)
        message = chat.messages.pop(int(params.get("message_id", 0) or 0), None)
        if message is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.answered or query.expired:
            raise _ApiError(400, _QUERY_TOO_OLD)
        query.answered = True
        query.user._record_toast(str(params.get("text", "")))
        return True

    @staticmethod
    def _command_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return str(params.get("language_code", "") or ""), json.dumps(scope, sort_keys=True)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for item in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(item.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: command description must be non-empty")
        self._commands[self._command_key(params)] = [
            {"command": item["command"], "description": item["description"]} for item in commands
        ]
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return list(self._commands.get(self._command_key(params), []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url", "") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            return self._delete_webhook(params)
        self._webhook = {"url": url, "max_connections": int(params.get("max_connections", 40) or 40)}
        if params.get("secret_token"):
            self._webhook["secret_token"] = str(params["secret_token"])
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"] or [])
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())
        if self._updates_ready is not None:
            self._updates_ready.set()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "last_error_date", "last_error_message"):
            if key in self._webhook:
                info[key] = self._webhook[key]
        if self._webhook and self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        return info

    # -- the control interface, for tests in another process --------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"].strip("/")
        body: JSONDict = {}
        if request.can_read_body:
            body = json.loads(await request.read() or b"{}")
        body.update(request.query)
        try:
            result = await self._control_action(action, body)
        except LookupError as exc:
            return web.json_response(
                {"ok": False, "error": str(exc.args[0] if exc.args else exc)}, status=404
            )
        except TimeoutError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=408)
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": f"bad control request: {exc!r}"}, status=400)
        return web.json_response({"ok": True, "result": result})

    def _control_user(self, body: JSONDict) -> FakeUser:
        chat_id = int(body["chat_id"])
        if chat_id < 0:
            return self.group(
                chat_id,
                user_id=int(body.get("user_id", 1001)),
                title=str(body.get("title", "Test group")),
                language_code=body.get("language_code", "en"),
                first_name=str(body.get("first_name", "Test")),
            )
        return self.user(
            chat_id,
            language_code=body.get("language_code", "en"),
            first_name=str(body.get("first_name", "Test")),
            last_name=body.get("last_name"),
            username=body.get("username"),
        )

    async def _control_action(self, action: str, body: JSONDict) -> Any:
        chat_view = re.fullmatch(r"chats/(-?\d+)/(messages|toasts)", action)
        if chat_view is not None:
            user = self._control_user({**body, "chat_id": chat_view.group(1)})
            if chat_view.group(2) == "toasts":
                return user.toasts
            return [message.to_view() for message in user.messages]
        if action == "health":
            return {"pending_updates": self.pending_updates, "calls": len(self.calls)}
        if action == "calls":
            since = int(body.get("since", 0))
            method = body.get("method")
            chat_id = int(body["chat_id"]) if "chat_id" in body else None
            return [
                dataclasses.asdict(call)
                for call in self.calls[since:]
                if (method is None or call.method == method) and (chat_id is None or call.chat_id == chat_id)
            ]
        if action == "latencies":
            return self.latencies
        if action == "commands":
            scope = body.get("scope")
            return self.commands(str(body.get("language_code", "")), json.loads(scope) if scope else None)
        if action == "configure":
            if "latency" in body:
                self.latency = float(body["latency"])
            if "enforce_limits" in body:
                self.enforce_limits = bool(body["enforce_limits"])
            return {"latency": self.latency, "enforce_limits": self.enforce_limits}
        if action == "fail_next":
            self.fail_next(
                str(body["method"]),
                int(body.get("status", 500)),
                body.get("description"),
                drop_connection=bool(body.get("drop_connection", False)),
                delay=float(body.get("delay", 0.0)),
                retry_after=body.get("retry_after"),
            )
            return True
        if action in ("block", "unblock"):
            (self.block if action == "block" else self.unblock)(int(body["chat_id"]))
            return True
        user_actions: dict[str, Callable[[FakeUser], Awaitable[Any]]] = {
            "users": lambda user: _returning(user.chat_id),
            "send_text": lambda user: user.send(str(body["text"])),
            "send_sticker": lambda user: user.send_sticker(str(body.get("emoji", "👍"))),
            "send_photo": lambda user: user.send_photo(body.get("caption")),
            "click": lambda user: user.click(
                str(body["text"]), message_id=int(body["message_id"]) if body.get("message_id") else None
            ),
            "click_data": lambda user: user.click_data(int(body["message_id"]), str(body["data"])),
            "wait_for_reply": lambda user: _view(user.wait_for_reply(float(body.get("timeout", 5.0)))),
            "wait_for_answer": lambda user: user.wait_for_answer(float(body.get("timeout", 5.0))),
        }
        run = user_actions.get(action)
        if run is None:
            raise LookupError(f"unknown control action {action!r}")
        return await run(self._control_user(body))


async def _returning(value: Any) -> Any:
    return value


async def _view(message: Awaitable[ChatMessage]) -> JSONDict:
    return (await message).to_view()


# ---------------------------------------------------------------------------------------------------------
# The fake as a separate process, driven over its control interface.
# ---------------------------------------------------------------------------------------------------------


class RemoteUser:
    """A person in a chat with a bot, driven through a :class:`FakeBotApiProcess`."""

    def __init__(self, process: "FakeBotApiProcess", chat_id: int, profile: JSONDict) -> None:
        self._process = process
        self.chat_id = chat_id
        self._profile = {**profile, "chat_id": chat_id}

    async def _do(self, action: str, **fields: Any) -> Any:
        return await self._process.control(action, {**self._profile, **fields})

    async def send(self, text: str) -> int:
        """Sends ``text`` to the bot and returns its message id."""
        return int(await self._do("send_text", text=text))

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Sends a sticker and returns its message id."""
        return int(await self._do("send_sticker", emoji=emoji))

    async def send_photo(self, caption: str | None = None) -> int:
        """Sends a photo and returns its message id."""
        return int(await self._do("send_photo", caption=caption))

    async def click(self, label: str, *, message_id: int | None = None) -> str:
        """Presses the button ``label`` on the latest message with a keyboard (or ``message_id``)."""
        return str(await self._do("click", text=label, message_id=message_id))

    async def click_data(self, message_id: int, data: str) -> str:
        """Presses a button with ``data`` on message ``message_id``."""
        return str(await self._do("click_data", message_id=message_id, data=data))

    async def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat as they look now, oldest first."""
        views = await self._process.control(f"chats/{self.chat_id}/messages", self._profile, method="GET")
        return [ChatMessage.from_view(view) for view in views]

    async def screen(self) -> ChatMessage:
        """The bot's latest message in this chat."""
        messages = await self.messages()
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    async def toasts(self) -> list[str]:
        """The texts the bot answered this user's button presses with."""
        return list(await self._process.control(f"chats/{self.chat_id}/toasts", self._profile, method="GET"))

    async def wait_for_reply(self, timeout: float = 5.0) -> ChatMessage:  # noqa: ASYNC109
        """Waits for the bot to send or edit a message in this chat since this user's last action."""
        return ChatMessage.from_view(await self._do("wait_for_reply", timeout=timeout))

    async def wait_for_answer(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Waits for the bot to answer this user's last button press; returns the toast text."""
        return str(await self._do("wait_for_answer", timeout=timeout))


# The child process imports this very package, installed or not.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class FakeBotApiProcess:
    """Runs ``python -m bot.testing.fake_bot_api`` as a child process and drives it over HTTP."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        latency: float = 0.0,
        enforce_limits: bool = False,
        accept_any_chat: bool = False,
        startup_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self._arguments = ["--port", "0", "--token", token, "--latency", str(latency)]
        if enforce_limits:
            self._arguments.append("--enforce-limits")
        if accept_any_chat:
            self._arguments.append("--accept-any-chat")
        self._startup_timeout = startup_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._session: ClientSession | None = None
        self.base_url = ""

    @property
    def bot_base_url(self) -> str:
        """The ``base_url`` to give python-telegram-bot, which appends the token to it."""
        return f"{self.base_url}/bot"

    async def start(self) -> None:
        """Starts the process and waits for it to print its base URL."""
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [_PACKAGE_ROOT, environment.get("PYTHONPATH")])
        )
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.testing.fake_bot_api",
            *self._arguments,
            stdout=asyncio.subprocess.PIPE,
            env=environment,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), self._startup_timeout)
        self.base_url = line.decode().strip()
        if not self.base_url.startswith("http://"):
            await self.stop()
            raise RuntimeError(f"the fake Bot API process did not start: {line!r}")
        self._session = ClientSession(timeout=ClientTimeout(total=60))

    async def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL after 5 s)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> Self:
        """Starts the process."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stops the process."""
        await self.stop()

    async def control(self, action: str, payload: JSONDict | None = None, *, method: str = "POST") -> Any:
        """Calls ``/_control/<action>`` and returns its result; raises what the server reported."""
        if self._session is None:
            raise RuntimeError("the fake Bot API process is not started")
        url = f"{self.base_url}/_control/{action}"
        if method == "GET":
            query = {key: str(value) for key, value in (payload or {}).items() if value is not None}
            request = self._session.get(url, params=query)
        else:
            request = self._session.post(url, json=payload or {})
        async with request as response:
            body = await response.json()
        if response.status == 404:
            raise LookupError(body["error"])
        if response.status == 408:
            raise TimeoutError(body["error"])
        if not body.get("ok"):
            raise RuntimeError(f"control request {action!r} failed: {body}")
        return body["result"]

    def user(
        self, chat_id: int, *, language_code: str | None = "en", first_name: str = "Test", user_id: int = 1001
    ) -> RemoteUser:
        """Returns the person in chat ``chat_id`` (a group member ``user_id`` when ``chat_id`` < 0)."""
        profile: JSONDict = {"language_code": language_code, "first_name": first_name}
        if chat_id < 0:
            profile["user_id"] = user_id
        return RemoteUser(self, chat_id, profile)

    async def calls(self, method: str | None = None, chat_id: int | None = None) -> list[ApiCall]:
        """Returns the Bot API calls the bot made, oldest first."""
        views = await self.control("calls", {"method": method, "chat_id": chat_id}, method="GET")
        return [ApiCall(**view) for view in views]

    async def latencies(self) -> list[float]:
        """Per update handed out: seconds from getUpdates handing it out to the bot's first answer."""
        return [float(value) for value in await self.control("latencies", method="GET")]

    async def commands(self, language_code: str = "") -> list[tuple[str, str]]:
        """Returns the command menu set for ``language_code`` in the default scope."""
        rows = await self.control("commands", {"language_code": language_code}, method="GET")
        return [(str(command), str(description)) for command, description in rows]

    async def block(self, chat_id: int) -> None:
        """Makes every send to ``chat_id`` fail with 403 "bot was blocked by the user"."""
        await self.control("block", {"chat_id": chat_id})

    async def fail_next(
        self, method: str, status: int = 500, description: str | None = None, *, drop_connection: bool = False
    ) -> None:
        """Makes the next call to ``method`` fail once."""
        await self.control(
            "fail_next",
            {
                "method": method,
                "status": status,
                "description": description,
                "drop_connection": drop_connection,
            },
        )

    async def configure(self, *, latency: float | None = None, enforce_limits: bool | None = None) -> None:
        """Changes the latency added to every call or whether flood limits apply."""
        settings = {"latency": latency, "enforce_limits": enforce_limits}
        await self.control("configure", {key: value for key, value in settings.items() if value is not None})


# ---------------------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------------------


async def _serve(arguments: argparse.Namespace) -> None:
    api = FakeBotApi(
        token=arguments.token,
        host=arguments.host,
        port=arguments.port,
        latency=arguments.latency,
        enforce_limits=arguments.enforce_limits,
        accept_any_chat=arguments.accept_any_chat,
        record_calls=not arguments.no_call_log,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    async with api:
        print(api.base_url, flush=True)
        await stop.wait()


def main(argv: Iterable[str] | None = None) -> None:
    """Runs the fake Bot API until SIGTERM or SIGINT, after printing its base URL."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.testing.fake_bot_api", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every Bot API call")
    parser.add_argument(
        "--enforce-limits", action="store_true", help="answer 429 beyond Telegram's flood limits"
    )
    parser.add_argument(
        "--accept-any-chat", action="store_true", help="let the bot write to private chats no user opened"
    )
    parser.add_argument(
        "--no-call-log",
        action="store_true",
        help="keep no log of calls (long benchmarks); latencies still kept",
    )
    asyncio.run(_serve(parser.parse_args(list(argv) if argv is not None else None)))


if __name__ == "__main__":
    main()
