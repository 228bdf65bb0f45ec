"""``esim-bot run`` with experimental changes applied from outside, to measure a suggestion before making it.

    BENCH_TWEAKS=sqlite_in_loop,switchinterval python -m bench.variant_bot

Nothing here is meant for production: each tweak patches the bot in this process only, to show what the
corresponding change in ``bot/`` would be worth. Tweaks (comma-separated in ``BENCH_TWEAKS``):

- ``sqlite_in_loop``: the store runs its work on the event loop's thread, with ``sqlite3`` directly, instead
  of one hop per operation to aiosqlite's thread (WAL and ``synchronous=NORMAL``: a commit does not fsync).
  End to end, it is the ceiling of what the store's hops cost (``python -m bench.store_hops`` times one
  commit each way).
- ``switchinterval``: ``sys.setswitchinterval(0.0005)``, to test whether the aiosqlite thread waits for
  the GIL behind a busy event loop.
- ``parse_once``: the polling loop (``bot.telegram.intake.ConfirmedPolling``) takes getUpdates' answer as
  JSON and parses only the updates it does not hold yet; as it is, each poll parses again every update it
  already holds but has not confirmed (``Update.de_json``, about 130 us each).
- ``confirm_at_once``: each poll confirms everything fetched so far, as python-telegram-bot's ``Updater``
  does: the throughput ceiling of the same loop without the guarantee that an update is confirmed only once
  handled (a crash would lose the updates in hand). Not a suggestion, a measure of that guarantee's cost.

The earlier tweaks ``quiet_transitions``, ``raw_edit`` and ``json_body`` were adopted in ``bot/`` (the
``transitions`` logger at WARNING in ``bot/cli.py``, ``ScreenBot.show``, ``AiohttpRequest``'s JSON body),
so there is nothing left for them to patch.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["apply_tweaks", "main"]

_T = TypeVar("_T")
TWEAKS = ("sqlite_in_loop", "switchinterval", "parse_once", "confirm_at_once")


def _sqlite_in_loop() -> None:
    import aiosqlite

    from bot.store import sqlite as store

    if not callable(getattr(store, "_run", None)):
        # Patching a name the store no longer calls would measure the bot unchanged, under the tweak's name.
        raise SystemExit("sqlite_in_loop: bot.store.sqlite has no _run(db, work) left to replace")
    connect = aiosqlite.connect

    @functools.wraps(connect)
    def connect_anywhere(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        return connect(*args, check_same_thread=False, **kwargs)

    async def run_here(db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return work(db._conn)

    aiosqlite.connect = connect_anywhere
    store._run = run_here


def _polling(*, parse_once: bool, confirm_at_once: bool) -> None:
    from datetime import timedelta

    from telegram import Update
    from telegram.warnings import PTBUserWarning

    from bot.telegram.intake import ConfirmedPolling

    if not callable(getattr(ConfirmedPolling, "_get_updates", None)):
        raise SystemExit(
            "parse_once/confirm_at_once: ConfirmedPolling has no _get_updates(wait) left to replace"
        )
    # The raw getUpdates call is the point of parse_once; python-telegram-bot would suggest Bot.get_updates.
    warnings.filterwarnings(
        "ignore", message=r"Please use 'Bot\.get_updates' instead", category=PTBUserWarning
    )
    original = ConfirmedPolling._get_updates

    async def get_updates(self: ConfirmedPolling, wait: timedelta) -> tuple[Update, ...]:
        if confirm_at_once and self._newest >= 0:
            self._offset = max(self._offset or 0, self._newest + 1)
        if not parse_once:
            return await original(self, wait)
        bot = self.intake.application.bot
        arguments: dict[str, Any] = {
            "timeout": int(wait.total_seconds()),
            "allowed_updates": self.allowed_updates,
        }
        if self._offset is not None:
            arguments["offset"] = self._offset
        answer = await bot.do_api_request("getUpdates", api_kwargs=arguments)
        items = answer if isinstance(answer, list) else []
        return tuple(
            Update.de_json(item, bot)
            for item in items
            if isinstance(item, dict) and int(item["update_id"]) > self._newest
        )

    ConfirmedPolling._get_updates = get_updates  # type: ignore[method-assign]


def apply_tweaks(names: list[str]) -> None:
    """Applies the named tweaks to this process."""
    for name in names:
        if name not in TWEAKS:
            raise SystemExit(f"unknown tweak {name!r}; known: {', '.join(TWEAKS)}")
        if name == "switchinterval":
            sys.setswitchinterval(0.0005)
        elif name == "sqlite_in_loop":
            _sqlite_in_loop()
    if {"parse_once", "confirm_at_once"} & set(names):
        _polling(parse_once="parse_once" in names, confirm_at_once="confirm_at_once" in names)


def main() -> int:
    """Applies BENCH_TWEAKS, then runs ``esim-bot run``."""
    apply_tweaks([name.strip() for name in os.environ.get("BENCH_TWEAKS", "").split(",") if name.strip()])
    from bot.cli import main as bot_main

    return bot_main(["run"])


if __name__ == "__main__":
    sys.exit(main())
