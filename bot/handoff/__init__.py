"""Ask a person: a person's question goes to the operators' support chat, and their answer comes back."""

from bot.handoff.screening import looks_like_a_code

__all__ = ["looks_like_a_code"]
