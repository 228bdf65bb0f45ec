"""Shared fixtures: the small test flow, the shipped default flow, and their engines."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle, load_bundle
from bot.runtime.texts import UI_TEXTS
from testkit.postgres import PostgresServer

# python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas; tests treat warnings as errors.
os.environ.setdefault("PTB_TIMEDELTA", "1")

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "flows" / "cases" / "valid"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Starts one throwaway PostgreSQL server for the whole session (each test makes its own database)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def mini_bundle() -> FlowBundle:
    """The small flow the broken-flow corpus is made from."""
    return load_bundle(MINI / "flow.yaml", MINI / "locales")


@pytest.fixture
def mini(mini_bundle: FlowBundle) -> FlowEngine:
    """An engine on the small flow."""
    return FlowEngine(mini_bundle)


@pytest.fixture(scope="session")
def default_bundle() -> FlowBundle:
    """The default flow that ships in flows/, with the runtime's own texts required."""
    return load_bundle(ROOT / "flows" / "cancel_esim.yaml", ROOT / "locales", ui_texts=UI_TEXTS)


@pytest.fixture(scope="session")
def default_engine(default_bundle: FlowBundle) -> FlowEngine:
    """An engine on the default flow (engines are immutable, so one serves the whole session)."""
    return FlowEngine(default_bundle)
