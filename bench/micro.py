"""Micro-benchmarks: what one button press costs in each layer of today's code path, client side.

    python -m bench.micro [--rounds N]

Everything runs in-process on a real screen of the default flow ("home_end", with its checklist keyboard),
with no network: the Bot API answer is canned, so only client-side CPU is measured. The steps follow a press
through the bot: the update parsed by python-telegram-bot, the callback data decoded, the engine's step and
the next screen rendered, the message stored in the outbox and read back, and ``ScreenBot.show`` building
the request body. The typed python-telegram-bot call that ``ScreenBot`` replaced is timed for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.request import BaseRequest, RequestData

from bench.stacks import FULL_BOT_PATH, PROJECT
from bot.callbacks import FlowPress, decode, encode
from bot.engine.conversation import Conversation
from bot.engine.engine import FlowEngine
from bot.flows import load_flows
from bot.runtime.messages import OutgoingMessage, from_outbox, to_payload, wired
from bot.runtime.texts import UI_TEXTS
from bot.store import OutboxMessage
from bot.telegram.app import TELEGRAM_LIMITS
from bot.telegram.screenbot import ScreenBot, keyboard
from testkit import DEFAULT_TOKEN, FakeBotApi, parse_formatted_text

__all__ = ["main", "run"]

ROUNDS = 1000
REPEATS = 5
# The press measured: the checklist toggle on "home_end", which edits the same screen in place.
PRESSED = "t_backup"
CHAT_ID = 42
SCREEN_ID = 7


class CannedRequest(BaseRequest):
    """Answers each call with the canned body of its endpoint; keeps the last request's data."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
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
        """Returns the canned answer of the endpoint ``url`` names."""
        self.last = request_data
        return 200, self.bodies[url.rsplit("/", 1)[-1]]


class Timer:
    """Times steps, prints one line each, and keeps the results by label.

    Each step is timed ``REPEATS`` times and the fastest kept, as ``timeit`` advises: on a shared machine
    the slower repeats measure the neighbours, not the code.
    """

    def __init__(self, rounds: int, out: Callable[[str], None] = print) -> None:
        self.rounds = rounds
        self.out = out
        self.results: dict[str, float] = {}

    def _keep(self, label: str, seconds: float) -> float:
        micros = seconds / self.rounds * 1e6
        self.results[label] = micros
        self.out(f"{micros:8.1f} us  {label}")
        return micros

    def time(self, label: str, work: Callable[[], object]) -> float:
        """Times ``work()`` (after one warm-up call); returns microseconds per call."""
        work()
        fastest = math.inf
        for _ in range(REPEATS):
            started = time.perf_counter()
            for _ in range(self.rounds):
                work()
            fastest = min(fastest, time.perf_counter() - started)
        return self._keep(label, fastest)

    async def atime(self, label: str, work: Callable[[], Awaitable[object]]) -> float:
        """Times ``await work()`` (after one warm-up call); returns microseconds per call."""
        await work()
        fastest = math.inf
        for _ in range(REPEATS):
            started = time.perf_counter()
            for _ in range(self.rounds):
                await work()
            fastest = min(fastest, time.perf_counter() - started)
        return self._keep(label, fastest)


def _data(engine: FlowEngine, conversation: Conversation, wanted: str) -> str:
    """Returns the callback data of the button ``wanted`` on the conversation's screen."""
    screen = engine.renderer.render(conversation)
    for row in screen.rows:
        for button in row:
            if isinstance(button.press, FlowPress) and button.press.button == wanted:
                return encode(button.press)
    raise LookupError(f"state {conversation.state!r} has no button {wanted!r}")


