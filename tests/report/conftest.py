"""A database of the shipped flow with a crowd in it, which the esim-bot command reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.flows import FlowBundle, load_flows
from bot.runtime.texts import UI_TEXTS
from bot.telegram.app import TELEGRAM_LIMITS
from tests.report.crowd import crowd_database

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 160


@pytest.fixture(scope="session")
def bundle() -> FlowBundle:
    """The shipped flow and its texts."""
    return load_flows(ROOT / "flows", ROOT / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)[
        "cancel_esim"
    ]


@pytest.fixture(scope="session")
def crowded(tmp_path_factory: pytest.TempPathFactory, bundle: FlowBundle) -> Path:
    """A database where a crowd walked the shipped flow over the last three weeks."""
    path = tmp_path_factory.mktemp("crowd") / "bot.sqlite3"
    asyncio.run(crowd_database(path, bundle, datetime.now(UTC) - timedelta(days=21), PEOPLE))
    return path


@pytest.fixture
def database(crowded: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points the esim-bot command at the crowded database and the shipped flow."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("BOT_DATABASE", str(crowded))
    monkeypatch.delenv("BOT_FLOWS_DIR", raising=False)
    monkeypatch.delenv("BOT_LOCALES_DIR", raising=False)
    return crowded
