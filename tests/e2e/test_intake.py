"""Every update taken from Telegram is handled, once: after a failing handler, a kill, a redelivery."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.store import SqliteStore
from testkit import FakeBotApi, FakeUser
from tests.e2e.process import bot_process, clean_environment, eventually, free_port, webhook_arguments

pytestmark = pytest.mark.e2e
SECRET = "X-Telegram-Bot-Api-Secret-Token"


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_press_whose_handler_fails_is_handled_again_and_applied_once(
    mode: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
        )
        arguments = webhook_arguments(free_port()) if mode == "webhook" else ()
        async with bot_process(env, *arguments) as bot:
            await bot.start()
            user = api.user(901, language_code="en")
            await user.send("/start")
            await user.wait_for_reply(timeout=20)
            for label in ("Let's start", "carrier back home", "Another country", "End the line"):
                await user.click(label)
                await user.wait_for_reply(timeout=20)

            # Telegram fails the answer to the next press: the handler raises after committing the tick.
            api.fail_next("answerCallbackQuery", 500)
            query = await user.click("Phone backed up")
            await api.wait_until(lambda: len(api.calls_to("answerCallbackQuery")) == 6, timeout=20)
            answers = [
                call
                for call in api.calls_to("answerCallbackQuery")
                if call.params["callback_query_id"] == query
            ]
            assert [call.status for call in answers] == [500, 200]
            # Handled twice, applied once: a second toggle would have unticked the item.
            assert "✅ Phone backed up" in user.screen.button_labels
            assert len(api.calls_to("editMessageText", user.chat_id)) == 5  # 4 screens, then the tick
            await eventually(lambda: api.pending_updates == 0)  # confirmed to Telegram, not lost
            assert await bot.stop(signal.SIGTERM) == 0
    if mode == "polling":
        assert "failed (attempt 1 of 4); trying again in 1 s" in bot.printed


async def test_the_webhook_turns_away_calls_without_the_secret_and_bodies_that_are_not_updates(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
            BOT_WEBHOOK_SECRET="s3cret",
        )
        port = free_port()
        async with bot_process(env, *webhook_arguments(port)) as bot:
            await bot.start()
            await bot.wait_for_output("receiving updates at")
            url = f"http://127.0.0.1:{port}/telegram"
            update = {
                "update_id": 5,
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
            }
            async with ClientSession() as session:
                statuses: list[int] = []
                for headers, body in (
                    ({}, update),
                    ({SECRET: "guess"}, update),
                    ({SECRET: "s3cret"}, ["not", "an", "update"]),
                ):
                    async with session.post(url, json=body, headers=headers) as response:
                        statuses.append(response.status)
            assert statuses == [403, 403, 400]
            assert await bot.stop(signal.SIGTERM) == 0
    assert "Traceback" not in bot.printed


async def test_an_update_handled_but_not_confirmed_before_a_crash_is_not_applied_again(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
        )
        async with bot_process(env) as bot:
            await bot.start()
            user = api.user(902, language_code="en")
            await user.send("/start")
            await user.wait_for_reply(timeout=20)

            # The polls that would confirm /help fail: the bot keeps, commits and answers it (and takes it out
            # of its inbox), then dies. (Once the bot waits in its long poll, the next getUpdates is the one
            # after /help.) Dropped rather than held up: a held-up call would still confirm /help at the fake
            # once its delay ran out, racing the restart.
            await eventually(lambda: api.pending_updates == 0 and api.in_flight == 1)
            await asyncio.sleep(0.1)
            for _ in range(2):
                api.fail_next("getUpdates", drop_connection=True)
            await user.send("/help")
            await api.wait_until(lambda: len(help_messages(user)) == 1, timeout=20)
            assert api.pending_updates == 1
            # A pause for the delivery to be recorded: the message in flight at a kill may come twice.
            await asyncio.sleep(0.5)
            assert api.pending_updates == 1
            await bot.stop(signal.SIGKILL)

            # Telegram delivers /help again; the bot recognises it and says nothing more.
            await bot.start()
            await eventually(lambda: api.pending_updates == 0, timeout=20)
            assert len(help_messages(user)) == 1
            await bot.wait_for_output("was already handled")
            assert await bot.stop(signal.SIGTERM) == 0


async def test_updates_kept_but_not_handled_before_a_crash_are_handled_after_the_restart_once(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
        )
        async with bot_process(env) as bot:
            await bot.start()
            user = api.user(903, language_code="en")
            await user.send("/start")
            await user.wait_for_reply(timeout=20)

            # The press is committed and its screen edited, but its answer hangs; the /help after it waits
            # for the press to finish (one chat, in order). Both are confirmed to Telegram, then the bot dies.
            api.delay_next("answerCallbackQuery", 3.0)
            await user.click("Let's start")
            await user.send("/help")
            await api.wait_until(lambda: api.pending_updates == 0, timeout=20)
            await api.wait_until(
                lambda: "carrier back home" in " ".join(user.screen.button_labels), timeout=20
            )
            assert help_messages(user) == []
            # A pause for the edit's delivery to be recorded: the message in flight at a kill may come twice.
            await asyncio.sleep(0.5)
            await bot.stop(signal.SIGKILL)
            assert api.pending_updates == 0  # Telegram has forgotten them: only the bot's inbox has them

            await bot.start()
            await api.wait_until(lambda: len(help_messages(user)) == 1, timeout=20)
            await bot.wait_for_output("handling 2 updates kept from before the restart")
            await bot.wait_for_output("was already handled")  # the press: committed before the kill
            await asyncio.sleep(3.0)  # until the answer held up at the kill has come too
            assert len(help_messages(user)) == 1
            # The press applied once: the start screen was edited into the next step once, not twice.
            assert [call.ok for call in api.calls_to("editMessageText", user.chat_id)] == [True]
            assert "carrier back home" in " ".join(user.screen.button_labels)
            assert await bot.stop(signal.SIGTERM) == 0
    async with SqliteStore(tmp_path / "b.sqlite3") as store:
        assert await store.inbox_pending(10) == []  # every update handled has left the inbox


async def test_what_people_type_never_reaches_the_database_even_on_its_way_through_the_inbox(
    tmp_path: Path,
) -> None:
    secret = "hunter2 my phone is 687123456"
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
        )
        async with bot_process(env) as bot:
            await bot.start()
            user = api.user(904, language_code="en")
            await user.send("/start")
            await user.wait_for_reply(timeout=20)
            await user.send(secret)
            reply = await user.wait_for_reply(timeout=20)
            assert "phone number" in reply.text  # answered: the bot never needs it
            # Kept but not handled: the words were never written, so after the restart it is answered
            # as a message whose words are gone, and nothing of it is in the inbox meanwhile.
            api.delay_next("sendMessage", 3.0)
            await user.send(secret)
            await api.wait_until(lambda: api.pending_updates == 0, timeout=20)
            await asyncio.sleep(0.3)
            assert not database_holds(tmp_path, b"hunter2")
            await bot.stop(signal.SIGKILL)
            await bot.start()
            await bot.wait_for_output("handling 1 updates kept from before the restart")
            await api.wait_until(lambda: len(api.calls_to("sendMessage", user.chat_id)) >= 4, timeout=20)
            assert await bot.stop(signal.SIGTERM) == 0
    assert not database_holds(tmp_path, b"hunter2")


def database_holds(folder: Path, needle: bytes) -> bool:
    """Tells whether the database, its write-ahead log or its shared memory holds ``needle`` anywhere."""
    files = list(folder.glob("b.sqlite3*"))
    assert files, "the bot made its database"
    return any(needle in path.read_bytes() for path in files)


def help_messages(user: FakeUser) -> list[str]:
    return [message.text for message in user.messages if "I help you stop paying for an eSIM" in message.text]
