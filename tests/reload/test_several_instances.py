"""Two `esim-bot run` processes on one PostgreSQL database behind a round-robin proxy, reloaded while people walk.

(tests/reload/test_one_version.py holds open, in process, the window in which one instance has followed a
new release and the other not yet: here both look at the store every two seconds, at moments of their own.)

The instances read their flow from folders of their own, as two hosts or two images would: the operator edits
one and runs ``esim-bot reload``; the other never sees the edit on disk, yet serves it within seconds, since the
version served is the store's. Each screen's buttons carry the flow version they were drawn with, so the calls
the bot made show which version every chat was on, and when.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot import callbacks
from testkit import FakeBotApi, FakeUser
from testkit.postgres import PostgresServer
from tests.e2e.process import BotProcess, bot_process, clean_environment, free_port
from tests.e2e.test_failover import round_robin_proxy
from tests.reload.conftest import Operator
from tests.reload.test_reload_e2e import esim_bot

pytestmark = pytest.mark.e2e

WALKERS = 6
IDLE = 3
READY = "receiving updates at"
FOLLOWED = "reload (release 2 published): version"
STEP_TIMEOUT = 20.0


def slower_reminders_and_new_words(operator: Operator) -> None:
    """A new flow version in which no button changes meaning (the reminder comes every two days), reworded."""
    operator.edit_flow(lambda flow: flow["reminders"]["email"].update(every="2d"))
    operator.edit_texts(
        "en", lambda texts: texts["waiting"].update(text="Waiting for the email, second draft.")
    )


def screen_versions(api: FakeBotApi, chat_id: int) -> list[tuple[float, str]]:
    """Returns, oldest first, when the bot drew a screen in the chat and the flow version its buttons carry."""
    drawn: list[tuple[float, str]] = []
    for call in api.calls:
        if call.chat_id != chat_id or not call.ok or call.method not in ("sendMessage", "editMessageText"):
            continue
        markup = call.params.get("reply_markup")
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        for button in (button for row in rows for button in row):
            pressed = callbacks.decode(str(button.get("callback_data", "")))
            if isinstance(pressed, callbacks.FlowPress):
                drawn.append((call.time, pressed.version))
                break
    return drawn


async def walk(user: FakeUser, stop: asyncio.Event) -> int:
    """Walks the small flow to its end and starts over, until ``stop`` is set; returns how many rounds."""
    rounds = 0
    while not stop.is_set():
        screen = await user.say("/start", timeout=STEP_TIMEOUT)
        for label in ("Airalo", "I've sent it", "I got it", "Yes"):
            screen = await user.tap(label, on=screen, timeout=STEP_TIMEOUT)
        assert screen.text.startswith("Thanks!"), screen.text
        rounds += 1
    return rounds


async def all_ready(bots: list[BotProcess]) -> None:
    """Waits until every instance takes webhook calls."""
    await asyncio.gather(*(bot.wait_for_output(READY, timeout=30) for bot in bots))


async def test_a_reload_while_people_walk_reaches_both_instances_and_no_chat_goes_back(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    operator, other_host = Operator(tmp_path / "host-1"), Operator(tmp_path / "host-2")
    proxy_port, ports = free_port(), [free_port(), free_port()]
    database = postgres_server.new_database()
    async with FakeBotApi() as api, AsyncExitStack() as stack:

        def environment(files: Operator) -> dict[str, str]:
            return clean_environment(
                TELEGRAM_BOT_TOKEN=api.token,
                TELEGRAM_API_URL=api.base_url,
                BOT_DATABASE=database,
                BOT_FLOWS_DIR=str(files.flows),
                BOT_LOCALES_DIR=str(files.locales),
                BOT_WATCH_FILES="0",
                BOT_WEBHOOK_SECRET="s3cret",
            )

        await stack.enter_async_context(round_robin_proxy(proxy_port, ports))
        url = f"http://127.0.0.1:{proxy_port}/telegram"
        homes = [tmp_path / "run-1", tmp_path / "run-2"]
        bots = []
        for home, files, port in zip(homes, (operator, other_host), ports, strict=True):
            home.mkdir()
            # Every instance registers the proxy as the webhook: each call goes to the next instance.
            arguments = (
                "--webhook-url",
                url,
                "--listen",
                "127.0.0.1",
                "--port",
                str(port),
            )
            bots.append(
                await stack.enter_async_context(bot_process(environment(files), *arguments, cwd=home))
            )
        await asyncio.gather(*(bot.start() for bot in bots))
        await all_ready(bots)

        idle = [api.user(500 + index, language_code="en") for index in range(IDLE)]
        for user in idle:  # they stop at the waiting screen, its buttons drawn with the first version
            screen = await user.tap("Airalo", on=await user.say("/start", timeout=STEP_TIMEOUT))
            await user.tap("I've sent it", on=screen, timeout=STEP_TIMEOUT)
        (first,) = {version for user in idle for _, version in screen_versions(api, user.chat_id)}

        walkers = [api.user(600 + index, language_code="en") for index in range(WALKERS)]
        stop = asyncio.Event()
        walking = [asyncio.create_task(walk(user, stop)) for user in walkers]
        await asyncio.sleep(1.5)
        slower_reminders_and_new_words(operator)
        code, said = await esim_bot(environment(operator), "reload")
        assert code == 0, said
        assert "published release 2" in said
        await asyncio.gather(*(bot.wait_for_output(FOLLOWED, timeout=10) for bot in bots))
        followed = time.monotonic()
        await asyncio.sleep(2.0)  # people go on walking on the new version
        stop.set()
        rounds = await asyncio.gather(*walking)
        assert all(count >= 2 for count in rounds), rounds

        # Both serve the new version: every screen drawn since both followed carries it, from either instance
        # (but for an update each chat may have had in flight then, begun on the version it started on).
        for user in walkers:
            drawn = screen_versions(api, user.chat_id)
            versions = [version for _, version in drawn]
            print("VERSIONS", user.chat_id, versions)
            second = versions[-1]
            assert second != first
            assert all(version == second for moment, version in drawn if moment > followed + 1.0), versions
            # And no chat went back: once a screen of the new version was drawn, none of the old one follows.
            assert first not in versions[versions.index(second) :], versions

        # Every instance restarts with an empty data/; the one of the other host still has the first files.
        for bot in bots:
            assert await bot.stop(signal.SIGTERM) == 0, bot.printed
        for home in homes:
            shutil.rmtree(home / "data", ignore_errors=True)
        await asyncio.gather(*(bot.start() for bot in bots))
        await all_ready(bots)
        assert "serving the store's current release 2" in bots[1].printed

        # The buttons drawn with the first version still do what they said: their meanings are in the store.
        for user in idle:
            done = await user.tap("I got it", timeout=STEP_TIMEOUT)
            assert done.text.startswith("Done. Helpful?"), done.text
        assert not any("updated" in toast for user in idle for toast in user.toasts)
        newcomers = [api.user(700 + index, language_code="en") for index in range(2)]
        for user in newcomers:  # one on each instance, round robin
            await user.tap("I've sent it", on=await user.tap("Airalo", on=await user.say("/start")))
            assert user.screen.text.startswith("Waiting for the email, second draft.")
            assert {version for _, version in screen_versions(api, user.chat_id)} == {second}
        for bot in bots:
            assert await bot.stop(signal.SIGTERM) == 0, bot.printed
