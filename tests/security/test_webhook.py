"""The webhook lets in only Telegram's calls with the secret, and nobody on the network can stall or flood it.

Through the real edge: the whole bot runs as `esim-bot run --webhook-url` runs it, and these tests speak HTTP to
it on 127.0.0.1, raw bytes where a well-behaved client would refuse to send them.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.telegram.webhook import SECRET_HEADER, WebhookLimits
from testkit import FakeBotApi
from tests.e2e.process import ROOT, bot_process, clean_environment, free_port, webhook_arguments
from tests.security.edge import SECRET, running

pytestmark = pytest.mark.e2e

QUICK = WebhookLimits(header_seconds=1.0, body_seconds=1.0, most_connections=20)


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The edge's complaints: its warnings and errors (what INFO shows depends on which test configured
    logging before this one in the same process)."""
    return [
        record
        for record in caplog.records
        if record.name.startswith(("bot.telegram.webhook", "aiohttp")) and record.levelno >= logging.WARNING
    ]


async def raw_call(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Sends one request as raw bytes and returns the answer's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 10)).strip()
    finally:
        writer.close()


def run_cli(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_webhook_open_beyond_loopback_without_a_secret_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    env = clean_environment(TELEGRAM_BOT_TOKEN="123:abc", TELEGRAM_API_URL="http://127.0.0.1:9", BOT_DATABASE=str(tmp_path / "b.sqlite3"))  # fmt: skip
    port = str(free_port())
    done = run_cli(
        env, "--webhook-url", "https://bot.example.org/telegram", "--listen", "0.0.0.0", "--port", port
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "without a secret" in lines[0]
    assert "BOT_WEBHOOK_SECRET" in lines[0]


def test_the_secret_is_not_taken_from_the_command_line(tmp_path: Path) -> None:
    env = clean_environment(TELEGRAM_BOT_TOKEN="123:abc", TELEGRAM_API_URL="http://127.0.0.1:9", BOT_DATABASE=str(tmp_path / "b.sqlite3"))  # fmt: skip
    port = str(free_port())
    done = run_cli(env, *webhook_arguments(int(port)), "--secret-token", "visible-to-everyone")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "esim-bot: --secret-token is shown to every local user (/proc/<pid>/cmdline): "
        "set BOT_WEBHOOK_SECRET or BOT_WEBHOOK_SECRET_FILE instead"
    ]


async def test_the_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text("from-a-file_123\n")
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
            BOT_WEBHOOK_SECRET_FILE=str(secret_file),
        )
        port = free_port()
        async with bot_process(env, *webhook_arguments(port), "--listen", "0.0.0.0") as bot:
            await bot.start()
            await bot.wait_for_output("receiving updates at")
            (call,) = api.calls_to("setWebhook")
            assert call.params["secret_token"] == "from-a-file_123"
            user = api.user(3, language_code="en")
            await user.send("/start")
            assert "Let's start" in (await user.wait_for_reply(timeout=20)).button_labels


async def test_a_secret_header_that_is_not_utf8_is_refused_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotApi() as api, running(api, tmp_path, webhook=True) as bot:
        head = b"POST /telegram HTTP/1.1\r\nHost: x\r\n" + SECRET_HEADER.encode() + b": \xff\xfe\xc3(\r\n"
        status = await raw_call(bot.port, head, b'{"update_id": 1}')

    assert status == b"HTTP/1.1 403 Forbidden"
    assert [record.getMessage() for record in refusals(caplog)] == [
        "webhook call refused: wrong or missing secret header"
    ]
    assert not any(record.exc_info for record in caplog.records)


async def test_deeply_nested_json_is_refused_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nested = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    async with (
        FakeBotApi() as api,
        running(api, tmp_path, webhook=True) as bot,
        aiohttp.ClientSession() as http,
        http.post(bot.webhook_url, data=nested, headers={SECRET_HEADER: SECRET}) as answer,
    ):
        pass

    assert answer.status == 400
    assert [record.getMessage() for record in refusals(caplog)] == [
        "webhook call refused: its body is not an update (RecursionError)"
    ]
    assert not any(record.exc_info for record in caplog.records)


async def test_a_flood_of_refused_calls_is_logged_once_per_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        FakeBotApi() as api,
        running(api, tmp_path, webhook=True) as bot,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(300):
            async with http.post(bot.webhook_url, data=b"{}", headers={SECRET_HEADER: "guess"}) as answer:
                assert answer.status == 403
        user = api.user(4, language_code="en")
        await user.send("/start")
        assert "Let's start" in (await user.wait_for_reply(timeout=20)).button_labels

    assert [record.getMessage() for record in refusals(caplog)] == [
        "webhook call refused: wrong or missing secret header"
    ]


async def slow_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Opens a connection and sends half a request head, never the rest."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    return reader, writer


async def test_connections_that_send_slowly_are_closed_and_capped_while_updates_get_through(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api, running(api, tmp_path, webhook=True, limits=QUICK) as bot:
        began = time.monotonic()
        clients = [await slow_client(bot.port) for _ in range(60)]
        slow = [reader for reader, _ in clients]
        await asyncio.sleep(0.3)
        # Beyond the cap, the connections waiting longest were closed to make room.
        still_open = sum(not reader.at_eof() for reader in slow)
        assert still_open <= QUICK.most_connections

        user = api.user(5, language_code="en")
        await user.send("/start")
        assert "Let's start" in (await user.wait_for_reply(timeout=10)).button_labels

        # The rest are closed once they have sent no whole request for header_seconds.
        await asyncio.wait_for(asyncio.gather(*(reader.read() for reader in slow)), timeout=5)
        assert time.monotonic() - began < QUICK.header_seconds + 4
        for _, writer in clients:
            writer.close()


async def test_a_body_that_never_ends_is_cut_off(tmp_path: Path) -> None:
    async with FakeBotApi() as api, running(api, tmp_path, webhook=True, limits=QUICK) as bot:
        reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        head = (
            f"POST /telegram HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\nContent-Length: 1000\r\n\r\n"
        )
        writer.write(head.encode() + b'{"update_id": ')
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=QUICK.body_seconds + 3)
        writer.close()

    assert status.strip() == b"HTTP/1.1 408 Request Timeout"
