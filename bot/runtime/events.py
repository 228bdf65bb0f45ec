"""What a person did, as the chat service receives it: one frozen event per kind, nothing of the messenger's types.

``Incoming`` is their union; the service hands each kind to its unit.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

__all__ = ["ButtonPressed", "CommandSent", "Incoming", "MessageSent"]


@dataclass(frozen=True, slots=True)
class _Event:
    """What every event carries: its chat, its update (for dedupe) and the sender's language code."""

    chat_id: int
    _: KW_ONLY
    update_id: int | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class CommandSent(_Event):
    """A menu command such as ``/start airalo``: its name, lower case, and its argument (read, never stored)."""

    command: str
    argument: str = ""


@dataclass(frozen=True, slots=True)
class ButtonPressed(_Event):
    """An inline button pressed: its callback data as Telegram hands it back, on message ``message_id``."""

    data: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class MessageSent(_Event):
    """Anything else sent in the chat: typed ``text`` (read, never stored), or None for a sticker or photo."""

    text: str | None = None


Incoming = CommandSent | ButtonPressed | MessageSent
"""One event from a private chat."""
