"""A PostgreSQL ``BOT_DATABASE`` URL, checked before psycopg sees it: what is wrong is said with the password masked.

libpq quotes the part of a URL it cannot read, and psycopg's pool logs that again on every retry: a stray
``%`` or ``@`` in a password would put the password on stderr. Checking the URL first turns each such mistake
into one line that names it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from bot.store.errors import StoreError

__all__ = ["DatabaseUrlError", "checked_postgres_url", "masked", "password_of"]

MASK = "***"
# user:password@ in front of the hosts; greedy up to the last '@', so an unescaped '@' is masked too.
_CREDENTIALS = re.compile(r"^(?P<head>[a-z]+://[^:/@?#]*:)(?P<password>.*)@", re.IGNORECASE)
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")
_HIGHEST_PORT = 65535


class DatabaseUrlError(StoreError, ValueError):
    """The URL cannot be used; the message is one line with the password masked."""


def password_of(url: str) -> str | None:
    """Returns the password written in ``url`` (as written, not decoded), or None."""
    match = _CREDENTIALS.match(url)
    return match["password"] if match and match["password"] else None


def masked(url: str) -> str:
    """Returns ``url`` with its password replaced by ***."""
    return _CREDENTIALS.sub(lambda match: f"{match['head']}{MASK}@", url, count=1)


def _problem(url: str) -> str | None:
    """Returns what is wrong with a PostgreSQL URL, without quoting its password, or None."""
    password = password_of(url) or ""
    # libpq ends the credentials at the first '@' or '/': a later part of the password becomes a host or port.
    for reserved in "@/":
        if reserved in password:
            return f"the password holds a '{reserved}': write it as %{ord(reserved):02X} in the URL"
    if _BAD_PERCENT.search(url):
        return "a '%' is not followed by two hex digits: write a '%' itself as %25"
    # Imported here so that a bot on SQLite never loads the PostgreSQL driver.
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        options = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        return str(exc).replace(password_of(url) or MASK, MASK).strip()
    for port in str(options.get("port", "")).split(","):
        if port and not (port.isdigit() and 0 < int(port) <= _HIGHEST_PORT):
            return f"the port '{port}' is not a number from 1 to {_HIGHEST_PORT}"
    return None


def checked_postgres_url(url: str) -> str:
    """Returns ``url`` if psycopg can use it; raises DatabaseUrlError saying what is wrong otherwise."""
    problem = _problem(url)
    if problem is None:
        return url
    password = password_of(url)
    if password:
        # The decoded password too: libpq may quote it after decoding.
        problem = problem.replace(password, MASK).replace(unquote(password), MASK)
    raise DatabaseUrlError(f"BOT_DATABASE {masked(url)}: {problem}")
