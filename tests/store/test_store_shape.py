"""The store's shape: a storage layer that loads nothing of the flows, made of small roles."""

from __future__ import annotations

import inspect
import subprocess
import sys

from bot.store import (
    ChatStore,
    Coordination,
    FlowReleases,
    Inbox,
    Outbox,
    ReminderQueue,
    Reports,
    SqliteStore,
    Store,
    TicketRelays,
    Tickets,
)
from bot.store.postgres import PostgresStore
from tests.e2e.process import ROOT


def test_importing_the_store_and_both_backends_loads_nothing_of_the_flows_or_the_engine() -> None:
    script = (
        "import sys, bot.store, bot.store.postgres, bot.store.transfer\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.flows', 'bot.engine', 'bot.runtime'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


ROLES = (ChatStore, Outbox, ReminderQueue, Inbox, Coordination, Reports, FlowReleases, Tickets, TicketRelays)


def test_the_store_is_its_small_roles_and_nothing_else() -> None:
    methods = {
        role: {name for name, value in vars(role).items() if inspect.iscoroutinefunction(value)}
        for role in ROLES
    }
    assert all(len(names) <= 6 for names in methods.values()), methods
    everything = {
        name
        for name, value in inspect.getmembers(Store)
        if inspect.iscoroutinefunction(value) and not name.startswith("__")
    }
    assert everything - {"open", "close"} == set().union(*methods.values())
    # A backend implements every role (by name: the roles are protocols, so a caller may ask for two at once):
    # the contract suite runs each of them on both.
    assert all(role in backend.__mro__ for backend in (SqliteStore, PostgresStore) for role in ROLES)
