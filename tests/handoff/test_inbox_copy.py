"""While an update is in hand, the inbox keeps a message's text only when it is to be relayed: a person's
message to their open question (never one that looks like a code), an operator's in the support chat."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from telegram import Update

from bot.clock import FakeClock
from bot.telegram.app import build_bot, load_default_flow
from bot.telegram.kept import InboxCopy
from testkit import FakeBotApi
from testkit.application import polling
from tests.handoff.test_support_chat import LANGUAGES, OPERATOR, SUPPORT_CHAT, bot_settings, to_opt_abroad

FRENCH = LANGUAGES[1]


def message(update_id: int, chat: dict[str, Any], sender: int, **fields: Any) -> dict[str, Any]:
    person = {"id": sender, "is_bot": False, "first_name": "First-Marker", "username": "username_marker"}
    sent = {"message_id": 40 + update_id, "date": int(time.time()), "chat": chat, "from": person, **fields}
    return {"update_id": update_id, "message": sent}


def private(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "First-Marker"}


async def test_only_what_is_relayed_keeps_its_text(api: FakeBotApi, tmp_path: Path, clock: FakeClock) -> None:
    api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    settings = bot_settings(api, tmp_path, operators_speak="en")
    built = build_bot(settings, load_default_flow(settings), clock)
    support = {"id": SUPPORT_CHAT, "type": "supergroup", "title": "Support"}
    replied = {"message_id": 7, "date": 1, "chat": support, "text": "Replied-Marker"}
    payloads = [
        message(1, private(501), 501, text="Et avec Orange ?"),
        message(2, private(501), 501, text="mon code est 842917"),
        message(3, private(502), 502, text="Et avec Orange ?"),
        message(4, support, OPERATOR, text="Passez par le formulaire", reply_to_message=replied),
        message(5, private(503), 503, text="Comment on fait ?"),
    ]
    async with polling(built.application):
        asking = api.user(501, language_code="fr")
        await asking.tap(FRENCH.ask, on=await to_opt_abroad(asking))
        await to_opt_abroad(api.user(502, language_code="fr"))  # on the same screen, with no question open
        copy = InboxCopy(built.application, built.runtime.service, SUPPORT_CHAT)
        updates = [Update.de_json(payload, built.application.bot) for payload in payloads]
        # 503 taps "Ask a person" in the same batch as their question: that text is kept too.
        press = {
            "id": "9",
            "from": private(503) | {"is_bot": False},
            "chat_instance": "1",
            "data": "ask|person",
        }
        pressed = Update.de_json({"update_id": 6, "callback_query": press}, built.application.bot)
        relayed = await copy.relayed_chats([*updates, pressed])
        kept = [copy.of(payload, update, relayed) for payload, update in zip(payloads, updates, strict=True)]

    texts = [entry["message"].get("text") if entry else None for entry in kept]
    assert texts == ["Et avec Orange ?", None, None, "Passez par le formulaire", "Comment on fait ?"]
    reply = kept[3]
    assert reply is not None
    assert reply["message"]["reply_to_message"]["message_id"] == 7, "the post the operator answers"
    stored = json.dumps(kept, ensure_ascii=False)
    for private_data in ("Marker", "marker", "842917"):
        assert private_data not in stored, f"{private_data!r} kept in the inbox: {stored}"
