"""The console talks to the bot through the chat service, so the terminal shows what a Telegram user sees.

Driven end to end as a subprocess (the esim-bot command), and in-process on a fixed clock where the
times it shows are checked to the minute.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.console import Console
from bot.engine.engine import FlowEngine

ROOT = Path(__file__).resolve().parents[2]
# Monday 5 January 2026, 10:00 in Nouméa: outside the quiet hours.
MONDAY_MORNING_IN_NOUMEA = datetime(2026, 1, 4, 23, 0, tzinfo=UTC)


def console(*args: str, keys: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=keys,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def in_process(engine: FlowEngine, *lines: str) -> str:
    """Runs the console on a fixed clock with ``lines`` typed in; returns everything it printed."""
    output = io.StringIO()
    typed: Iterator[str] = iter(lines)
    status = asyncio.run(
        Console(engine, "en", output, lambda: next(typed, None)).run(at=MONDAY_MORNING_IN_NOUMEA)
    )
    assert status == 0
    return output.getvalue()


@pytest.mark.e2e
def test_the_console_walks_to_a_reminder_and_answers_it_in_french() -> None:
    # A deep link, "C'est parti", "still has data", "submitted", the first reminder, "got the confirmation".
    result = console("--lang", "fr", keys="/start airalo\n1\n1\n1\nw\n1\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Je ne vous demanderai jamais" in out
    assert "Airalo" in out
    assert "Prochain rappel" in out, "the waiting screen says when the reminder comes"
    assert "#3\n" in out, "the reminder is a message of its own, below the screen"
    assert "(edited)" in out, "a press edits the screen in place, as in Telegram"


@pytest.mark.e2e
def test_the_console_sends_what_is_typed_to_the_bot_and_quits_on_q() -> None:
    result = console("--lang", "en", keys="hello\n99\nq\n")
    assert result.returncode == 0, result.stderr
    assert "Type a button's number" in result.stdout
    # Off-topic text gets the start screen anew (issue 17), and the one above loses its buttons.
    assert "(message #1 no longer has buttons)" in result.stdout, "typed text gets the bot's answer"
    assert result.stdout.split("\n#2\n", 1)[-1].count("[1] Let's start") == 1
    assert "There is no button 99." in result.stdout


def test_the_console_shows_status_typed_answers_reminders_and_old_buttons(default_engine: FlowEngine) -> None:
    out = in_process(
        default_engine,
        "/start airalo",
        "1",  # Let's start
        "1",  # Still has data or days
        "1",  # I've submitted it: the first reminder is scheduled, and "where are you?" asked
        "/timezone Shanghai",
        "/status",
        "hello",
        "w",  # the first reminder
        "w",  # the second: the first loses its buttons
        "7.1",  # a button of the first reminder, which is gone as in Telegram (#6 is "where are you?")
        "1",  # "Got the confirmation" on the newest reminder
    )
    assert "⏰ Next reminder: in 1 week." in out, "no clock time in a zone the person has not given"
    assert "Nouméa time" not in out
    assert "Reminders now follow *Shanghai time*" in out
    assert "• next reminder: Mon, Jan 12, 08:00 (Shanghai time)" in out, "/status, in the new zone"
    assert "I only work with the buttons" in out
    assert "— Mon 12 Jan 2026 08:00 (Asia/Shanghai) —" in out
    assert "Any news from Airalo?" in out
    assert "(message #7 no longer has buttons)" in out
    assert "There is no button 1 on message #7." in out
    assert out.count("Any news from Airalo?") == 2
