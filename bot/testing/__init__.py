"""Test helpers shipped with the bot: a fake Telegram Bot API server and simulated users."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.testing.fake_bot_api import (
        DEFAULT_TOKEN,
        ApiCall,
        ChatMessage,
        FakeBotApi,
        FakeBotApiProcess,
        FakeUser,
        RemoteUser,
    )

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ChatMessage",
    "FakeBotApi",
    "FakeBotApiProcess",
    "FakeUser",
    "RemoteUser",
]


def __getattr__(name: str) -> Any:
    """Imports the fake on first use, so ``python -m bot.testing.fake_bot_api`` runs a single copy of it."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from bot.testing import fake_bot_api

    return getattr(fake_bot_api, name)
