"""The SQLite file holds people's conversations: the bot creates it (and its -wal and -shm files) readable by
its own user only, and the folder it creates for it closed to others, whatever the umask lets through."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.control import running
from testkit import FakeBotApi
from tests.e2e.process import ROOT, bot_process, clean_environment

pytestmark = pytest.mark.e2e


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The usual umask of a server account (022): files are readable by all unless the bot says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def run_until_answered(env: dict[str, str], cwd: Path, api: FakeBotApi) -> dict[str, int]:
    """Runs the bot until it has answered /start; returns the mode of each database file, read meanwhile."""
    async with bot_process(env, cwd=cwd) as bot:
        await bot.start()
        user = api.user(901, language_code="en")
        await user.send("/start")
        await user.wait_for_reply(timeout=30)
        database = Path(env.get("BOT_DATABASE", cwd / "data" / "esim-bot.sqlite3"))
        modes = {
            suffix: mode(database.with_name(database.name + suffix))
            for suffix in ("", "-wal", "-shm")
            if database.with_name(database.name + suffix).exists()
        }
        assert await bot.stop(signal.SIGTERM) == 0
    return modes


@pytest.mark.usefixtures("permissive_umask")
async def test_the_default_database_and_its_folder_are_private(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_FLOWS_DIR=str(ROOT / "flows"),
            BOT_LOCALES_DIR=str(ROOT / "locales"),
        )
        modes = await run_until_answered(env, tmp_path, api)
    assert mode(tmp_path / "data") == 0o700
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


@pytest.mark.usefixtures("permissive_umask")
async def test_a_database_in_a_folder_of_the_operator_is_private_and_the_folder_left_as_it_is(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, BOT_DATABASE=str(folder / "bot.db")
        )
        modes = await run_until_answered(env, ROOT, api)
    assert mode(folder) == 0o755
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


@pytest.mark.usefixtures("permissive_umask")
async def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    database.touch(mode=0o640)
    database.chmod(0o640)
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, BOT_DATABASE=str(database)
        )
        modes = await run_until_answered(env, ROOT, api)
    assert modes[""] == 0o640


def test_on_postgresql_the_data_folder_for_the_pid_file_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permissive_umask: None
) -> None:
    monkeypatch.chdir(tmp_path)
    with running("postgresql://bot@db.example/esim") as pid:
        assert pid.parent == Path("data")
        assert mode(tmp_path / "data") == 0o700, "the folder the bot makes in the working folder is its own"
