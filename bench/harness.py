"""The pieces every scenario uses: an instrumented fake Bot API, simulated users, and a measured bot process.

The fake Bot API (:class:`BenchApi`) runs in the benchmark's own process; each bot under test runs as a
separate process (:class:`BotProcess`), so its CPU time and RSS are its own. Loopback only, every loop
bounded by a count or a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from testkit import Button, FakeBotApi, Screen, by_id
from testkit.server import GONE

__all__ = [
    "BenchApi",
    "BotProcess",
    "ChatProgress",
    "WalkResult",
    "percentile",
    "walk_users",
]

JSONDict = dict[str, Any]

# Calls that show the user a screen; a button press is done once one of these and the callback answer arrived.
SCREEN_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})


@dataclass(slots=True)
class ChatProgress:
    """What the bot has shown one chat so far, and an event set on every change."""

    screens: int = 0
    answers: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        """Waits until ``condition()`` holds; raises TimeoutError naming ``what`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


class BenchApi(FakeBotApi):
    """The fake Bot API with a per-chat progress signal and counters instead of a full call log."""

    def __init__(self, **options: Any) -> None:
        super().__init__(record_calls=False, **options)
        self.progress: dict[int, ChatProgress] = {}
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.sent_by_chat: Counter[int] = Counter()
        self.send_times: list[float] = []
        self.first_get_updates: float | None = None
        self.get_updates_seen = asyncio.Event()
        # Updates in getUpdates answers, counting those handed out again because the bot had not yet
        # confirmed them (the bot's polling before its durable inbox confirmed an update only once handled).
        self.handed_out = 0

    def progress_of(self, chat_id: int) -> ChatProgress:
        """Returns the progress record of ``chat_id``."""
        progress = self.progress.get(chat_id)
        if progress is None:
            progress = self.progress[chat_id] = ChatProgress()
        return progress

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.first_get_updates is None:
            self.first_get_updates = time.monotonic()
            self.get_updates_seen.set()
        updates = await super()._get_updates(params)
        self.handed_out += len(updates)
        return updates

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
        super()._record(method, params, arrived, chat_id, status, description, result)
        if description == GONE:
            return  # a long poll the bot had already let go of (stopping), ended by its confirming call
        self.statuses[(method, status)] += 1
        if status != 200 or chat_id is None:
            return
        if method == "sendMessage":
            self.sent_by_chat[chat_id] += 1
            self.send_times.append(arrived)
        progress = self.progress.get(chat_id)
        if progress is None:
            return
        if method in SCREEN_METHODS:
            progress.screens += 1
        elif method == "answerCallbackQuery":
            progress.answers += 1
        else:
            return
        progress.changed.set()

    def errors(self) -> dict[str, int]:
        """Returns the non-200 answers given, as ``"method status": count``."""
        return {
            f"{method} {status}": n for (method, status), n in sorted(self.statuses.items()) if status != 200
        }

    def count(self, status: int) -> int:
        """Returns how many calls were answered with HTTP ``status``."""
        return sum(n for (_, code), n in self.statuses.items() if code == status)


# ---------------------------------------------------------------------------------------------------------
# Simulated users.
# ---------------------------------------------------------------------------------------------------------


def _has(screen: Screen, wanted: str | None) -> bool:
    """Tells whether ``screen`` has the button whose id is ``wanted`` (or, for None, any button)."""
    return screen.has_button(by_id(wanted)) if wanted is not None else bool(screen.buttons)


def _choose(screen: Screen, wanted: str | None) -> Button:
    """Returns the button to press: the one whose id is ``wanted``, else the first callback button."""
    if wanted is not None:
        return screen.button(by_id(wanted))
    first = next((button for button in screen.buttons if button.data is not None), None)
    if first is None:
        raise LookupError(f"message {screen.message_id} has no callback buttons")
    return first


@dataclass(slots=True)
class WalkResult:
    """What a crowd of users got done."""

    users: int
    updates: int
    failures: list[str]
    seconds: float


async def _walk(
    api: BenchApi,
    chat_id: int,
    clicks: int,
    path: Sequence[str] | None,
    think: float,
    timeout: float,  # noqa: ASYNC109
) -> int:
    """Sends /start, then presses ``clicks`` buttons; returns how many updates the bot fully answered."""
    user = api.user(chat_id, language_code="en", first_name=f"User{chat_id}")
    progress = api.progress_of(chat_id)
    shown = progress.screens
    await user.send("/start")
    await progress.wait(lambda: progress.screens > shown, timeout, f"the first screen in chat {chat_id}")
    done = 1
    for step in range(clicks):
        if think > 0:
            await asyncio.sleep(think)
        wanted = path[step] if path is not None else None
        # The newest message that has the button: a question sent below the step (such as "where are you
        # now?" with its places) may come after the screen whose button the path presses.
        screen = next((m for m in reversed(user.messages) if _has(m, wanted)), None)
        if screen is None:
            raise LookupError(f"chat {chat_id} has no message with {wanted or 'buttons'!r}")
        button = _choose(screen, wanted)
        shown, answered = progress.screens, progress.answers
        await user.press(button, on=screen)
        following = path[step + 1] if path is not None and step + 1 < len(path) else None
        # With a path, the answer is complete once the next button to press is on the chat as well: a press
        # can show two messages (a screen and a question below it), each counted as a screen.
        await progress.wait(
            lambda shown=shown, answered=answered, following=following: (
                progress.screens > shown
                and progress.answers > answered
                and (following is None or any(_has(m, following) for m in user.messages))
            ),
            timeout,
            f"the answer to press {step + 1} ({button.data}) in chat {chat_id}",
        )
        done += 1
    return done


async def walk_users(
    api: BenchApi,
    chat_ids: Sequence[int],
    *,
    clicks: int,
    path: Sequence[str] | None = None,
    think: float = 0.0,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> WalkResult:
    """Runs every user's journey at once; each waits for the bot's answer before the next press."""
    if path is not None and len(path) < clicks:
        raise ValueError(f"the scripted path has {len(path)} presses, fewer than {clicks}")
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(_walk(api, chat_id, clicks, path, think, timeout) for chat_id in chat_ids), return_exceptions=True
    )
    seconds = time.monotonic() - started
    updates = sum(outcome for outcome in outcomes if isinstance(outcome, int))
    failures = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    return WalkResult(len(chat_ids), updates, failures, seconds)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Returns the ``fraction`` quantile of ``values`` (nearest rank), or NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    """Returns the median, or NaN when there are no values."""
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------------------------------------------------
# The bot under test, as a process.
# ---------------------------------------------------------------------------------------------------------


def _peak_rss(pid: int) -> int:
    """Returns the process's peak resident set size in bytes (Linux ``VmHWM``), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


@dataclass(slots=True)
class Usage:
    """CPU seconds (user + system) and memory of a process at one moment."""

    cpu: float
    rss: int
    peak_rss: int
    threads: dict[int, float]


class BotProcess:
    """One bot under test, started as a child process with its output in a log file."""

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path | None = None
    ) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self.started_at = 0.0
        self._process: asyncio.subprocess.Process | None = None
        self._psutil: psutil.Process | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        if self._process is None:
            raise RuntimeError("the bot process is not started")
        return self._process.pid

    async def start(self) -> None:
        """Starts the process; its stdout and stderr go to the log file."""
        with self.log_path.open("wb") as log:
            self.started_at = time.monotonic()
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self._psutil = psutil.Process(self._process.pid)

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process is not None and self._process.returncode is None

    def usage(self) -> Usage:
        """Returns the process's CPU time and memory now."""
        if self._psutil is None:
            raise RuntimeError("the bot process is not started")
        with self._psutil.oneshot():
            times = self._psutil.cpu_times()
            rss = self._psutil.memory_info().rss
            threads = {thread.id: thread.user_time + thread.system_time for thread in self._psutil.threads()}
        return Usage(times.user + times.system, rss, _peak_rss(self._psutil.pid), threads)

    async def stop(self, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """Sends SIGTERM, waits ``timeout`` s for a clean exit, then kills; returns the exit code."""
        process = self._process
        if process is None:
            return 0
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.returncode = process.returncode
        return process.returncode if process.returncode is not None else 0

    def log_tail(self, lines: int = 15) -> str:
        """Returns the end of the process's output, for failure reports."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def python_command(module: str) -> list[str]:
    """Returns the command that runs ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module]


def base_env() -> dict[str, str]:
    """Returns the environment for bot processes: this one, minus anything that would change their setup."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_", "BENCH_", "PYTHONPROFILE"))
    }
    env["PTB_TIMEDELTA"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env
