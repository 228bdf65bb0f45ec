"""Every path of the aiosqlite benchmark really commits (its numbers are read in bench/RESULTS.md, never here)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bench.store_hops import PATHS, CommitPath, measure, migrated

TABLES = ("processed_updates", "chats", "reminders", "outbox", "flow_events")


@pytest.mark.parametrize("path_type", PATHS, ids=[path.key for path in PATHS])
@pytest.mark.parametrize("concurrency", [1, 8])
async def test_each_path_commits_every_update_whole(
    path_type: type[CommitPath], concurrency: int, tmp_path: Path
) -> None:
    database = tmp_path / "hops.sqlite3"
    await migrated(database)

    sample = await measure(path_type(), database, commits=20, concurrency=concurrency, warm_up=10)

    assert sample.commits == 20
    with closing(sqlite3.connect(database)) as db:
        counts = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES]
    # 30 updates over 30 chats: each recorded once, with its queued screen and its funnel event.
    assert counts == [30, 30, 30, 30, 30]
