"""Single hostile updates the fuzz found, each replayed alone against `esim-bot run` polling the fake Bot API:
the bot goes on answering everyone else."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from testkit import FakeBotApi
from tests.e2e.process import bot_process, clean_environment, eventually

pytestmark = pytest.mark.e2e

PERSON = 410


def a_message(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 7001, "type": "private"},
        "from": {"id": 7001, "is_bot": False, "first_name": "Mallory"},
        "text": "/start",
    }
    return {key: value for key, value in {**message, **fields}.items() if value is not ...}


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        pytest.param("message", a_message(chat=...), id="message_without_chat"),
        pytest.param("message", a_message(chat=None), id="message_with_null_chat"),
        pytest.param("message", a_message(chat="chat"), id="message_with_a_string_for_chat"),
        pytest.param("message", a_message(**{"from": None}), id="message_without_sender"),
        pytest.param(
            "message", a_message(chat={"id": 2**70, "type": "private"}), id="chat_id_beyond_64_bits"
        ),
        pytest.param("message", "update", id="payload_not_an_object"),
        pytest.param("callback_query", {"id": "1", "data": "x"}, id="callback_without_sender_or_message"),
    ],
)
async def test_one_hostile_update_does_not_stop_the_bot_answering(
    kind: str, payload: Any, tmp_path: Path
) -> None:
    async with FakeBotApi(accept_any_chat=True) as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
        )
        async with bot_process(env) as bot:
            await bot.start()
            await bot.wait_for_output("taking updates by long polling")
            api.queue_update(kind, payload)
            person = api.user(PERSON, language_code="en")
            await person.send("/start")
            await person.wait_for_reply(timeout=30)
            await eventually(lambda: api.pending_updates == 0, timeout=30)
            assert bot.process is not None
            assert bot.process.returncode is None, bot.printed
            assert await bot.stop(signal.SIGTERM) == 0
