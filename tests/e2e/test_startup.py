"""How `esim-bot run` starts, and how it refuses to: on a fresh clone, with a bad database, a bad token, no network."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit import DEFAULT_TOKEN, FakeBotApi
from tests.e2e.process import ROOT, bot_process, clean_environment, free_port, webhook_arguments

pytestmark = pytest.mark.e2e

FRESH_CLONE_TIMEOUT = 240.0


def readme_first_command() -> str:
    """Returns the README's first command, as written (without its comment)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1]
    return block.splitlines()[0].split("#", 1)[0].strip()


def fresh_clone(target: Path) -> Path:
    """Copies what a clone of this checkout holds (tracked files only: no data/, no .venv, no .env)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout: {exc}")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def only_what_a_shell_needs() -> dict[str, str]:
    """PATH, HOME and pip's own settings (an offline wheel folder, a proxy): nothing of the bot's."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME", "LANG", "TMPDIR")
        or name.startswith("PIP_")
        or name.lower() in ("http_proxy", "https_proxy", "no_proxy")
    }


async def test_the_readme_first_command_runs_the_bot_on_a_fresh_clone(tmp_path: Path) -> None:
    command = readme_first_command()
    assert command == "./scripts/install && .venv/bin/esim-bot run"
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / "data").exists()
    async with FakeBotApi() as api:
        env = {**only_what_a_shell_needs(), "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url}
        shell = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=clone, env=env, start_new_session=True,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            user = api.user(801, language_code="en")
            await api.wait_for_call("getUpdates", timeout=FRESH_CLONE_TIMEOUT)
            await user.send("/start")
            screen = await user.wait_for_reply(timeout=30)
            assert "Let's start" in screen.button_labels
        finally:
            os.killpg(shell.pid, signal.SIGTERM)
            output, _ = await asyncio.wait_for(shell.communicate(), timeout=60)
        printed = output.decode(errors="replace")
        assert shell.returncode == 0, printed
        assert "Traceback" not in printed
        assert api.token not in printed

    assert (clone / "data" / "esim-bot.sqlite3").is_file()
    stats = await asyncio.to_thread(
        subprocess.run,
        [".venv/bin/esim-bot", "stats"], cwd=clone, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert stats.returncode == 0, stats.stderr
    assert "Conversations started: 1" in stats.stdout


def run_and_refuse(env: dict[str, str], cwd: Path = ROOT) -> tuple[int, str, str]:
    """Runs `esim-bot run` expecting a refusal; returns its exit code, what it printed and its error output."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def unreachable_api() -> str:
    """A Bot API address where nothing listens: a refusal must come before any call to it."""
    return f"http://127.0.0.1:{free_port()}"


def a_folder(tmp_path: Path) -> Path:
    return tmp_path


def in_a_missing_folder(tmp_path: Path) -> Path:
    return tmp_path / "no-such-folder" / "bot.sqlite3"


def not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite3"
    path.write_text("These are my notes, not a database. " * 40, encoding="utf-8")
    return path


def unwritable(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        # Running as root, which writes anywhere a permission allows; sysfs refuses new files even to root.
        if not Path("/sys/kernel").is_dir():
            pytest.skip("root can write here and there is no /sys to refuse it")
        return Path("/sys/esim-bot.sqlite3")
    return folder / "bot.sqlite3"


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (a_folder, "it is a folder"),
        (in_a_missing_folder, "does not exist"),
        (not_sqlite, "not an SQLite database"),
        (unwritable, "permission denied"),
    ],
)
def test_a_database_it_cannot_use_gets_one_line_and_a_non_zero_exit(
    where: Callable[[Path], Path], reason: str, tmp_path: Path
) -> None:
    database = where(tmp_path)
    env = clean_environment(
        TELEGRAM_BOT_TOKEN="123:never-sent", TELEGRAM_API_URL=unreachable_api(), BOT_DATABASE=str(database)
    )
    code, printed, error = run_and_refuse(env)
    assert code == 2
    assert error.count("\n") == 1, error
    assert error.startswith(f"esim-bot: cannot open the database {database} (BOT_DATABASE): ")
    assert reason in error
    assert "Traceback" not in printed + error


async def test_a_token_telegram_rejects_is_one_line_and_never_printed(tmp_path: Path) -> None:
    token = "777:the-secret-half-of-a-revoked-token"
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=api.base_url, BOT_DATABASE=str(tmp_path / "b.sqlite3")
        )
        code, printed, error = await asyncio.to_thread(run_and_refuse, env)
    assert code == 2
    assert error.strip().splitlines() == [
        f"esim-bot: Telegram at {api.base_url} rejected the bot token (TELEGRAM_BOT_TOKEN): "
        "copy it again from @BotFather (/mybots, API Token)"
    ]
    assert "the-secret-half" not in printed + error
    assert "Traceback" not in printed + error
    assert "Unclosed" not in printed + error


async def test_it_waits_for_the_network_saying_so_once_a_try_then_serves(tmp_path: Path) -> None:
    port = free_port()
    env = clean_environment(
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
        BOT_DATABASE=str(tmp_path / "bot.sqlite3"),
    )
    async with bot_process(env) as bot:
        await bot.start()
        await bot.wait_for_output("trying again in 2 s (attempt 2)")
        tries = [line for line in bot.output if "Telegram is not reachable" in line]
        assert len(tries) >= 2
        assert all(
            f"connecting: Telegram is not reachable at http://127.0.0.1:{port} (" in line for line in tries
        )
        async with FakeBotApi(port=port) as api:
            user = api.user(802, language_code="en")
            await user.send("/start")
            screen = await user.wait_for_reply(timeout=20)
            assert "Let's start" in screen.button_labels
            assert await bot.stop(signal.SIGTERM) == 0
    assert "Traceback" not in bot.printed
    assert "Unclosed" not in bot.printed


async def test_stopped_while_waiting_for_the_network_it_exits_cleanly(tmp_path: Path) -> None:
    env = clean_environment(
        TELEGRAM_BOT_TOKEN="123:x",
        TELEGRAM_API_URL=unreachable_api(),
        BOT_DATABASE=str(tmp_path / "b.sqlite3"),
    )
    async with bot_process(env) as bot:
        await bot.start()
        await bot.wait_for_output("Telegram is not reachable")
        assert await bot.stop(signal.SIGTERM) == 0
    assert len(bot.output) <= 3, bot.printed
    assert "Traceback" not in bot.printed
    assert "Unclosed" not in bot.printed


async def test_a_webhook_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with FakeBotApi() as api:
            env = clean_environment(
                TELEGRAM_BOT_TOKEN=api.token,
                TELEGRAM_API_URL=api.base_url,
                BOT_DATABASE=str(tmp_path / "b.sqlite3"),
            )
            async with bot_process(env, *webhook_arguments(port)) as bot:
                await bot.start()
                assert bot.process is not None
                assert await asyncio.wait_for(bot.process.wait(), timeout=30) == 2
                await bot.wait_for_output(f"esim-bot: cannot listen for the webhook on 127.0.0.1:{port}: ")
    assert "Traceback" not in bot.printed
    assert api.calls_to("setWebhook") == []
