"""One redaction for everything the bot prints or logs: no secret reaches stdout, stderr or a log.

The bot token (and its secret half, which alone is enough to act as the bot), the webhook secret and the
database password are replaced wherever they appear: in any letter case, because python-telegram-bot
capitalises the descriptions Telegram sends back (``Bad Request: .../bot123:AbC`` becomes ``.../bot123:abc``),
and percent-encoded, as they are in a URL. :func:`redacted_output` puts the same redaction in front of stdout
and stderr, so a traceback, a warning or a ``print`` goes through it as a log line does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO
from urllib.parse import quote, unquote

from bot.store.url import password_of

__all__ = ["RedactingFormatter", "RedactingStream", "Redactor", "redacted_output"]

SHORTEST_SECRET = 6
"""Pieces shorter than this are not redacted on their own: they would mask ordinary words."""


class Redactor:
    """Replaces each secret, in any case and percent-encoded, by a label naming what it was."""

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        labels: dict[str, str] = {}
        for value, label in secrets:
            for form in (value, quote(value, safe=""), quote(value), unquote(value)):
                if len(form) >= SHORTEST_SECRET:
                    labels.setdefault(form, label)
        # Longest first: the whole token is replaced before its secret half would be. Each form is a group of
        # its own, so that a match in another case still finds its label.
        forms = sorted(labels, key=len, reverse=True)
        self._labels = {f"s{index}": labels[form] for index, form in enumerate(forms)}
        alternatives = "|".join(f"(?P<s{index}>{re.escape(form)})" for index, form in enumerate(forms))
        self._pattern = re.compile(alternatives, re.IGNORECASE) if forms else None

    @classmethod
    def of(cls, *, token: str | None, webhook_secret: str | None, database: str | None) -> Redactor:
        """Returns the redaction for a bot run with these settings."""
        secrets: list[tuple[str, str]] = []
        if token:
            token = token.strip()
            secrets += [(token, "<token>"), (token.partition(":")[2], "<token>")]
        if webhook_secret:
            secrets.append((webhook_secret, "<webhook secret>"))
        password = password_of(database) if database else None
        if password:
            secrets.append((password, "***"))
        return cls(secrets)

    def __call__(self, text: str) -> str:
        """Returns ``text`` with every secret replaced."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._labels[str(match.lastgroup)], text)


class RedactingFormatter(logging.Formatter):
    """Formats log lines, tracebacks included, through the redaction."""

    def __init__(self, fmt: str, redact: Redactor) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each whole line before it reaches ``target`` (a secret never spans lines)."""

    def __init__(self, target: TextIO, redact: Redactor) -> None:
        super().__init__()
        self.target = target
        self.redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self.target.write(self.redact(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self.target.write(self.redact(text))
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding


@contextmanager
def redacted_output(redact: Redactor) -> Iterator[None]:
    """Sends everything written to stdout and stderr in this block through ``redact``."""
    originals = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(originals[0], redact)
    sys.stderr = RedactingStream(originals[1], redact)
    try:
        yield
    except Exception:
        # An error nobody caught is printed here, through the redaction, rather than by the interpreter.
        traceback.print_exc()
        raise SystemExit(1) from None
    finally:
        for stream in (sys.stdout, sys.stderr):
            # The reader went away, or the stream was closed: nothing left to say.
            with contextlib.suppress(BrokenPipeError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = originals
