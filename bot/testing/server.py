"""A fake Telegram Bot API server on 127.0.0.1: the methods the bot calls, answered as Telegram answers them.

It serves ``/bot<token>/<method>``, keeps each chat's messages as the person would see them, hands updates
out by long polling or to a webhook, and fails on demand (error answers, dropped connections, stalls,
flood limits, blocked users, expired callback queries). :class:`~bot.testing.users.FakeUser` plays the
person on the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import ClientSession, ClientTimeout, web
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.testing.formatting import FormattingError, parse_formatted_text, utf16_length
from bot.testing.screens import Button, Screen

if TYPE_CHECKING:
    from bot.testing.users import FakeUser

__all__ = ["DEFAULT_TOKEN", "ApiCall", "FakeBotApi"]

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456789:TEST-fake-bot-api-token"
"""The token :class:`FakeBotApi` accepts unless told otherwise."""

BOT_USERNAME = "esim_test_bot"

# Telegram's flood limits: 30 messages a second overall, 1 a second per chat, 20 a minute per group.
MESSAGES_PER_SECOND = 30
MESSAGES_PER_CHAT_SECOND = 1
GROUP_MESSAGES_PER_MINUTE = 20

# Parameters whose form-encoded value is the string itself, never JSON: a text "123" stays a string.
_STRING_PARAMETERS = frozenset(
    {"text", "parse_mode", "callback_query_id", "url", "secret_token", "language_code", "description"}
)
# Calls that put something in front of the person: they answer the update being timed for that chat.
_ANSWERING_METHODS = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})
# Calls that count against Telegram's flood limits.
_LIMITED_METHODS = frozenset({"sendMessage", "editMessageText"})
# Calls that name their chat in a ``chat_id`` parameter.
_CHAT_METHODS = frozenset({"sendMessage", "editMessageText"})
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
class _Message:
    """A message of the bot's as the chat holds it now, in the Bot API's own shapes."""

    message_id: int
    text: str
    date: int
    reply_markup: JSONDict | None = None
    entities: list[JSONDict] = dataclasses.field(default_factory=list)
    edit_date: int | None = None

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
        return message


@dataclasses.dataclass(slots=True)
class _Chat:
    chat: JSONDict
    messages: dict[int, _Message] = dataclasses.field(default_factory=dict)
    """The bot's messages (the person's own are only numbered: the bot never reads them back)."""
    next_message_id: int = 1
    blocked: bool = False
    # Updates handed out to the bot and not yet answered, oldest first: (update_id, handed out at).
    unanswered: deque[tuple[int, float]] = dataclasses.field(default_factory=deque)
    sent_times: deque[float] = dataclasses.field(default_factory=deque)

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclasses.dataclass(slots=True)
class _Query:
    chat_id: int
    user: FakeUser
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
        self.port = 0
        self.calls: list[ApiCall] = []
        self.latencies: list[float] = []
        """Per update handed out: seconds from getUpdates handing it out to the bot's first answer."""
        self.in_flight = 0
        """How many Bot API calls the server is answering right now."""
        self._chats: dict[int, _Chat] = {}
        self._users: dict[tuple[int, int], FakeUser] = {}
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._updates: deque[_QueuedUpdate] = deque()
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: list[str] | None = None
        self._webhook: JSONDict = {}
        self._webhook_task: asyncio.Task[None] | None = None
        self._commands: dict[str, list[JSONDict]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._sent_times: deque[float] = deque()
        self._changes: _Changes | None = None
        self._updates_ready: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._handlers: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts serving on a free port of 127.0.0.1."""
        self._changes = _Changes()
        self._updates_ready = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host_and_port = self._runner.addresses[0]
        self.port = int(host_and_port[1])

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
    ) -> FakeUser:
        """Returns a person writing in the group ``chat_id`` (a supergroup when the id starts with -100)."""
        existing = self._users.get((chat_id, user_id))
        if existing is not None:
            return existing
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language_code is not None:
            user["language_code"] = language_code
        return self._add_user(user, {"id": chat_id, "type": kind, "title": title})

    def _add_user(self, user: JSONDict, chat: JSONDict) -> FakeUser:
        from bot.testing.users import FakeUser  # the user module drives this one: imported once both exist

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

    def commands(self, language_code: str = "") -> list[tuple[str, str]]:
        """Returns the command menu set for ``language_code`` (all chats) as (command, description)."""
        return [
            (str(item["command"]), str(item["description"])) for item in self._commands.get(language_code, [])
        ]

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

        await self._wait(called, timeout, f"a call to {method}")
        return found[0]

    # -- updates ---------------------------------------------------------------------------------------

    def _queue_update(self, kind: str, payload: JSONDict, chat_id: int | None) -> int:
        update_id = next(self._update_ids)
        self._updates.append(_QueuedUpdate(update_id, kind, payload, chat_id))
        if self._updates_ready is not None:
            self._updates_ready.set()
        return update_id

    def _open_query(self, chat_id: int, user: FakeUser) -> str:
        """Registers a callback query the bot must answer; returns its id."""
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _Query(chat_id=chat_id, user=user)
        return query_id

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
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
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
        """Keeps a call that was answered (a subclass may count more here: bench/ does)."""
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
        is_group = chat_id < 0
        window = 60.0 if is_group else 1.0
        limit = GROUP_MESSAGES_PER_MINUTE if is_group else MESSAGES_PER_CHAT_SECOND
        overall = self._sent_times
        while overall and now - overall[0] >= 1.0:
            overall.popleft()
        if len(overall) >= MESSAGES_PER_SECOND:
            self._too_many(1.0 - (now - overall[0]))
        chat = self._chats.get(chat_id)
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
        if utf16_length(plain) > MessageLimit.MAX_TEXT_LENGTH:
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
        longest = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= longest:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return markup

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = self._text_of(params)
        message = _Message(
            message_id=chat.new_message_id(),
            text=text,
            date=int(time.time()),
            reply_markup=self._inline_markup(params),
            entities=entities,
        )
        chat.messages[message.message_id] = message
        return message.to_telegram(self.bot_user, chat.chat)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        if "inline_message_id" in params:
            raise _ApiError(400, "Bad Request: message to edit not found")
        chat = self._writable_chat(params)
        message = chat.messages.get(int(params.get("message_id", 0) or 0))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text, entities = self._text_of(params)
        # Telegram drops the keyboard of an edited message unless the edit repeats it.
        markup = self._inline_markup(params)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = int(time.time())
        return message.to_telegram(self.bot_user, chat.chat)

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.answered or query.expired:
            raise _ApiError(400, _QUERY_TOO_OLD)
        query.answered = True
        query.user._record_toast(str(params.get("text", "")))
        return True

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for item in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(item.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: command description must be non-empty")
        if params.get("scope") not in (None, {"type": "default"}):
            raise _ApiError(400, "Bad Request: the fake keeps command menus of the default scope only")
        language_code = str(params.get("language_code", "") or "")
        self._commands[language_code] = [
            {"command": item["command"], "description": item["description"]} for item in commands
        ]
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
