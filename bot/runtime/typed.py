"""The unit for anything typed, sent or stuck where buttons are expected."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.runtime.chat import Chat, Result, set_timezone, show_current

__all__ = ["TIMEZONE_ANSWER_WINDOW", "typed_message"]

TIMEZONE_ANSWER_WINDOW = timedelta(minutes=15)
"""How long after the /timezone prompt a typed message is read as the answer."""


def typed_message(chat: Chat, text: str | None) -> Result:
    """Reads a typed place right after the /timezone prompt; otherwise says so and shows the screen again."""
    asked = chat.settings.timezone_asked_at
    if text and asked is not None:
        # Only the first text after the prompt can answer it: the question is then settled.
        chat = replace(chat, settings=replace(chat.settings, timezone_asked_at=None))
        if chat.now - asked <= TIMEZONE_ANSWER_WINDOW:
            # What is typed is read here and never stored.
            return set_timezone(chat, text, edit=None)
    return show_current(chat, before=(chat.notice("ui.off_script"),))
