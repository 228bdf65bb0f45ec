"""The polling lease's holder stops polling as soon as the lease cannot be known to run, and says why."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import SqliteStore
from bot.telegram.leadership import LEASE_NAME, Tenure, lead_while_elected


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def first_tenure(store: SqliteStore, stopping: asyncio.Event) -> tuple[asyncio.Task[None], Tenure]:
    """Starts a candidate and returns it with its first tenure, once elected."""
    tenures: asyncio.Queue[Tenure] = asyncio.Queue()

    async def lead(tenure: Tenure) -> None:
        await tenures.put(tenure)
        await tenure.ended.wait()

    candidate = asyncio.create_task(lead_while_elected(store, "instance-a", stopping, lead))
    return candidate, await asyncio.wait_for(tenures.get(), 5)


def stopped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "bot.telegram.leadership"]


async def test_a_store_that_fails_ends_polling_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stopping = asyncio.Event()
    failing = SqliteStore(tmp_path / "bot.sqlite3")
    await failing.open()
    candidate, tenure = await first_tenure(failing, stopping)
    await failing.close()  # the database goes away under the holder

    await asyncio.wait_for(tenure.ended.wait(), 3)
    stopping.set()
    await asyncio.wait_for(candidate, 5)

    assert tenure.lost
    assert not tenure.valid()
    lines = stopped_lines(caplog)
    assert any(line.startswith("stopped polling Telegram: the store failed to renew") for line in lines), (
        lines
    )
    assert not any("another instance" in line for line in lines), lines
    assert not any(record.exc_info for record in caplog.records)


async def test_a_lease_taken_by_another_instance_ends_polling_and_the_log_says_so(
    store: SqliteStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stopping = asyncio.Event()
    candidate, tenure = await first_tenure(store, stopping)
    async with SqliteStore(tmp_path / "bot.sqlite3") as other:
        # Another instance whose clock says the lease ran out takes it.
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert await other.acquire_lease(LEASE_NAME, "instance-b", later, timedelta(minutes=5))

        await asyncio.wait_for(tenure.ended.wait(), 3)
        stopping.set()
        await asyncio.wait_for(candidate, 5)

    assert tenure.lost
    assert "stopped polling Telegram: the polling lease ran out and another instance holds it now" in (
        stopped_lines(caplog)
    )


async def test_a_clean_stop_is_not_a_lost_lease(store: SqliteStore) -> None:
    stopping = asyncio.Event()
    candidate, tenure = await first_tenure(store, stopping)
    assert tenure.valid()
    stopping.set()
    await asyncio.wait_for(candidate, 5)

    assert tenure.ended.is_set()
    assert not tenure.lost
    # Given up at once: another instance is elected without waiting for the lease to run out.
    assert await store.acquire_lease(LEASE_NAME, "instance-b", datetime.now(UTC), timedelta(seconds=1))


class SlowToRenew(SqliteStore):
    """A store that grants the lease at once, then answers every renewal only after the lease ran out."""

    renewals = 0

    async def acquire_lease(self, name: str, holder: str, now: datetime, duration: timedelta) -> bool:
        self.renewals += 1
        if self.renewals > 1:
            await asyncio.sleep(duration.total_seconds() * 2)
        return await super().acquire_lease(name, holder, now, duration)


async def test_a_renewal_answered_after_the_lease_ran_out_ends_polling_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stopping = asyncio.Event()
    async with SlowToRenew(tmp_path / "bot.sqlite3") as slow:
        candidate, tenure = await first_tenure(slow, stopping)
        await asyncio.wait_for(tenure.ended.wait(), 5)
        stopping.set()
        await asyncio.wait_for(candidate, 10)

    assert tenure.lost
    lines = stopped_lines(caplog)
    assert any(
        line.startswith(
            "stopped polling Telegram: the polling lease ran out before this instance could renew it"
        )
        for line in lines
    ), lines
    assert not any("another instance" in line for line in lines), lines
