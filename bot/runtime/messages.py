"""What the runtime hands the messenger edge: frozen messages, and their stored form in the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.callbacks import encode
from bot.engine.screens import Screen, ScreenButton
from bot.store import OutboxMessage

__all__ = [
    "OutgoingMessage",
    "QueuedMessage",
    "Rows",
    "ScreenButton",
    "from_outbox",
    "payloads",
    "to_payload",
    "wired",
]

Rows = tuple[tuple[ScreenButton, ...], ...]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to show: sent as a new message, or in place of message ``edit``.

    ``shows_screen``: once sent, this message is the chat's screen, the one later presses edit.
    ``shows_reminder``: once sent, this message is the chat's latest reminder, the only one that counts.
    ``strip``: only takes the buttons off message ``edit``, leaving its text (``text`` is unused).
    """

    chat_id: int
    text: str
    rows: Rows = ()
    edit: int | None = None
    shows_screen: bool = False
    shows_reminder: bool = False
    strip: bool = False

    def __post_init__(self) -> None:
        if self.strip and (self.edit is None or self.rows):
            raise ValueError("a message that strips buttons names the message it strips, and has none")
        if any(button.press is not None for row in self.rows for button in row):
            raise ValueError("a message's buttons carry their callback data written (see wired)")

    @classmethod
    def stripping(cls, chat_id: int, message_id: int) -> OutgoingMessage:
        """Returns the edit that takes the buttons off message ``message_id``, leaving its text."""
        return cls(chat_id, "", edit=message_id, strip=True)

    @classmethod
    def of(
        cls, chat_id: int, screen: Screen, *, edit: int | None = None, shows_screen: bool
    ) -> OutgoingMessage:
        """Returns the message that shows ``screen``."""
        return cls(chat_id, screen.text, screen.rows, edit, shows_screen)

    def as_new_message(self) -> OutgoingMessage:
        """Returns the same message sent anew (the one it was to edit is gone or too old)."""
        return replace(self, edit=None)


def wired(screen: Screen) -> Screen:
    """Returns an engine screen with each press its buttons mean written as callback data (bot.callbacks)."""
    if not any(button.press is not None for row in screen.rows for button in row):
        return screen
    rows = tuple(tuple(_written(button) for button in row) for row in screen.rows)
    return Screen(screen.text, rows)


def _written(button: ScreenButton) -> ScreenButton:
    if button.press is None:
        return button
    return ScreenButton(button.label, data=encode(button.press))


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """An outgoing message committed to the outbox: delivered once, then removed by ``outbox_id``."""

    outbox_id: int
    message: OutgoingMessage


def to_payload(message: OutgoingMessage) -> dict[str, object]:
    """Returns the outbox's stored form of a message (the store keeps it as opaque JSON)."""
    rows = [[_cell(b) for b in row] for row in message.rows]
    payload: dict[str, object] = {"chat_id": message.chat_id, "text": message.text, "rows": rows}
    if message.edit is not None:
        payload["edit"] = message.edit
    if message.shows_screen:
        payload["screen"] = True
    if message.shows_reminder:
        payload["reminder"] = True
    if message.strip:
        payload["strip"] = True
    return payload


def from_outbox(stored: OutboxMessage) -> QueuedMessage:
    """Returns a message read back from the outbox (after a restart, or by the sweep)."""
    payload = stored.payload
    edit = payload.get("edit")
    message = OutgoingMessage(
        chat_id=stored.chat_id,
        text=str(payload.get("text", "")),
        rows=_rows(payload.get("rows")),
        edit=edit if isinstance(edit, int) else None,
        shows_screen=bool(payload.get("screen")),
        shows_reminder=bool(payload.get("reminder")),
        strip=bool(payload.get("strip")) and isinstance(edit, int),
    )
    return QueuedMessage(stored.id, message)


def _rows(stored: object) -> Rows:
    if not isinstance(stored, Sequence):
        return ()
    return tuple(tuple(_button(cell) for cell in row) for row in stored if isinstance(row, Sequence))


def _cell(button: ScreenButton) -> list[str]:
    # The stored form of a button: [label, kind, value], kind "d" (callback data), "c" (copy text) or "u" (url).
    if button.data is not None:
        return [button.label, "d", button.data]
    if button.copy_text is not None:
        return [button.label, "c", button.copy_text]
    return [button.label, "u", button.url or ""]


def _button(cell: object) -> ScreenButton:
    label, kind, value = cell if isinstance(cell, Sequence) and len(cell) == 3 else ("", "u", "")
    if kind == "d":
        return ScreenButton(str(label), data=str(value))
    if kind == "c":
        return ScreenButton(str(label), copy_text=str(value))
    return ScreenButton(str(label), url=str(value))


def payloads(messages: Sequence[OutgoingMessage]) -> tuple[Mapping[str, object], ...]:
    """Returns the stored forms of ``messages``, in order."""
    return tuple(to_payload(message) for message in messages)
