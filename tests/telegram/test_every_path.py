"""Every screen of the default flow, reached through Telegram in each language, by the buttons' stable ids."""

from __future__ import annotations

import pytest

from bot.testing.fake_bot_api import FakeBotApi, FakeUser
from tests.telegram.conftest import say

pytestmark = pytest.mark.usefixtures("running_bot")

PATHS = {
    "travel seller, help while waiting": (
        "go", "travel", "direct", "{seller}", "active", "sent", "help", "back",
        "got_it", "help", "back", "confirmed", "iphone", "removed", "helpful_yes",
    ),
    "home carrier, changes of mind": (
        "go", "home", "other", "end", "t_backup", "next", "sent", "not_sent", "sent", "got_it", "no_email",
        "got_it", "confirmed", "samsung", "back", "pixel", "removed", "helpful_no",
    ),
    "OPT line from abroad, start over": ("go", "opt", "forfait", "abroad", "sent", "got_it", "confirmed", "restart"),
    "told Orange, then a travel eSIM with nothing to refund": (
        "go", "unsure", "orange", "unsure", "travel", "direct", "{seller}", "active", "nothing", "later",
        "helpful_yes",
    ),
    "not sure, then back and forth": ("go", "unsure", "opt", "esim", "home", "back", "back", "go"),
}  # fmt: skip
SELLERS = ("airalo", "holafly", "nomad", "ubigi", "saily", "other")
LANGUAGES = ("zh-hans", "fr", "en")


async def press(user: FakeUser, button_id: str) -> None:
    """Presses the button with this id on the current screen, and checks the bot moved on."""
    screen = user.screen
    buttons = [b for row in (screen.reply_markup or {}).get("inline_keyboard", []) for b in row]
    data = next(
        (b["callback_data"] for b in buttons if b.get("callback_data", "").endswith(f"|{button_id}")), None
    )
    assert data is not None, f"no button {button_id!r} on {screen.text[:60]!r}"
    await user.click_data(screen.message_id, data)
    assert await user.wait_for_answer() == "", f"{button_id!r} was refused"
    await user.wait_for_reply()
    assert user.screen.text.strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", list(PATHS))
async def test_every_path_in_every_language(api: FakeBotApi, language: str, path: str) -> None:
    seller = SELLERS[(LANGUAGES.index(language) + list(PATHS).index(path)) % len(SELLERS)]
    user = api.user(1000 + len(api.calls), language_code=language)
    await say(user, "/start")
    for button_id in PATHS[path]:
        await press(user, button_id.format(seller=seller))
    assert len(user.messages) == 1, "every step edited the one screen in place"
