"""`esim-bot run` as a child process, as the end-to-end tests start, stop and kill it."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
# Settings the test process may have inherited; each test gives the bot only the ones it means to.
BOT_SETTINGS = ("TELEGRAM_", "BOT_")


def clean_environment(**settings: str) -> dict[str, str]:
    """Returns this process's environment without any bot setting, plus ``settings``."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(BOT_SETTINGS)}
    # python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas.
    return {**inherited, "PTB_TIMEDELTA": "1", **settings}


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Waits until ``predicate()`` holds, checking every 20 ms.

    For what the fake Bot API changes without recording a call (a webhook delivery it confirms), which its
    own ``wait_until`` would only notice at the next call.
    """
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 nothing signals these changes
            await asyncio.sleep(0.02)


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def webhook_arguments(port: int) -> tuple[str, ...]:
    """The `esim-bot run` arguments for a webhook on 127.0.0.1:``port`` (its secret is BOT_WEBHOOK_SECRET's)."""
    url = f"http://127.0.0.1:{port}/telegram"
    return (
        "--webhook-url",
        url,
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
    )


class BotProcess:
    """One `esim-bot run` at a time, restartable, with everything it printed kept."""

    def __init__(self, env: Mapping[str, str], *args: str, cwd: Path = ROOT) -> None:
        self.env = dict(env)
        self.args = args
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._run_starts_at = 0

    async def start(self) -> None:
        """Starts the bot (the previous one must have ended)."""
        assert self.process is None, "the bot is already running"
        self._run_starts_at = len(self.output)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *self.args, cwd=self.cwd, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read(self.process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            self.output.append(line.decode(errors="replace"))

    async def wait_for_output(self, text: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Waits until the bot started last has printed ``text``."""

        def printed() -> bool:
            return any(text in line for line in self.output[self._run_starts_at :])

        async with asyncio.timeout(timeout):
            while not printed():
                if self.process is None or self.process.returncode is not None:
                    if self._reader is not None:
                        await self._reader  # the last lines, read after the process ended
                    if printed():
                        return
                    raise AssertionError(f"the bot ended before printing {text!r}:\n{self.printed}")
                await asyncio.sleep(0.02)

    async def stop(self, signal_number: int) -> int:
        """Sends ``signal_number`` and returns the exit code once the bot has ended."""
        process, reader = self.process, self._reader
        assert process is not None
        assert reader is not None
        process.send_signal(signal_number)
        code = await asyncio.wait_for(process.wait(), timeout=30)
        await reader
        self.process = None
        return code

    @property
    def printed(self) -> str:
        """Everything the bot printed so far, over all its runs."""
        return "".join(self.output)


@asynccontextmanager
async def bot_process(env: Mapping[str, str], *args: str, cwd: Path = ROOT) -> AsyncIterator[BotProcess]:
    """A restartable bot process, killed at the end of the block if still running."""
    bot = BotProcess(env, *args, cwd=cwd)
    try:
        yield bot
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


@asynccontextmanager
async def webhook_proxy(
    port: int, order: Callable[[Mapping[str, Any]], Sequence[int]]
) -> AsyncIterator[dict[int, set[int]]]:
    """A small load balancer on ``port`` for Telegram's webhook calls: each goes to the first instance (a port)
    of ``order(update)`` that answers, the next when one is down (being killed or restarting); yields, per
    instance port, the chats whose updates it took."""
    session = aiohttp.ClientSession()
    taken: dict[int, set[int]] = {}

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        update = await request.json()
        headers = {name: value for name, value in request.headers.items() if name.lower().startswith("x-")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        for backend in order(update):
            try:
                async with session.post(
                    f"http://127.0.0.1:{backend}{request.path}", data=body, headers=headers
                ) as answer:
                    if answer.status == 200:
                        taken.setdefault(backend, set()).add(update_chat(update))
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)

    app = web.Application()
    app.router.add_post("/{path:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield taken
    finally:
        await runner.cleanup()
        await session.close()


def update_chat(update: Mapping[str, Any]) -> int:
    """Returns the chat an update (a message or a button pressed under one) comes from; 0 for any other."""
    message = update.get("message") or update.get("callback_query", {}).get("message") or {}
    return int(message.get("chat", {}).get("id", 0))
