"""`esim-bot run` as a child process: reloaded by SIGHUP, by `esim-bot reload`, and by watching its files."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testkit import FakeBotApi
from tests.e2e.process import ROOT, BotProcess, bot_process, clean_environment
from tests.reload.conftest import Operator, break_flow

pytestmark = pytest.mark.e2e


def environment(api: FakeBotApi, operator: Operator, tmp_path: Path, *, watch: bool) -> dict[str, str]:
    """The bot's settings: the fake API, the operator's folders, a database of its own."""
    return clean_environment(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=str(tmp_path / "bot.sqlite3"),
        BOT_FLOWS_DIR=str(operator.flows),
        BOT_LOCALES_DIR=str(operator.locales),
        BOT_WATCH_FILES="1" if watch else "0",
    )


DRAFTS = ("zero", "one", "two", "three", "four")


def draft(number: int) -> Callable[[dict[str, Any]], None]:
    """Returns an edit of the English texts: the first screen's greeting, draft ``number``.

    The number is written as a word: a digit in one language only is drift the validator refuses.
    """

    def edit(texts: dict[str, Any]) -> None:
        texts["welcome"]["text"] = f"Draft {DRAFTS[number]}. Which eSIM?"

    return edit


async def esim_bot(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Runs an esim-bot command to its end; returns its exit code and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode if process.returncode is not None else -1, output.decode()


async def first_screen_of(api: FakeBotApi, chat_id: int) -> str:
    """Returns the first screen a new person sees."""
    return (await api.user(chat_id).say("/start", timeout=10)).text


async def started(bot: BotProcess) -> None:
    """Starts the bot and waits until it takes updates."""
    await bot.start()
    await bot.wait_for_output("taking updates by long polling")


async def test_esim_bot_reload_and_sighup_swap_the_texts_and_refuse_a_broken_flow(
    api: FakeBotApi, operator: Operator, tmp_path: Path
) -> None:
    env = environment(api, operator, tmp_path, watch=False)
    first = {
        path: path.read_text(encoding="utf-8") for path in (operator.flow_file, operator.locales / "en.yaml")
    }
    async with bot_process(env) as bot:
        await started(bot)
        assert (await first_screen_of(api, 1)).startswith("Hello. Which eSIM?")

        operator.edit_texts("en", lambda texts: texts["welcome"].update(text="Hi again. Which eSIM?"))
        code, said = await esim_bot(env, "reload")
        assert code == 0, said
        assert "published release 2" in said
        # Published through the store, which the bot reads every few seconds: no signal, no pid file.
        await bot.wait_for_output("reload (release 2 published): version", timeout=10)
        assert (await first_screen_of(api, 2)).startswith("Hi again.")

        operator.edit_flow(break_flow)
        code, said = await esim_bot(env, "reload")
        assert code == 1
        assert "unknown target 'dnoe'" in said
        assert "Not reloaded" in said
        # A SIGHUP sent anyway (a service manager's reload) is refused by the bot itself.
        assert bot.process is not None
        bot.process.send_signal(signal.SIGHUP)
        await bot.wait_for_output("reload (SIGHUP) refused")
        assert "mini.yaml:" in bot.printed
        assert (await first_screen_of(api, 3)).startswith("Hi again."), "the running version keeps serving"
        assert await bot.stop(signal.SIGTERM) == 0
    code, said = await esim_bot(env, "reload")
    assert code == 1  # the flow is still broken: nothing is published
    operator.edit_flow(lambda flow: flow["states"]["waiting"]["buttons"][0][0].update(to="done"))
    code, said = await esim_bot(env, "reload")
    assert code == 0, said
    assert "published release 3" in said, "published while no bot runs: the next start serves it"
    code, said = await esim_bot(env, "reload")
    assert "release 3" in said
    assert "already served" in said

    # The first files again (an older image restarted): they never take the store back to release 1.
    for path, text in first.items():
        path.write_text(text, encoding="utf-8")
    async with bot_process(env) as bot:
        await started(bot)
        assert "serving the store's current release 3" in bot.printed
        assert (await first_screen_of(api, 4)).startswith("Hi again.")
        assert await bot.stop(signal.SIGTERM) == 0


async def test_a_burst_of_saves_is_one_reload_once_the_files_are_still(
    api: FakeBotApi, operator: Operator, tmp_path: Path
) -> None:
    env = environment(api, operator, tmp_path, watch=True)
    async with bot_process(env) as bot:
        await started(bot)
        # An editor saving several times, a git pull touching several files: 0.2 s apart, under the 1 s settle.
        for count in range(5):
            operator.edit_texts("en", draft(count))
            await asyncio.sleep(0.2)
        await bot.wait_for_output("reload (files changed)")
        await asyncio.sleep(2)  # time for a second reload, if the burst were not one
        assert bot.printed.count("reload (files changed): version") == 1
        assert (await first_screen_of(api, 1)).startswith("Draft four.")
        assert await bot.stop(signal.SIGTERM) == 0
