"""The variant bot's store tweak still reaches the store (numbers are read in bench/RESULTS.md, never here)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Run in a child process: the tweak patches aiosqlite and the store for the whole process.
CHILD = textwrap.dedent(
    """
    import asyncio, sys, threading
    from bench.variant_bot import apply_tweaks
    apply_tweaks(["sqlite_in_loop"])
    from bot.store import SqliteStore

    async def main():
        ran_on = []
        async with SqliteStore(sys.argv[1]) as store:
            chat = await store.load_chat(42)
            due = await store.next_due_at()
            await store._run(lambda db: ran_on.append(threading.get_ident()))
        print(chat, due, ran_on == [threading.get_ident()])

    asyncio.run(main())
    """
)


def test_sqlite_in_loop_runs_the_store_on_the_event_loops_thread(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "variant.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    # A migrated, empty store answers, and its work runs on the calling (event loop's) thread.
    assert child.stdout.split() == ["None", "None", "True"]
