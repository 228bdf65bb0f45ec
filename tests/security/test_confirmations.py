"""Forged callback data cannot skip a confirmation: "delete everything?" and "start over?" count only when
answered on the confirmation message that asked, while it is the newest screen (issue 19).

A modified client can send any callback data on any of the bot's messages in its own chat; the fake Bot API
delivers such a press as Telegram would, with the message it names.
"""

from __future__ import annotations

import pytest

from bot.callbacks import FlowPress, decode
from testkit import FakeBotApi, FakeUser, Screen, by_id
from testkit.screens import Button
from tests.telegram import conftest as telegram
from tests.telegram.stories import submit

# The whole bot against the fake Bot API, with the Telegram stories' fixtures.
api, clock, settings, running_bot = telegram.api, telegram.clock, telegram.settings, telegram.running_bot

pytestmark = pytest.mark.usefixtures("running_bot")


def step_of(screen: Screen) -> int:
    """Returns the step a flow screen's buttons were made for, as a forger would read it from them."""
    for button in screen.buttons:
        pressed = decode(button.data or "")
        if isinstance(pressed, FlowPress):
            return pressed.step
    raise LookupError("no flow button on this screen")


async def forged(user: FakeUser, data: str, on: Screen) -> tuple[str, Screen]:
    """Presses made-up ``data`` on message ``on``; returns the toast and what the bot shows next."""
    toast = await user.tap_for_toast(Button("forged", data=data), on=on)
    return toast, await user.wait_for_reply()


async def still_waiting(user: FakeUser) -> None:
    """Checks that nothing was deleted or dropped: the conversation and its reminder are still there."""
    status = await user.say("/status")
    assert "Now wait for the answer" in status.text
    assert "next reminder" in status.text


@pytest.mark.parametrize("data", ["forget|yes", "forget|yes|{step}", "forget|yes|{next}"])
async def test_a_forged_delete_everything_deletes_nothing(api: FakeBotApi, data: str) -> None:
    user = api.user(1901)
    screen = await submit(user)
    step = step_of(screen)
    toast, shown = await forged(user, data.format(step=step, next=step + 1), screen)
    assert "older message" in toast
    assert shown.has_button(by_id("got_it")), "the current step, at the bottom"
    await still_waiting(user)


async def test_a_forged_start_over_drops_nothing(api: FakeBotApi) -> None:
    user = api.user(1902)
    screen = await submit(user)
    step = step_of(screen)
    for data in ("over|new", f"over|new|{step}", f"over|new:airalo|{step + 1}"):
        toast, screen = await forged(user, data, user.screen)
        assert "older message" in toast
        step = step_of(screen)
    await still_waiting(user)


async def test_a_confirmations_answer_counts_only_on_the_confirmation_itself(api: FakeBotApi) -> None:
    user = api.user(1903)
    waiting = await submit(user)
    question = await user.say("/forget")
    yes = question.button("Yes, delete it all")
    # The real answer, carried onto another of the bot's messages.
    toast, _ = await forged(user, yes.data or "", waiting)
    assert "older message" in toast
    await still_waiting(user)
    # An answer from a confirmation that is no longer the newest screen.
    toast, _ = await forged(user, yes.data or "", question)
    assert "older message" in toast
    await still_waiting(user)


async def test_the_confirmation_itself_still_works(api: FakeBotApi) -> None:
    user = api.user(1904)
    await submit(user)
    question = await user.say("/forget")
    done = await user.tap("Yes, delete it all", on=question)
    assert "everything I stored about you is deleted" in done.text
    started = await user.say("/status")
    assert started.has_button(by_id("go")), "a fresh start: nothing was kept"


async def test_start_over_from_its_question_still_works(api: FakeBotApi) -> None:
    user = api.user(1905)
    await submit(user)
    question = await user.say("/restart")
    started = await user.tap("Yes, start over", on=question)
    assert started.has_button(by_id("go"))
    status = await user.say("/status")
    assert "next reminder" not in status.text
