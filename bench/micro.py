"""Micro-benchmarks behind the suggestions in RESULTS.md: what one button press costs in each layer.

    python -m bench.micro

Everything runs in-process on a real screen of the default flow ("prepare", with its checklist keyboard),
with no network: the Bot API answer is canned, so only client-side CPU is measured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.request import BaseRequest, RequestData

from bench.stacks import PROJECT
from bot.engine.engine import FlowEngine
from bot.flows import load_flows
from bot.runtime.service import message
from bot.runtime.texts import UI_TEXTS
from bot.telegram.app import TELEGRAM_LIMITS
from bot.telegram.delivery import NO_PREVIEW, markup
from bot.testing import DEFAULT_TOKEN, FakeBotApi, parse_formatted_text

__all__ = ["main"]

ROUNDS = 2000


class CannedRequest(BaseRequest):
    """Answers every call with one canned body; keeps the last request's data."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.last: RequestData | None = None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Returns the canned answer."""
        self.last = request_data
        return 200, self.body


def _time(label: str, work: Callable[[], object], rounds: int = ROUNDS) -> float:
    work()
    started = time.perf_counter()
    for _ in range(rounds):
        work()
    micros = (time.perf_counter() - started) / rounds * 1e6
    print(f"{micros:8.1f} us  {label}")
    return micros


async def _atime(label: str, work: Callable[[], Awaitable[object]], rounds: int = ROUNDS) -> float:
    await work()
    started = time.perf_counter()
    for _ in range(rounds):
        await work()
    micros = (time.perf_counter() - started) / rounds * 1e6
    print(f"{micros:8.1f} us  {label}")
    return micros


def _screen() -> dict[str, Any]:
    """Returns the outbox payload of the "prepare" screen, as the chat service builds it."""
    bundles = load_flows(PROJECT / "flows", PROJECT / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    engine = FlowEngine(bundles["cancel_esim"])
    conversation = engine.start("en").conversation
    for wanted in ("go", "travel", "airalo"):
        screen = engine.render(conversation)
        data = next(b.data for row in screen.rows for b in row if b.data and b.data.endswith("|" + wanted))
        conversation = engine.press(conversation, data).conversation
    return message(42, engine.render(conversation), edit=7)


async def run() -> None:
    """Prints the cost of each step of one press, then of the alternatives."""
    payload = _screen()
    text, entities = parse_formatted_text(str(payload["text"]), "HTML")
    keyboard = markup(payload["rows"])
    assert keyboard is not None
    api = FakeBotApi()
    user = {"id": 42, "is_bot": False, "first_name": "Test", "language_code": "en"}
    chat = {"id": 42, "type": "private", "first_name": "Test"}
    edited = {
        "message_id": 7,
        "from": api.bot_user,
        "chat": chat,
        "date": 1_790_000_000,
        "edit_date": 1_790_000_001,
        "text": text,
        "entities": entities,
        "reply_markup": keyboard.to_dict(),
    }
    update = {
        "update_id": 100_000_001,
        "callback_query": {
            "id": "4000000000000000001",
            "from": user,
            "chat_instance": "-4200",
            "data": keyboard.inline_keyboard[0][0].callback_data,
            "message": edited,
        },
    }
    raw_update = json.dumps(update).encode()
    request = CannedRequest(json.dumps({"ok": True, "result": edited}).encode())
    bot = Bot(DEFAULT_TOKEN, request=request, get_updates_request=CannedRequest(b'{"ok":true,"result":[]}'))
    print(f"screen: {len(str(payload['text']))} characters of HTML, {len(payload['rows'])} rows of buttons\n")

    print("Incoming update:")
    _time("json.loads of the update", lambda: json.loads(raw_update))
    decoded = json.loads(raw_update)
    _time("Update.de_json (PTB)", lambda: Update.de_json(decoded, bot))

    print("\nOutgoing edit (PTB Bot.edit_message_text, canned answer, no network):")
    _time("markup(rows): InlineKeyboardButton objects", lambda: markup(payload["rows"]))

    async def edit() -> object:
        return await bot.edit_message_text(
            text=str(payload["text"]),
            chat_id=42,
            message_id=7,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(payload["rows"]),
            link_preview_options=NO_PREVIEW,
        )

    await _atime("Bot.edit_message_text, whole call (builds, encodes, parses the Message)", edit)
    _time("  of which Message.de_json of the answer", lambda: Message.de_json(edited, bot))
    await edit()
    assert request.last is not None
    data = request.last
    _time("  RequestData.url_encoded_parameters (form body, urllib)", data.url_encoded_parameters)
    _time("  json.dumps(RequestData.parameters) (JSON body instead)", lambda: json.dumps(data.parameters))

    raw_markup = {
        "inline_keyboard": [
            [{"text": label, "callback_data": value} if kind == "d" else {"text": label, "url": value}]
            for row in payload["rows"]
            for label, kind, value in row
        ]
    }

    async def raw_edit() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return await bot.do_api_request(
                "editMessageText",
                api_kwargs={
                    "chat_id": 42,
                    "message_id": 7,
                    "text": payload["text"],
                    "parse_mode": "HTML",
                    "reply_markup": raw_markup,
                    "link_preview_options": {"is_disabled": True},
                },
            )

    await _atime("Bot.do_api_request('editMessageText', plain dicts, result not parsed)", raw_edit)

    print("\nLogging (the transitions library logs each step at INFO; the bot configures INFO):")
    stream = Path("/dev/null").open("w")  # noqa: SIM115, ASYNC230
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bench.micro.transitions")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _time("one INFO line formatted and written", lambda: logger.info("Finished processing state %s", "x"))
    logger.setLevel(logging.WARNING)
    _time(
        "the same call with the logger at WARNING", lambda: logger.info("Finished processing state %s", "x")
    )
    stream.close()


def main() -> int:
    """Runs the micro-benchmarks."""
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
