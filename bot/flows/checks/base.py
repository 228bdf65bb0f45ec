"""What every check of a flow is given: the messenger's limits and the texts the bot itself needs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.callbacks import FlowPress

__all__ = ["VERSION_LENGTH", "Limits", "UiText", "button_data"]

VERSION_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Limits:
    """What the messenger allows; the Telegram edge passes Telegram's own constants."""

    callback_data_bytes: int = 64
    text_characters: int = 4096
    copy_text_characters: int = 256


@dataclass(frozen=True, slots=True)
class UiText:
    """A text the runtime itself needs (not referenced by the flow), with the placeholders it may use."""

    key: str
    placeholders: frozenset[str] = frozenset()


def button_data(version: str, step: int, state: str, button: str) -> str:
    """Returns the callback data of a flow button, unchecked (the codec in bot.callbacks owns its form)."""
    return FlowPress(version, step, state, button).wire
