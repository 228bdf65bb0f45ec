"""`esim-bot run` as a real subprocess against the fake Bot API on loopback: walk, crash, restart, remind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testkit import FakeBotApi, FakeUser

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class Bot:
    """The bot's process and its environment."""

    def __init__(self, api: FakeBotApi, tmp_path: Path) -> None:
        self.clock_file = tmp_path / "clock"
        self.set_time(NOON_IN_NOUMEA)
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "BOT_DATABASE": str(tmp_path / "bot.sqlite3"),
            "BOT_CLOCK_FILE": str(self.clock_file),
            "PTB_TIMEDELTA": "1",
        }
        self.process: asyncio.subprocess.Process | None = None

    def set_time(self, moment: datetime) -> None:
        self.clock_file.write_text(moment.isoformat(), encoding="utf-8")

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def stop(self, sig: int) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(sig)
        output, _ = await asyncio.wait_for(self.process.communicate(), timeout=20)
        code = self.process.returncode
        self.process = None
        return code if code is not None else -1, output.decode(errors="replace")


@asynccontextmanager
async def bot_process(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Bot]:
    bot = Bot(api, tmp_path)
    try:
        yield bot
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def tap(user: FakeUser, label: str) -> str:
    await user.click(label)
    return (await user.wait_for_reply(timeout=20)).text


async def test_a_person_walks_to_done_survives_sigkill_and_gets_each_reminder_once(tmp_path: Path) -> None:
    async with FakeBotApi() as api, bot_process(api, tmp_path) as bot:
        user = api.user(501, language_code="en")
        await bot.start()
        await user.send("/start")
        await user.wait_for_reply(timeout=30)
        for label in (
            "Let's start",
            "carrier back home",
            "Another country",
            "End the line",
            "Phone backed up",
        ):
            await tap(user, label)

        # A crash mid-flow loses nothing: the same screen continues after the restart.
        await bot.stop(signal.SIGKILL)
        await bot.start()
        assert "✅ Phone backed up" in user.screen.button_labels
        await tap(user, "Next")
        await tap(user, "I've submitted it")
        assert "📬 Got the confirmation" in user.screen.button_labels

        # The first reminder is due 24 hours later, at 12:00 in Nouméa: it arrives once.
        bot.set_time(NOON_IN_NOUMEA + timedelta(hours=24, minutes=1))
        await api.wait_until(lambda: len(user.messages) == 2, timeout=20)
        reminder = user.screen
        assert "⏰ Tomorrow" in reminder.button_labels

        # Killed with the next reminder due: after the restart it arrives once, not twice. (The pause lets
        # the first reminder's delivery be recorded: a message in flight at the kill may arrive twice.)
        await asyncio.sleep(0.5)
        await bot.stop(signal.SIGKILL)
        bot.set_time(NOON_IN_NOUMEA + timedelta(hours=48, minutes=2))
        await bot.start()
        await api.wait_until(lambda: len(user.messages) == 3, timeout=30)
        await asyncio.sleep(1.5)
        assert [m.text.split("\n")[0] for m in user.messages[1:]] == [reminder.text.split("\n")[0]] * 2

        await user.click("📬 Got the confirmation", message_id=user.screen.message_id)
        await user.wait_for_reply(timeout=20)
        for label in ("It's confirmed", "later", "Yes"):
            await tap(user, label)
        assert user.screen.button_labels == []

        code, output = await bot.stop(signal.SIGTERM)
        assert code == 0, output
        assert api.token not in output
        assert "hunter2" not in output
        # A test-only hook never goes unnoticed in a log.
        assert f"BOT_CLOCK_FILE is set: the bot's clock reads {bot.clock_file} (for tests only)" in output


async def run_and_fail(cwd: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """Runs `esim-bot run` expecting it to refuse to start; returns its exit code and error output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, error = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode, error.decode()


async def test_without_a_token_it_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    code, error = await run_and_fail(tmp_path, env)
    assert code == 2
    assert "@BotFather" in error
    assert "esim-bot console" in error


async def test_it_refuses_to_start_on_a_broken_flow(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    source = (ROOT / "flows" / "cancel_esim.yaml").read_text(encoding="utf-8")
    (flows / "cancel_esim.yaml").write_text(
        source.replace("to: identify", "to: identfy", 1), encoding="utf-8"
    )
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "1:x",
        "BOT_FLOWS_DIR": str(flows),
        "BOT_LOCALES_DIR": str(ROOT / "locales"),
    }
    code, error = await run_and_fail(tmp_path, env)
    assert code == 2
    assert "unknown target 'identfy' (did you mean 'identify'?)" in error
    assert "cancel_esim.yaml:" in error


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_behind_a_webhook_with_a_secret_token(tmp_path: Path) -> None:
    async with FakeBotApi() as api, bot_process(api, tmp_path) as bot:
        port = free_port()
        bot.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook-url",
            f"http://127.0.0.1:{port}/telegram",
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=ROOT,
            env={**bot.env, "BOT_WEBHOOK_SECRET": "s3cret"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        await api.wait_for_call("setWebhook", timeout=30)
        (call,) = api.calls_to("setWebhook")
        assert call.params["url"] == f"http://127.0.0.1:{port}/telegram"
        assert call.params["secret_token"] == "s3cret"
        user = api.user(601, language_code="zh-Hans")
        await user.send("/start")
        screen = await user.wait_for_reply(timeout=20)
        assert "密码" in screen.text
        await tap(user, screen.button_labels[0])
        assert api.calls_to("getUpdates") == []
        code, output = await bot.stop(signal.SIGTERM)
        assert code == 0, output
