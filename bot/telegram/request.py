"""An aiohttp-based HTTP layer for python-telegram-bot, cheaper per call than its default httpx one.

PTB's ``HTTPXRequest`` costs about 0.75-1 ms of client CPU per Bot API call and httpcore's pool gets slower the
more requests are in flight; aiohttp does the same call in about 0.3 ms (see ``perf-notes.md``). Use it as::

    ApplicationBuilder().request(AiohttpRequest()).get_updates_request(AiohttpRequest(connection_pool_size=1))
"""

import asyncio
import json
from typing import Final, TypeAlias

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

_JSON_HEADERS: Final = {"Content-Type": "application/json"}

Timeout: TypeAlias = object
"""A timeout as PTB passes it: seconds, None for no limit, or ``BaseRequest.DEFAULT_NONE`` for this request's
default. PTB types it with ``ODVInput`` from its private ``telegram._utils``; typing it ``object`` keeps
the override compatible without importing private modules."""


def _sum_if_bounded(*timeouts: float | None) -> float | None:
    """Returns the sum of ``timeouts``, or ``None`` (no limit) when any of them is unbounded."""
    if any(timeout is None for timeout in timeouts):
        return None
    return sum(timeout for timeout in timeouts if timeout is not None)


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` over one ``aiohttp.ClientSession`` with a bounded pool.

    The timeouts mean what they mean for PTB's ``HTTPXRequest`` and take the same defaults; ``DEFAULT_NONE``
    in a call picks the default given here, ``None`` means no limit. aiohttp has no per-write timeout, so
    for file uploads the write timeout (``media_write_timeout`` by default) is enforced as part of one
    deadline of pool + connect + write + read; other requests are small enough to leave in one write.
    ``proxy`` takes an ``http://`` proxy URL (aiohttp speaks no SOCKS without ``aiohttp-socks``).
    """

    __slots__ = (
        "_connect_timeout",
        "_connection_pool_size",
        "_default_timeout",
        "_keepalive_timeout",
        "_media_write_timeout",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        *,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        keepalive_timeout: float = 30.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError(f"connection_pool_size must be at least 1, got {connection_pool_size}")
        self._connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._keepalive_timeout = keepalive_timeout
        self._default_timeout = self._client_timeout(read_timeout, connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        # Waiting for a free connection is bounded by pool_timeout on its own (aiohttp's "connect" timeout
        # would lump it together with opening the connection), so the pool's bound is kept here.
        self._slots = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call does not give one."""
        return self._read_timeout

    @staticmethod
    def _client_timeout(read_timeout: float | None, connect_timeout: float | None) -> aiohttp.ClientTimeout:
        # "sock_read" bounds each wait for bytes of the answer, as httpx's read timeout does.
        return aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )

    async def initialize(self) -> None:
        """Opens the session and its connection pool (again, after a shutdown)."""
        if self._session is not None and not self._session.closed:
            return
        connector = aiohttp.TCPConnector(
            limit=self._connection_pool_size, limit_per_host=0, keepalive_timeout=self._keepalive_timeout
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            timeout=self._default_timeout,
            # The Bot API sets no cookies; skipping the cookie jar saves work on every call.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def shutdown(self) -> None:
        """Closes the session and every pooled connection."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Sends one request and returns the HTTP status and body; timeouts raise ``TimedOut``."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        uploading = request_data is not None and request_data.contains_files
        read = self._chosen(read_timeout, self._read_timeout)
        connect = self._chosen(connect_timeout, self._connect_timeout)
        pool = self._chosen(pool_timeout, self._pool_timeout)
        if read == self._read_timeout and connect == self._connect_timeout:
            timeout = self._default_timeout
        else:
            timeout = self._client_timeout(read, connect)

        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and uploading:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            data = form
        elif request_data is not None and request_data.parameters:
            # One JSON body, which the Bot API accepts: it costs about an eighth of HTTPXRequest's form
            # encoding (which JSON-encodes every non-string value first anyway).
            data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = _JSON_HEADERS

        deadline: float | None = None
        if uploading:
            write = self._chosen(write_timeout, self._media_write_timeout)
            deadline = _sum_if_bounded(pool, connect, write, read)

        await self._acquire_slot(pool)
        try:
            exchange = self._exchange(session, method, url, data, headers, timeout)
            if deadline is None:
                return await exchange
            async with asyncio.timeout(deadline):
                return await exchange
        except TimeoutError as exc:
            # aiohttp's ConnectionTimeoutError and SocketTimeoutError are TimeoutErrors too.
            raise TimedOut(f"Timed out: {type(exc).__name__} {exc}".strip()) from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        finally:
            self._slots.release()

    async def _acquire_slot(self, pool_timeout: float | None) -> None:
        """Waits at most ``pool_timeout`` for one of the pool's connections to be free."""
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(
                "Pool timeout: all connections in the connection pool are occupied. The request was *not* "
                "sent to Telegram. Consider a larger connection_pool_size or pool_timeout."
            ) from exc

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        data: aiohttp.FormData | bytes | None,
        headers: dict[str, str] | None,
        client_timeout: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes]:
        # Never redirected: a redirect would carry the token (in the URL) to wherever it points.
        async with session.request(
            method,
            url,
            data=data,
            headers=headers,
            timeout=client_timeout,
            proxy=self._proxy,
            allow_redirects=False,
        ) as response:
            return response.status, await response.read()

    @staticmethod
    def _chosen(given: Timeout, default: float | None) -> float | None:
        """Returns ``given`` when it is a number of seconds or None (no limit); otherwise (PTB's default
        marker) ``default``."""
        if given is None:
            return None
        if isinstance(given, int | float) and not isinstance(given, bool):
            return float(given)
        return default
