"""`esim-bot run` as a subprocess: a reminder scheduled in Asia/Shanghai survives SIGKILL and arrives once,
in the person's waking hours."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testkit import FakeBotApi, FakeUser, by_id

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
# 22:30 in Shanghai on Tuesday 24 November 2026.
SHANGHAI_2230 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
REMINDER_BUTTON = "🔕 停止提醒"  # only reminders carry it


class BotProcess:
    """`esim-bot run` with its time read from a file the test rewrites."""

    def __init__(self, api: FakeBotApi, tmp_path: Path) -> None:
        self.clock_file = tmp_path / "clock"
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
        """Moves the bot's clock."""
        self.clock_file.write_text(moment.isoformat(), encoding="utf-8")

    async def start(self) -> None:
        """Starts the bot."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    async def kill(self) -> None:
        """Kills the bot at once, as a crash or a power cut would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.communicate(), timeout=20)
        self.process = None


@asynccontextmanager
async def bot_process(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """A bot process that is always stopped at the end."""
    bot = BotProcess(api, tmp_path)
    try:
        yield bot
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def tap(user: FakeUser, button_id: str) -> str:
    """Taps the button with this id on the latest screen and returns the text shown in answer."""
    await user.press(by_id(button_id))
    return (await user.wait_for_reply(timeout=20)).text


def reminders(user: FakeUser) -> int:
    """Counts the reminders the person has received."""
    return sum(1 for message in user.messages if REMINDER_BUTTON in message.button_labels)


async def test_a_reminder_scheduled_in_shanghai_survives_sigkill_and_arrives_once_in_the_morning(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api, bot_process(api, tmp_path) as bot:
        bot.set_time(SHANGHAI_2230)
        await bot.start()
        student = api.user(701, language_code="zh-hans")
        await student.send("/start")
        await student.wait_for_reply(timeout=30)
        # A carrier back home in China, and back home: reminded daily, in Shanghai time (the answers name it).
        for button in ("go", "home", "china", "home", "end", "next"):
            await tap(student, button)
        waiting = await tap(student, "sent")
        assert "11月26日周四 08:00（上海时间）" in waiting

        await bot.kill()
        bot.set_time(datetime(2026, 11, 25, 23, 59, tzinfo=UTC))  # 07:59 in Shanghai, two nights later
        await bot.start()
        await asyncio.sleep(3)  # the bot is up and would have sent anything due
        assert reminders(student) == 0, "nothing before 08:00 in Shanghai, after a restart too"

        bot.set_time(datetime(2026, 11, 26, 0, 0, 30, tzinfo=UTC))  # 08:00 in Shanghai
        await api.wait_until(lambda: reminders(student) == 1, timeout=20)
        await asyncio.sleep(1.5)
        assert reminders(student) == 1, "once"
