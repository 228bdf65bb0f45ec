"""Test tools, kept out of the shipped bot: a fake Telegram Bot API server and the simulated people who use it.

::

    async with FakeBotApi() as api:            # then run the bot against api.base_url and api.token
        user = api.user(42, language_code="fr")
        screen = await user.say("/start")
        screen = await user.tap("C'est parti")

``testkit.application.polling`` runs the real python-telegram-bot Application inside a test.
"""

from testkit.formatting import FormattingError, parse_formatted_text
from testkit.screens import Button, ButtonMatcher, Screen, by_id
from testkit.server import DEFAULT_TOKEN, ApiCall, FakeBotApi
from testkit.users import FakeUser

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "Button",
    "ButtonMatcher",
    "FakeBotApi",
    "FakeUser",
    "FormattingError",
    "Screen",
    "by_id",
    "parse_formatted_text",
]