def _before_press() -> tuple[FlowEngine, Conversation, str]:
    """Returns the engine, a conversation walked to the measured press, and that press's callback data."""
    bundles = load_flows(PROJECT / "flows", PROJECT / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    engine = FlowEngine(bundles["cancel_esim"])
    conversation = engine.start("en").conversation
    for wanted in FULL_BOT_PATH[: FULL_BOT_PATH.index(PRESSED)]:
        pressed = decode(_data(engine, conversation, wanted))
        assert isinstance(pressed, FlowPress)
        conversation = engine.press(conversation, pressed).conversation
    return engine, conversation, _data(engine, conversation, PRESSED)


async def run(rounds: int = ROUNDS, out: Callable[[str], None] = print) -> dict[str, float]:
    """Prints the cost of each step of one press, then of the typed call ScreenBot replaced; returns them."""
    timer = Timer(rounds, out)
    engine, conversation, data = _before_press()

    press = decode(data)
    assert isinstance(press, FlowPress)

    def step() -> OutgoingMessage:
        pressed = engine.press(conversation, press)
        screen = wired(engine.renderer.render(pressed.conversation))
        return OutgoingMessage.of(CHAT_ID, screen, edit=SCREEN_ID, shows_screen=True)

    message = step()
    api = FakeBotApi()
    text, entities = parse_formatted_text(message.text, "HTML")
    markup = keyboard(message.rows)
    if markup is None:
        raise LookupError(f"the screen after {PRESSED!r} has no buttons")
    edited = {
        "message_id": SCREEN_ID,
        "from": api.bot_user,
        "chat": {"id": CHAT_ID, "type": "private", "first_name": "Test"},
        "date": 1_790_000_000,
        "edit_date": 1_790_000_001,
        "text": text,
        "entities": entities,
        "reply_markup": markup,
    }
    update = {
        "update_id": 100_000_001,
        "callback_query": {
            "id": "4000000000000000001",
            "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Test", "language_code": "en"},
            "chat_instance": "-4200",
            "data": data,
            "message": edited,
        },
    }
    raw_update = json.dumps(update).encode()
    answer = json.dumps({"ok": True, "result": edited}).encode()
    bodies = {
        "getMe": json.dumps({"ok": True, "result": api.bot_user}).encode(),
        "editMessageText": answer,
        "sendMessage": answer,
    }
    request = CannedRequest(bodies)
    bot = ScreenBot(DEFAULT_TOKEN, request=request, get_updates_request=CannedRequest(bodies))
    await bot.initialize()
    out(
        f"press {PRESSED!r} on {conversation.state!r}: {len(message.text)} characters of HTML, {len(message.rows)} rows\n"
    )

    out("Incoming update:")
    timer.time("json.loads of the update", lambda: json.loads(raw_update))
    decoded = json.loads(raw_update)
    timer.time("Update.de_json (python-telegram-bot)", lambda: Update.de_json(decoded, bot))
    timer.time("bot.callbacks.decode of the callback data", lambda: decode(data))

    out("\nApplication core (no store):")
    timer.time("engine step: press + next screen rendered + OutgoingMessage", step)
    timer.time(
        "outbox form: to_payload + from_outbox",
        lambda: from_outbox(OutboxMessage(1, CHAT_ID, to_payload(message))),
    )

    out("\nOutgoing edit (ScreenBot, canned answer, no network):")
    timer.time("screenbot.keyboard(rows): plain dicts", lambda: keyboard(message.rows))
    await timer.atime(
        "ScreenBot.show(edit), whole call (do_api_request, answer left as a dict)", lambda: bot.show(message)
    )
    assert request.last is not None
    sent = request.last
    timer.time(
        "json.dumps of the request parameters (AiohttpRequest's JSON body; not in the line above)",
        lambda: json.dumps(sent.parameters, ensure_ascii=False),
    )

    out("\nFor comparison, the typed call ScreenBot replaced:")

    async def typed_edit() -> object:
        return await bot.edit_message_text(
            text=message.text,
            chat_id=CHAT_ID,
            message_id=SCREEN_ID,
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup.de_json(markup, bot),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    await timer.atime(
        "Bot.edit_message_text with InlineKeyboardMarkup, answer parsed into a Message", typed_edit
    )
    await bot.shutdown()
    return timer.results


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the micro-benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"calls per step (default {ROUNDS})")
    asyncio.run(run(parser.parse_args(argv).rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
