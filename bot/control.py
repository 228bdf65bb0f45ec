"""How ``esim-bot reload`` reaches the running bot: a pid file beside its database, and SIGHUP.

A signal needs no port, no secret and no extra dependency, and it is what service managers already send
(``systemctl reload``, ``docker kill --signal HUP``); the pid file only tells the command which process.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from bot.errors import BotError
from bot.store.factory import local_folder

__all__ = ["PID_FILE_NAME", "NotRunning", "pid_file", "running", "signal_reload"]

PID_FILE_NAME = "esim-bot.pid"


class NotRunning(BotError):  # noqa: N818 the name says what is the case
    """No running bot was found for this database."""


def pid_file(database: str | Path) -> Path:
    """Returns where the bot using ``database`` writes its process id."""
    return local_folder(database) / PID_FILE_NAME


@contextlib.contextmanager
def running(database: str | Path) -> Iterator[Path]:
    """Writes this process's id beside the database for the duration of the block."""
    path = pid_file(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    try:
        yield path
    finally:
        # Only our own file: a second bot started meanwhile on the same folder wrote its own id.
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text(encoding="ascii")) == os.getpid():
                path.unlink()


def signal_reload(database: str | Path) -> int:
    """Sends SIGHUP to the bot running on ``database``; returns its pid, or raises NotRunning."""
    path = pid_file(database)
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise NotRunning(f"no running bot found ({path} is missing or unreadable)") from exc
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as exc:
        raise NotRunning(f"no running bot found ({path} names process {pid}, which has ended)") from exc
    except PermissionError as exc:
        raise NotRunning(f"process {pid} ({path}) belongs to another user: run this as that user") from exc
    return pid
