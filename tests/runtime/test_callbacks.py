"""Every kind of callback data goes through one codec: what a button says is what it means when pressed."""

from __future__ import annotations

import pytest
from telegram.constants import InlineKeyboardButtonLimit

from bot.callbacks import (
    CALLBACK_DATA_BYTES,
    MAX_STEP_DIGITS,
    CallbackData,
    CallbackDataTooLong,
    FlowPress,
    ForgetChoice,
    LanguageChoice,
    ReminderAnswer,
    ReminderPress,
    RemindersOn,
    StartOverChoice,
    Suggestion,
    TimezoneChoice,
    TypePlace,
    decode,
    encode,
)
from bot.engine.engine import FlowEngine
from bot.runtime.messages import wired

EVERY_KIND: list[tuple[CallbackData, str]] = [
    (FlowPress("3f2a9c1d", 12, "identify", "travel"), "3f2a9c1d|12|identify|travel"),
    (
        ReminderPress("3f2a9c1d", 2, "confirm_email", ReminderAnswer.SNOOZE_TOMORROW),
        "3f2a9c1d|r2|confirm_email|1d",
    ),
    (LanguageChoice("zh-Hans"), "lang|zh-Hans"),
    (TimezoneChoice("America/Los_Angeles"), "tz|America/Los_Angeles"),
    (ForgetChoice(confirmed=True), "forget|yes"),
    (ForgetChoice(confirmed=False), "forget|no"),
    (TypePlace(), "where|type"),
    (RemindersOn(), "remind|on"),
    (StartOverChoice(start_over=False), "over|keep"),
    (StartOverChoice(start_over=True), "over|new"),
    (StartOverChoice(True, "airalo"), "over|new:airalo"),
    # Made for one step (the newest screen's): what the bot writes since buttons carry their step.
    (ForgetChoice(confirmed=True, step=12), "forget|yes|12"),
    (ForgetChoice(confirmed=False, step=12), "forget|no|12"),
    (RemindersOn(step=7), "remind|on|7"),
    (StartOverChoice(start_over=False, step=3), "over|keep|3"),
    (StartOverChoice(True, "airalo", 3), "over|new:airalo|3"),
    (Suggestion("lost", 4), "suggest|lost|4"),
    (Suggestion(None, 4), "suggest||4"),
]


@pytest.mark.parametrize(("data", "wire"), EVERY_KIND)
def test_buttons_already_in_peoples_chats_keep_their_meaning(data: CallbackData, wire: str) -> None:
    assert encode(data) == wire
    assert decode(wire) == data


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "x",
        "lang|",
        "tz|",
        "forget|maybe",
        "a|b|c",
        "3f2a9c1d|r2|email|never",
        "3f2a9c1d|zz|s|b",
        "where|",
        "remind|off",
        "over|",
        "over|new:",
        "forget|yes|",
        "forget|yes|x1",
        "remind|on|-3",
        "lang|en|3",
        "tz|Europe/Paris|3",
        "over|new:|3",
        "suggest|lost|",
        "suggest|lost",
    ],
)
def test_data_the_bot_never_wrote_means_nothing(wire: str) -> None:
    assert decode(wire) is None


def test_data_over_telegrams_limit_is_refused_before_it_reaches_telegram() -> None:
    assert CALLBACK_DATA_BYTES == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    with pytest.raises(CallbackDataTooLong):
        encode(TimezoneChoice("夏" * 21))  # 24 characters, but 66 bytes of UTF-8


def test_a_flow_screens_buttons_decode_to_the_screen_they_belong_to(default_engine: FlowEngine) -> None:
    started = default_engine.start("en")
    presses = [button.press for row in started.screen.rows for button in row if button.press]
    written = [decode(button.data) for row in wired(started.screen).rows for button in row if button.data]
    assert written
    assert written == presses, "what the runtime writes reads back as the press the engine meant"
    for data in written:
        assert isinstance(data, FlowPress)
        assert (data.version, data.step, data.state) == (default_engine.version, 1, "start")


def test_a_confirmation_made_for_a_step_fits_telegrams_limit_with_the_longest_deep_link() -> None:
    longest_id = "x" * 32  # bot.flows.model.Id: deep links are named like every id
    assert len(encode(StartOverChoice(True, longest_id, 10**6 - 1))) <= CALLBACK_DATA_BYTES
    assert len(encode(Suggestion(longest_id, 10**6 - 1))) <= CALLBACK_DATA_BYTES


def test_a_flow_press_reads_back_equal_however_many_screens_were_shown() -> None:
    far = FlowPress("3f2a9c1d", 10**MAX_STEP_DIGITS + 7, "start", "go")
    assert decode(encode(far)) == far == FlowPress("3f2a9c1d", 7, "start", "go")
