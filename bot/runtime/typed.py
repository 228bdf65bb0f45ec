"""The unit for anything typed, sent or stuck where buttons are expected."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.runtime.buttons import in_language
from bot.runtime.chat import Chat, Result, at_hand, show_current
from bot.runtime.where import set_timezone

__all__ = ["TIMEZONE_ANSWER_WINDOW", "typed_message"]

TIMEZONE_ANSWER_WINDOW = timedelta(minutes=15)
"""How long after "where are you?" a typed message is read as the answer."""


async def typed_message(chat: Chat, text: str | None) -> Result:
    """Reads a place right after "where are you?", or a language's name; otherwise answers in one line
    (the bot never needs phone numbers, emails or codes) with the current step and its buttons."""
    asked = chat.settings.timezone_asked_at
    if text and asked is not None:
        # Only the first text after the prompt can answer it: the question is then settled.
        chat = replace(chat, settings=replace(chat.settings, timezone_asked_at=None))
        if chat.now - asked <= TIMEZONE_ANSWER_WINDOW:
            # What is typed is read here and never stored.
            return await set_timezone(chat, text, edit=None)
    language = chat.engine.places.find_language(text) if text else None
    if language is not None and language in chat.engine.bundle.texts.languages:
        chosen = in_language(chat, language)
        return show_current(chosen, before=(chosen.notice("ui.language.changed"),))
    return at_hand(chat, chat.text("ui.stray"))
