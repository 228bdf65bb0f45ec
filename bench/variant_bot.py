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
The earlier tweaks ``quiet_transitions``, ``raw_edit`` and ``json_body`` were adopted in ``bot/`` (the
``transitions`` logger at WARNING in ``bot/cli.py``, ``ScreenBot.show``, ``AiohttpRequest``'s JSON body),
so there is nothing left for them to patch; ``parse_once`` and ``confirm_at_once`` measured the polling
loop that the durable inbox replaced (``bot.telegram.inbox.InboxPolling``: getUpdates as JSON, each update
parsed once, everything fetched confirmed at the next poll), so they went with it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["apply_tweaks", "main"]

_T = TypeVar("_T")
TWEAKS = ("sqlite_in_loop", "switchinterval")


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


def apply_tweaks(names: list[str]) -> None:
    """Applies the named tweaks to this process."""
    for name in names:
        if name not in TWEAKS:
            raise SystemExit(f"unknown tweak {name!r}; known: {', '.join(TWEAKS)}")
        if name == "switchinterval":
            sys.setswitchinterval(0.0005)
        elif name == "sqlite_in_loop":
            _sqlite_in_loop()


def main() -> int:
    """Applies BENCH_TWEAKS, then runs ``esim-bot run``."""
    apply_tweaks([name.strip() for name in os.environ.get("BENCH_TWEAKS", "").split(",") if name.strip()])
    from bot.cli import main as bot_main

    return bot_main(["run"])


if __name__ == "__main__":
    sys.exit(main())
