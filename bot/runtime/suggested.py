"""The unit for a suggestion tapped: a situation the bot offered for what the person typed."""

from __future__ import annotations

from bot.callbacks import Suggestion
from bot.runtime.chat import Chat, Result, at_hand, made_for_now, show_current, start_over
from bot.runtime.over import continue_or_start_over, under_way

__all__ = ["suggestion_button"]


def suggestion_button(chat: Chat, pressed: Suggestion, message_id: int | None) -> Result:
    """Goes where a suggestion points: its first screen (the warning first), or, while a guide is under
    way, the question whether to start over there. A suggestion from an older message changes nothing."""
    if not made_for_now(chat, pressed.step):
        return at_hand(chat, "", toast=chat.text("ui.stale_button"))
    conversation = chat.conversation
    if conversation is not None and under_way(chat, conversation):
        if pressed.deep_link is None:
            return show_current(chat)
        return continue_or_start_over(chat, conversation, pressed.deep_link)
    return start_over(chat, pressed.deep_link, edit=message_id if chat.on_screen(message_id) else None)
