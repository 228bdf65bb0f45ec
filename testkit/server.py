"""A fake Telegram Bot API server on 127.0.0.1: the methods the bot calls, answered as Telegram answers them.

It serves ``/bot<token>/<method>``, keeps each chat's messages as the person would see them, hands updates
out by long polling or to a webhook, and fails on demand (error answers, dropped connections, stalls,
flood limits, blocked users, expired callback queries). :class:`~testkit.users.FakeUser` plays the
person on the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from testkit.chats import ApiError, Chat, FloodLimits, StoredMessage, inline_markup, text_of
from testkit.updates import CONFLICT, UpdateQueue

# How a long poll is recorded when a newer one ended it after its client had let go of it (no 409 read).
GONE = "ended after the client had gone"

if TYPE_CHECKING:
    from testkit.users import FakeUser

__all__ = ["DEFAULT_TOKEN", "GONE", "ApiCall", "FakeBotApi"]

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456789:TEST-fake-bot-api-token"
"""The token :class:`FakeBotApi` accepts unless told otherwise."""

BOT_USERNAME = "esim_test_bot"

# Parameters whose form-encoded value is the string itself, never JSON: a text "123" stays a string.
_STRING_PARAMETERS = frozenset(
    {"text", "parse_mode", "callback_query_id", "url", "secret_token", "language_code", "description"}
)
# Calls that put something in front of the person: they answer the update being timed for that chat.
_ANSWERING_METHODS = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})
# Calls that send a message: they name their chat in ``chat_id`` and count against the flood limits.
_MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})
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
class _Query:
    chat_id: int
    user: FakeUser
    answered: bool = False
    expired: bool = False


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


def _json_response(payload: Any, status: int = 200) -> web.Response:
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8: written as a \u escape, which is valid JSON and what Telegram sends.
        body = json.dumps(payload, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


class _Changes:
    """Wakes everyone waiting for the next recorded call: a fresh Event per change, cheaper than a Condition."""

    # Waits here and in FakeUser take a timeout (ruff's ASYNC109 prefers the caller's asyncio.timeout) so
    # that a test which waits in vain fails saying what it waited for.

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


class FakeBotApi:
    """A Bot API server on 127.0.0.1 answering as Telegram does, with simulated users and failure modes."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        latency: float = 0.0,
        enforce_limits: bool = False,
        accept_any_chat: bool = False,
        record_calls: bool = True,
        port: int = 0,
    ) -> None:
        self.token = token
        self.latency = latency
        """Seconds added to every Bot API call, as a distant server would."""
        self.enforce_limits = enforce_limits
        """Whether calls beyond Telegram's flood limits are answered 429."""
        self.accept_any_chat = accept_any_chat
        """Whether the bot may write to private chats no simulated user opened (a reminder backlog)."""
        self.record_calls = record_calls
        """Whether :attr:`calls` is kept (a long benchmark switches it off; latencies are still kept)."""
        prefix = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(prefix) if prefix.isdigit() else 123456789,
            "is_bot": True,
            "first_name": "eSIM test bot",
            "username": BOT_USERNAME,
        }
        self.port = port
        """The port it listens on: 0 picks a free one at start (a test that starts the bot first names its own)."""
        self.calls: list[ApiCall] = []
        self.latencies: list[float] = []
        """Per update handed out: seconds from getUpdates handing it out to the bot's first answer."""
        self.in_flight = 0
        """How many Bot API calls the server is answering right now."""
        self._chats: dict[int, Chat] = {}
        self._users: dict[tuple[int, int], FakeUser] = {}
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._updates = UpdateQueue()
        self._limits = FloodLimits()
        self._commands: dict[str, list[JSONDict]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._changes: _Changes | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts serving on a free port of 127.0.0.1."""
        self._changes = _Changes()
        self._updates.open()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        _host, self.port = self._runner.addresses[0]

    async def stop(self) -> None:
        """Ends long polls in progress and stops serving."""
        await self._updates.close()
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
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """The ``base_url`` to give python-telegram-bot, which appends the token to it."""
        return f"{self.base_url}/bot"

    # -- simulated people -------------------------------------------------------------------------------

    def user(self, chat_id: int, *, language_code: str | None = "en", first_name: str = "Test") -> FakeUser:
        """Returns the person in the private chat ``chat_id`` (created on first use)."""
        existing = self._users.get((chat_id, chat_id))
        if existing is not None:
            return existing
        user: JSONDict = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return self._add_user(user, {"id": chat_id, "type": "private", "first_name": first_name})

    def group(
        self,
        chat_id: int,
        *,
        user_id: int = 1001,
        title: str = "Test group",
        language_code: str | None = "en",
        forum: bool = False,
    ) -> FakeUser:
        """Returns a person writing in the group ``chat_id`` (a supergroup when the id starts with -100;
        with ``forum``, a supergroup whose messages go in topics)."""
        existing = self._users.get((chat_id, user_id))
        if existing is not None:
            return existing
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language_code is not None:
            user["language_code"] = language_code
        chat: JSONDict = {"id": chat_id, "type": kind, "title": title}
        if forum:
            chat["is_forum"] = True
        return self._add_user(user, chat)

    def topics(self, chat_id: int) -> dict[int, str]:
        """Returns a forum group's topics the bot created, by thread id, with their names."""
        return dict(self._chat(chat_id).topics)

    def thread_of(self, chat_id: int, message_id: int) -> int | None:
        """Returns the forum topic a message of the bot's is in (None: none)."""
        return self._chat(chat_id).messages[message_id].thread_id

    def _add_user(self, user: JSONDict, chat: JSONDict) -> FakeUser:
        from testkit.users import FakeUser  # users.py drives this module: imported once both exist

        fake = FakeUser(self, user, chat)
        self._users[(int(chat["id"]), int(user["id"]))] = fake
        self._chat(int(chat["id"]), chat)
        return fake

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
        retry_after: int | None = None,
    ) -> None:
        """Makes the next call to ``method`` fail once: with an error answer, or by dropping the connection."""
        if description is None:
            description = _STATUS_DESCRIPTIONS.get(status, "Internal Server Error")
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
        failure = _Failure(status, description, drop_connection, 0.0, retry_after)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def delay_next(self, method: str, seconds: float) -> None:
        """Makes the next call to ``method`` answer normally, but only after ``seconds``."""
        self._failures.setdefault(method.lower(), deque()).append(_Failure(0, "", False, seconds, None))

    def queue_update(self, kind: str, payload: Any, chat_id: int | None = None) -> int:
        """Queues any update as Telegram would hand it out, well-formed or not (hostile-input tests); returns
        its id. ``chat_id`` names the chat whose answer it waits for, if any."""
        return self._updates.put(kind, payload, chat_id)

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

    @property
    def conflicts(self) -> list[ApiCall]:
        """The long polls a newer getUpdates ended (409, as Telegram does) while their client still listened:
        two pollers on one token, which several instances must never be."""
        return [
            call
            for call in self.calls_to("getUpdates")
            if call.status == 409 and call.description == CONFLICT
        ]

    def commands(self, language_code: str = "") -> list[tuple[str, str]]:
        """Returns the command menu set for ``language_code`` (all chats) as (command, description)."""
        menu = self._commands.get(language_code, [])
        return [(str(item["command"]), str(item["description"])) for item in menu]

    @property
    def pending_updates(self) -> int:
        """How many updates the bot has not yet confirmed."""
        return len(self._updates)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Waits until ``predicate()`` holds, checking it after every recorded call."""
        await self._wait(predicate, timeout, getattr(predicate, "__name__", "a condition"))

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

        await self._wait(called, timeout, f"a call to {method}")
        return found[0]

    # -- for FakeUser ------------------------------------------------------------------------------------

    def _chat(self, chat_id: int, chat: JSONDict | None = None) -> Chat:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = Chat(
                chat or {"id": chat_id, "type": "private", "first_name": "User"}
            )
        return state

    def _queue_update(self, kind: str, payload: JSONDict, chat_id: int | None) -> int:
        return self._updates.put(kind, payload, chat_id)

    def _open_query(self, chat_id: int, user: FakeUser) -> str:
        """Registers a callback query the bot must answer; returns its id."""
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _Query(chat_id=chat_id, user=user)
        return query_id

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        if self._changes is None:
            raise RuntimeError("the FakeBotApi is not started")
        await self._changes.wait_until(predicate, timeout, what)

    # -- the HTTP side ---------------------------------------------------------------------------------

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
            "setWebhook": self._updates.set_webhook,
            "deleteWebhook": self._updates.delete_webhook,
            "getWebhookInfo": self._updates.webhook_info,
            "sendMessage": self._send_message,
            "createForumTopic": self._create_forum_topic,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = {key: _decode_form_value(key, value) for key, value in request.query.items()}
        if not request.can_read_body:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            body = json.loads(await request.read() or b"{}")
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
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
        return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

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
            return _json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
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
                    raise ApiError(failure.status, failure.description, failure.retry_after)
            if entry is None:
                raise ApiError(404, "Not Found")
            limited = self.enforce_limits and method in _MESSAGE_METHODS and chat_id is not None
            if limited and chat_id is not None:
                self._limits.check(chat_id, arrived)
            result = entry[1](params)
            if asyncio.iscoroutine(result):
                result = await result
            if limited and chat_id is not None:
                self._limits.count(chat_id, arrived)
        except ApiError as error:
            if error.description == CONFLICT and (
                request.transport is None or request.transport.is_closing()
            ):
                # Ended by a newer poll after its own process had gone (killed): nobody reads this 409.
                self._record(method, params, arrived, chat_id, 0, GONE, None)
                return _json_response(error.payload(), error.status)
            self._record(method, params, arrived, chat_id, error.status, error.description, None)
            return _json_response(error.payload(), error.status)
        self._record(method, params, arrived, chat_id, 200, None, result)
        return _json_response({"ok": True, "result": result})

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
        """Keeps a call that was answered (a subclass may count more here: bench/ does)."""
        if self.record_calls:
            self.calls.append(ApiCall(method, params, arrived, chat_id, status, description, result))
        if status == 200 and chat_id is not None and method in _ANSWERING_METHODS:
            handed_out_at = self._updates.answered(chat_id)
            if handed_out_at is not None:
                self.latencies.append(arrived - handed_out_at)
        if self._changes is not None:
            self._changes.notify()

    def _chat_of(self, method: str, params: JSONDict) -> int | None:
        if method == "answerCallbackQuery":
            query = self._queries.get(str(params.get("callback_query_id", "")))
            return query.chat_id if query is not None else None
        if method in _MESSAGE_METHODS:
            return _as_chat_id(params.get("chat_id"))
        return None

    # -- the Bot API methods ---------------------------------------------------------------------------

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Answers ``getUpdates`` (a subclass may note more here: bench/ does)."""
        return await self._updates.get_updates(params)

    def _writable_chat(self, params: JSONDict) -> Chat:
        chat_id = _as_chat_id(params.get("chat_id"))
        if chat_id is None:
            raise ApiError(
                400,
                "Bad Request: chat not found" if params.get("chat_id") else "Bad Request: chat_id is empty",
            )
        chat = self._chats.get(chat_id)
        if chat is None:
            if not self.accept_any_chat or chat_id <= 0:
                raise ApiError(400, "Bad Request: chat not found")
            chat = self._chat(chat_id)
        if chat.blocked:
            raise ApiError(403, _BLOCKED)
        return chat

    def _create_forum_topic(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        if not chat.chat.get("is_forum"):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        name = str(params.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: invalid forum topic name specified")
        # A topic's thread id is the id of the service message that opens it.
        thread_id = chat.new_message_id()
        chat.topics[thread_id] = name
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = text_of(params)
        thread = params.get("message_thread_id")
        if thread is not None and int(thread) not in chat.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        message = StoredMessage(
            message_id=chat.new_message_id(),
            text=text,
            date=int(time.time()),
            reply_markup=inline_markup(params),
            entities=entities,
            thread_id=None if thread is None else int(thread),
        )
        chat.messages[message.message_id] = message
        return message.to_telegram(self.bot_user, chat.chat)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: message to edit not found")
        chat = self._writable_chat(params)
        message = chat.messages.get(int(params.get("message_id", 0) or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, entities = text_of(params)
        # Telegram drops the keyboard of an edited message unless the edit repeats it.
        markup = inline_markup(params)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = int(time.time())
        return message.to_telegram(self.bot_user, chat.chat)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        message = chat.messages.get(int(params.get("message_id", 0) or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = inline_markup(params)
        if markup == message.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return message.to_telegram(self.bot_user, chat.chat)

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.answered or query.expired:
            raise ApiError(400, _QUERY_TOO_OLD)
        query.answered = True
        query.user._record_toast(str(params.get("text", "")))
        return True

    def _delete_my_commands(self, params: JSONDict) -> bool:
        self._commands.pop(str(params.get("language_code") or ""), None)
        return True

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for item in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(item.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
        if params.get("scope") not in (None, {"type": "default"}):
            raise ApiError(400, "Bad Request: the fake keeps command menus of the default scope only")
        language_code = str(params.get("language_code", "") or "")
        self._commands[language_code] = [
            {"command": item["command"], "description": item["description"]} for item in commands
        ]
        return True
