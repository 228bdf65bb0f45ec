"""Every chat the bot starts is counted as started in the operators' funnel, whatever its first message."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from testkit import FakeBotApi

pytestmark = pytest.mark.usefixtures("running_bot")

OPERATOR = 77


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The operator with Telegram id 77 is an admin."""
    return settings.model_copy(update={"admin_ids": frozenset({OPERATOR})})


@pytest.mark.parametrize(
    "first_message",
    ["/timezone Paris", "/stop", "/timezone", "/status", "/help", "hello"],
)
async def test_a_chat_whose_first_message_is_not_start_is_counted_as_started(
    api: FakeBotApi, first_message: str
) -> None:
    person = api.user(21, language_code="en")
    # The first reply comes after the commit that stored the chat: the funnel counts it from then on.
    await person.say(first_message)
    report = await api.user(OPERATOR).say("/stats")
    assert "Conversations started: 1" in report.text
    start_row = next(line for line in report.text.splitlines() if line.startswith("start "))
    assert start_row.split()[1] == "1", f"the first screen was reached once: {start_row!r}"
