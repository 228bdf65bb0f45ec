"""Know before you ship: what an edit does to live conversations, before it is served and when it is."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from testkit.postgres import PostgresServer
from tests.reload.conftest import Operator, rename_waiting


def replace_request(flow: dict[str, Any]) -> None:
    """Removes the state 'request' for a new 'ask' (no moved_from), with a fallback to the first screen."""
    states = flow["states"]
    states["ask"] = states.pop("request")
    states["welcome"]["buttons"][0][0]["to"] = "ask"
    flow["deep_links"]["airalo"]["to"] = "ask"
    flow["fallback"] = {"to": "welcome", "notice": "fallback.notice"}


def add_notice(texts: dict[str, Any]) -> None:
    """Adds the fallback's notice."""
    texts["fallback"] = {"notice": "This guide has changed: please pick again."}


async def people_on_the_way(api: FakeBotApi, settings: Settings, clock: FakeClock) -> None:
    """Three people wait for their email (a reminder pending each), two are on the request screen."""
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        for chat_id in (1, 2, 3):
            user = api.user(chat_id)
            request = await user.tap("Airalo", on=await user.say("/start"))
            await user.tap("I've sent it", on=request)
        for chat_id in (4, 5):
            user = api.user(chat_id)
            await user.tap("Airalo", on=await user.say("/start"))


def edit(operator: Operator) -> None:
    """The operator's edit: 'waiting' renamed (declared), 'request' replaced (not declared: the fallback)."""
    for language in ("en", "fr"):
        operator.edit_texts(language, add_notice)
    operator.edit_flow(rename_waiting)
    operator.edit_flow(replace_request)


EXPECTED = [
    "state 'request' is gone: 2 conversations go to the fallback 'welcome' with the notice",
    "state 'waiting' is gone: 3 conversations move to 'awaiting' (moved_from)",
    "reminder 'email': 3 pending renamed to 'nudge': it comes as planned",
    "button 'sent' of 'request' stops working on 2 screens (it answers that the flow was updated)",
    "button 't_backup' of 'request' stops working on 2 screens (it answers that the flow was updated)",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_validate_against_the_live_database_says_who_moves_where(
    api: FakeBotApi,
    settings: Settings,
    clock: FakeClock,
    operator: Operator,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        settings = settings.model_copy(update={"database": server.new_database()})
    await people_on_the_way(api, settings, clock)
    edit(operator)
    arguments = ["validate", str(operator.flows), "--locales", str(operator.locales)]
    # Nothing of the bot's is in a data/ folder: the button meanings come from the store, like the chats.
    status = await asyncio.to_thread(main, [*arguments, "--against", str(settings.database)])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[0].startswith("ok:")
    assert "5 conversations under way" in out[3]
    for line in EXPECTED:
        assert line in out
    # The 'I got it' button of the people waiting means the same on 'awaiting': it is not listed.
    assert not any("'got'" in line for line in out)


async def test_the_reload_logs_the_same_report_and_moves_people_as_declared(
    api: FakeBotApi,
    settings: Settings,
    clock: FakeClock,
    operator: Operator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await people_on_the_way(api, settings, clock)
    built = build_bot(settings, load_default_flow(settings), clock)
    application, runtime = built.application, built.runtime
    async with polling(application):
        edit(operator)
        with caplog.at_level(logging.INFO, logger="bot.runtime.reload"):
            assert (await runtime.reloader.reload("test")).swapped
        logged = [record.getMessage() for record in caplog.records]
        for line in EXPECTED:
            assert f"reload: {line}" in logged
        # On the removed screen: the old button is refused kindly, with the first screen and the notice.
        removed = api.user(4)
        shown = len(removed.messages)
        toast = await removed.tap_for_toast("I've sent it", on=removed.screen)
        # The screen pressed on shows the first screen now; the notice comes below it.
        await removed.wait_for_messages(shown + 1)
        await api.wait_until(lambda: removed.messages[-2].text.startswith("Hello."))
        first, notice = removed.messages[-2:]
        waiting = api.user(1)
        carried_on = await waiting.tap("I got it", on=waiting.screen)
    assert toast == "This guide was updated."
    assert notice.text == "This guide has changed: please pick again."
    assert first.text.startswith("Hello. Which eSIM?")
    assert first.has_button("Airalo")
    assert carried_on.text.startswith("Done. Helpful?")


async def test_a_database_with_nobody_affected_says_so(
    api: FakeBotApi,
    settings: Settings,
    clock: FakeClock,
    operator: Operator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await people_on_the_way(api, settings, clock)
    operator.edit_texts("en", lambda texts: texts["waiting"].update(text="Waiting for the email, still."))
    arguments = ["validate", str(operator.flows), "--locales", str(operator.locales)]
    assert await asyncio.to_thread(main, [*arguments, "--against", str(settings.database)]) == 0
    out = capsys.readouterr().out
    assert "nobody is affected" in out
