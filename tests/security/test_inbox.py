"""While an update is in hand, the inbox keeps only what its handler needs; one it cannot keep stalls nobody.

Through the real polling edge: the whole bot polls the fake Bot API, and these tests read the database.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from testkit import FakeBotApi
from tests.security.edge import Running, running

pytestmark = pytest.mark.e2e

PERSON = {
    "id": 71,
    "is_bot": False,
    "first_name": "First-Marker",
    "last_name": "Lastname-Marker",
    "username": "username_marker",
    "language_code": "fr",
}
CHAT = {key: PERSON[key] for key in ("id", "first_name", "last_name", "username")} | {"type": "private"}
TEXT_MESSAGES: dict[str, dict[str, Any]] = {
    "venue": {
        "venue": {
            "location": {"latitude": -22.2711, "longitude": 166.4416},
            "title": "Venue-Marker",
            "address": "Address-Marker",
        },
        "location": {"latitude": -22.2711, "longitude": 166.4416},
    },
    "reply with a quote": {
        "text": "yes",
        "reply_to_message": {"message_id": 1, "date": 1, "chat": CHAT, "text": "Replied-Marker"},
        "quote": {"text": "Quote-Marker", "position": 0},
    },
    "link preview": {
        "text": "see https://preview-marker.example",
        "entities": [{"type": "url", "offset": 4, "length": 30}],
        "link_preview_options": {"url": "https://preview-marker.example"},
    },
    "forwarded": {
        "text": "Forwarded-Marker",
        "forward_origin": {"type": "hidden_user", "date": 1, "sender_user_name": "Forwarder-Marker"},
    },
    "timezone with a street address": {
        "text": "/timezone 12 rue Street-Marker",
        "entities": [{"type": "bot_command", "offset": 0, "length": 9}],
    },
    "timezone with a city": {
        "text": "/timezone Paris",
        "entities": [{"type": "bot_command", "offset": 0, "length": 9}],
    },
}


def message(message_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {"message_id": message_id, "date": int(time.time()), "chat": CHAT, "from": PERSON, **fields}


async def held_in_the_inbox(bot: Running, count: int) -> list[dict[str, Any]]:
    """Waits until the inbox holds ``count`` updates and returns them."""
    for _ in range(200):
        kept = await bot.kept()
        if len(kept) >= count:
            return kept
        await asyncio.sleep(0.05)
    raise AssertionError(f"the inbox holds {len(await bot.kept())} updates, not {count}")


async def test_the_inbox_keeps_only_what_handlers_need_of_each_kind_of_update(tmp_path: Path) -> None:
    async with FakeBotApi() as api, running(api, tmp_path) as bot:
        user = api.user(71, language_code="fr")
        # The chat's first update is held up at Telegram's door, so every later one waits in the inbox.
        api.delay_next("sendMessage", 3.0)
        await user.send("/start")
        for offset, fields in enumerate(TEXT_MESSAGES.values()):
            api.queue_update("message", message(1000 + offset, fields), chat_id=71)
        press = {
            "id": "77",
            "from": PERSON,
            "chat_instance": "-7100",
            "data": "v|1|start|go",
            "message": message(
                999, {"text": "Screen-Marker", "from": {"id": 1, "is_bot": True, "first_name": "Bot"}}
            ),
        }
        api.queue_update("callback_query", press, chat_id=71)

        kept = await held_in_the_inbox(bot, 2 + len(TEXT_MESSAGES))

    stored = json.dumps(kept, ensure_ascii=False)
    for private in ("Marker", "marker", "-22.27", "166.44", "https://"):
        assert private not in stored, f"{private!r} kept in the inbox: {stored}"
    messages = [update["message"] for update in kept if "message" in update]
    texts = [entry.get("text") for entry in messages]
    assert texts == ["/start", None, None, None, None, "/timezone", "/timezone Europe/Paris"]
    assert {entry["from"]["language_code"] for entry in messages} == {"fr"}
    assert {entry["chat"]["type"] for entry in messages} == {"private"}
    (kept_press,) = [update["callback_query"] for update in kept if "callback_query" in update]
    assert kept_press["data"] == "v|1|start|go"
    assert kept_press["message"]["message_id"] == 999


async def test_an_update_the_store_cannot_keep_is_set_aside_and_everyone_else_is_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotApi() as api, running(api, tmp_path) as bot:
        api.user(72)
        poison = {
            "id": "78",
            "from": {"id": 72, "is_bot": False, "first_name": "A"},
            "chat_instance": "-7200",
            "data": "v|1|\ud800",
            "message": {"message_id": 5, "date": 0, "chat": {"id": 72, "type": "private"}},
        }
        poison_id = api.queue_update("callback_query", poison, chat_id=72)
        someone = api.user(73, language_code="en")
        await someone.send("/start")

        screen = await someone.wait_for_reply(timeout=20)
        assert "Let's start" in screen.button_labels
        await asyncio.sleep(0.3)
        assert await bot.kept() == []

    set_aside = [record.getMessage() for record in caplog.records if "set aside" in record.getMessage()]
    assert len(set_aside) == 1
    assert set_aside[0].startswith(f"update {poison_id} set aside")
    assert all("\ud800" not in record.getMessage() for record in caplog.records)


async def test_a_button_pressed_in_a_group_changes_nothing_there(tmp_path: Path) -> None:
    async with FakeBotApi() as api, running(api, tmp_path):
        person = api.user(74, language_code="en")
        screen = await person.say("/start")
        member = api.group(-500, user_id=74, language_code="en")
        # The private chat's button, pressed in a group (forged: the bot never shows buttons there).
        await member.press(screen.button("Let's start"), on=screen)
        await api.wait_until(lambda: len(api.calls_to("answerCallbackQuery")) == 1, timeout=10)
        await asyncio.sleep(0.3)

        assert api.calls_to("sendMessage", -500) == []
        assert api.calls_to("editMessageText", -500) == []
        assert person.screen.message_id == screen.message_id  # and nothing moved in the private chat


async def test_updates_of_any_shape_are_set_aside_by_id_and_polling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shapes: list[tuple[str, Any]] = [
        ("message", "not an object"),
        ("message", {"message_id": 1, "date": 10**20, "chat": {"id": 75, "type": "private"}}),
        ("message", {"message_id": "one", "date": [], "chat": {"id": {"deep": ["x"]}, "type": 7}}),
        ("callback_query", {"id": 5}),
        ("callback_query", {"id": "9", "from": None, "chat_instance": "", "data": None, "message": 3}),
    ]
    async with FakeBotApi() as api, running(api, tmp_path) as bot:
        for kind, payload in shapes:
            api.queue_update(kind, payload)
        someone = api.user(76, language_code="en")
        await someone.send("/start")

        assert "Let's start" in (await someone.wait_for_reply(timeout=20)).button_labels
        await asyncio.sleep(0.3)
        assert await bot.kept() == []

    assert not any(
        record.exc_info for record in caplog.records if record.name.startswith("bot.telegram.inbox")
    )
