"""A throwaway PostgreSQL server for tests and benchmarks, started from the installed server binaries.

::

    with PostgresServer() as server:          # initdb + pg_ctl in a temporary folder, on a unix socket
        url = server.new_database()           # postgresql://... of a fresh, empty database

The server runs without durability (``fsync=off``): it exists only for the test session. As root, the
binaries run as the ``postgres`` user (PostgreSQL refuses to run as root). Nothing is downloaded:
``scripts/test`` installs Debian's ``postgresql`` package where it is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

__all__ = ["PostgresNotInstalledError", "PostgresServer", "server_binaries"]

SUPERUSER = "postgres"


class PostgresNotInstalledError(RuntimeError):
    """No PostgreSQL server binaries were found on this machine."""


def server_binaries() -> Path:
    """Returns the folder holding ``initdb`` and ``pg_ctl``: Debian's newest, or the ones on PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parent.parent.name)
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    raise PostgresNotInstalledError(
        "no PostgreSQL server found: install it (Debian: apt-get install postgresql), or run ./scripts/test, "
        "which does"
    )


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, listening only on a unix socket there."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._names = itertools.count(1)
        self._run_as: Sequence[str] = ()

    @property
    def socket_folder(self) -> Path:
        """Returns the folder of the server's unix socket (its "host" in a connection URL)."""
        if self._folder is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return self._folder

    def url(self, database: str = "postgres") -> str:
        """Returns the connection URL of one of the server's databases."""
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.socket_folder), safe='')}"

    def start(self) -> None:
        """Creates the cluster and starts the server; returns once it accepts connections."""
        binaries = server_binaries()
        # A short path: a unix socket's path must fit in about 100 bytes.
        folder = Path(tempfile.mkdtemp(prefix="esim-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(SUPERUSER)
            os.chown(folder, account.pw_uid, account.pw_gid)
            self._run_as = ("runuser", "-u", SUPERUSER, "--")
        self._folder = folder
        data = folder / "data"
        self._run(
            binaries / "initdb",
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = " ".join(
            (
                f"-k {folder}",
                "-c listen_addresses=''",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            )
        )
        self._run(
            binaries / "pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"
        )

    def stop(self) -> None:
        """Stops the server at once and deletes its folder."""
        folder, self._folder = self._folder, None
        if folder is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(server_binaries() / "pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)

    def new_database(self, prefix: str = "test") -> str:
        """Creates an empty database and returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def log(self) -> str:
        """Returns what the server logged, to explain a failure."""
        return (self.socket_folder / "log").read_text(errors="replace")

    def _run(self, *command: str | Path) -> None:
        result = subprocess.run(
            [*self._run_as, *map(str, command)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, result.args, output=result.stdout, stderr=result.stderr
            )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
