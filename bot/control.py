"""How ``esim-bot reload`` reaches every running instance: it publishes the files as the store's current release.

Every instance reads the store's current release every few seconds (``bot/runtime/reload.py``), so the
command needs no port, no secret and no signal to any process, on whichever hosts the instances run. The bot
also writes its process id beside its database (:func:`running`), for a service manager's reload
(``systemctl reload``, ``docker kill --signal HUP``): the instance signalled publishes its own files the same way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.flows import FlowBundle
from bot.flows.meanings import meanings_of
from bot.runtime.reload import FlowSource, release_of
from bot.startup import PRIVATE_FOLDER, opened_store
from bot.store import ReleaseHead
from bot.store.factory import local_folder

__all__ = ["PID_FILE_NAME", "Published", "pid_file", "publish", "running"]

PID_FILE_NAME = "esim-bot.pid"


def pid_file(database: str | Path) -> Path:
    """Returns where the bot using ``database`` writes its process id."""
    return local_folder(database) / PID_FILE_NAME


@contextlib.contextmanager
def running(database: str | Path) -> Iterator[Path]:
    """Writes this process's id beside the database for the duration of the block."""
    path = pid_file(database)
    # On PostgreSQL that is data/ in the working folder: made private like the SQLite one (bot.startup).
    path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    try:
        yield path
    finally:
        # Only our own file: a second bot started meanwhile on the same folder wrote its own id.
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text(encoding="ascii")) == os.getpid():
                path.unlink()


@dataclass(frozen=True, slots=True)
class Published:
    """What publishing did: the flow validated, and the store's current release before and after."""

    bundle: FlowBundle
    before: ReleaseHead | None
    after: ReleaseHead

    def as_text(self) -> str:
        """Returns what the operator is told."""
        if self.before == self.after:
            return f"release {self.after.number} (flow version {self.after.version}) is already served: nothing changed"
        return (
            f"published release {self.after.number} (flow version {self.after.version}): every running instance "
            "serves it within a few seconds; their logs say what changed"
        )


async def publish(database: str | Path, source: FlowSource, now: datetime) -> Published:
    """Validates the files of ``source`` and makes them the store's current release.

    Raises FlowValidationError (nothing published) or StartupError (the store cannot be opened).
    """
    bundle, files = source.read()
    meanings = meanings_of(bundle.flow, bundle.version).as_json()
    async with opened_store(database) as store:
        before = await store.release_head()
        after = await store.publish_release(release_of(bundle, files, meanings), now, again=True)
    return Published(bundle, before, after)
