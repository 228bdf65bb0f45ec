"""``esim-bot run`` with experimental changes applied from outside, to measure a suggestion before making it.

    BENCH_TWEAKS=sqlite_in_loop,quiet_transitions python -m bench.variant_bot

Nothing here is meant for production: each tweak patches the bot in this process only, to show what the
corresponding change in ``bot/`` would be worth. Tweaks (comma-separated in ``BENCH_TWEAKS``):

- ``quiet_transitions``: the ``transitions`` logger at WARNING (it logs three INFO lines per button press).
- ``raw_edit``: edits go through ``Bot.do_api_request`` with plain dicts, and the answer is not parsed into a
  ``telegram.Message`` (Delivery only needs a message id, and only for new messages).
- ``json_body``: ``AiohttpRequest`` sends a JSON body instead of a form-encoded one (``urllib.parse`` quotes
  every byte of the text and the keyboard in Python).
- ``sqlite_in_loop``: the store runs its work on the event loop's thread, with ``sqlite3`` directly, instead
  of one hop per operation to aiosqlite's thread (WAL and ``synchronous=NORMAL``: a commit does not fsync).
- ``switchinterval``: ``sys.setswitchinterval(0.0005)``, to test whether the aiosqlite thread waits for
  the GIL behind a busy event loop.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["apply_tweaks", "main"]

_T = TypeVar("_T")
TWEAKS = ("quiet_transitions", "raw_edit", "json_body", "sqlite_in_loop", "switchinterval")


def _quiet_transitions() -> None:
    import logging

    logging.getLogger("transitions").setLevel(logging.WARNING)


def _raw_edit() -> None:
    from telegram import Message

    from bot.telegram import delivery

    original = delivery.Delivery._send

    async def send(self: delivery.Delivery, payload: Mapping[str, Any]) -> Message | bool:
        if "edit" not in payload:
            return await original(self, payload)
        keyboard = [
            [
                {"text": label, "callback_data": value} if kind == "d" else {"text": label, "url": value}
                for label, kind, value in row
            ]
            for row in payload.get("rows", ())
        ]
        arguments: dict[str, Any] = {
            "chat_id": payload["chat_id"],
            "message_id": payload["edit"],
            "text": payload["text"],
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if keyboard:
            arguments["reply_markup"] = {"inline_keyboard": keyboard}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await self.bot.do_api_request("editMessageText", api_kwargs=arguments)
        return True

    delivery.Delivery._send = send  # type: ignore[method-assign]


def _json_body() -> None:
    from telegram.request import RequestData

    from bot.telegram import request

    def as_json(self: RequestData, encode_kwargs: dict[str, Any] | None = None) -> str:
        return json.dumps(self.parameters, ensure_ascii=False, separators=(",", ":"))

    RequestData.url_encoded_parameters = as_json  # type: ignore[method-assign]
    request._FORM_HEADERS = {"Content-Type": "application/json"}  # type: ignore[misc]


def _sqlite_in_loop() -> None:
    import aiosqlite

    from bot.store import sqlite as store

    connect = aiosqlite.connect

    @functools.wraps(connect)
    def connect_anywhere(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        return connect(*args, check_same_thread=False, **kwargs)

    async def run_here(db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return work(db._conn)

    store.aiosqlite.connect = connect_anywhere  # type: ignore[assignment]
    store._run = run_here  # type: ignore[assignment]


def apply_tweaks(names: list[str]) -> None:
    """Applies the named tweaks to this process."""
    for name in names:
        if name not in TWEAKS:
            raise SystemExit(f"unknown tweak {name!r}; known: {', '.join(TWEAKS)}")
        if name == "switchinterval":
            sys.setswitchinterval(0.0005)
        else:
            {
                "quiet_transitions": _quiet_transitions,
                "raw_edit": _raw_edit,
                "json_body": _json_body,
                "sqlite_in_loop": _sqlite_in_loop,
            }[name]()


def main() -> int:
    """Applies BENCH_TWEAKS, then runs ``esim-bot run``."""
    apply_tweaks([name.strip() for name in os.environ.get("BENCH_TWEAKS", "").split(",") if name.strip()])
    from bot.cli import main as bot_main

    return bot_main(["run"])


if __name__ == "__main__":
    sys.exit(main())
