"""Every screen of the default flow, reached through Telegram in each language, by the buttons' stable ids."""

from __future__ import annotations

import pytest

from testkit import FakeBotApi, by_id

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


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", list(PATHS))
async def test_every_path_in_every_language(api: FakeBotApi, language: str, path: str) -> None:
    seller = SELLERS[(LANGUAGES.index(language) + list(PATHS).index(path)) % len(SELLERS)]
    user = api.user(1000 + len(api.calls), language_code=language)
    await user.say("/start")
    for button_id in PATHS[path]:
        screen = await user.tap(by_id(button_id.format(seller=seller)))
        assert screen.text.strip()
        assert user.toasts == [], f"{button_id!r} was refused"
    assert len(user.messages) == 1, "every step edited the one screen in place"
