"""The five people of issue 15 (and a stolen phone with an OPT card and a travel eSIM), walked through Telegram in
their own language, read as they would read it.

Each walk asserts what that person must see and must never see. With ``ESIM_TRANSCRIPTS=<file>`` set, the key
screens of each walk are also appended to that file (Markdown), for a person to read.
"""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from testkit import FakeBotApi, FakeUser, Screen, by_id
from tests.telegram.stories import asked_where

pytestmark = pytest.mark.usefixtures("running_bot")


class Transcript:
    """The screens one person saw, in order, under the name of the step that showed them."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.lines = [f"## {who}", ""]

    def saw(self, step: str, screen: Screen) -> Screen:
        """Notes a screen the person saw after ``step``; returns it."""
        self.lines += [f"**{step}**", "", "```"]
        self.lines += [screen.text]
        self.lines += [f"[{label}]" for label in screen.button_labels]
        self.lines += [f"<{link}>" for link in screen.links]
        self.lines += ["```", ""]
        return screen

    def save(self) -> None:
        """Appends the transcript to $ESIM_TRANSCRIPTS, when it is set."""
        if out := os.environ.get("ESIM_TRANSCRIPTS"):
            with Path(out).open("a", encoding="utf-8") as file:
                file.write("\n".join(self.lines) + "\n")


async def walk(user: FakeUser, transcript: Transcript, *steps: str) -> Screen:
    """Taps each button id in turn, noting every screen; returns the last."""
    screen = user.screen
    for step in steps:
        screen = transcript.saw(step, await user.tap(by_id(step)))
    return screen


async def test_a_student_back_in_shanghai_who_bought_through_trip_com(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai
    student = api.user(1501, language_code="zh-hans")
    transcript = Transcript("A student back in Shanghai who bought through Trip.com (zh-Hans)")
    transcript.saw("/start", await student.say("/start"))
    await walk(student, transcript, "go", "travel")
    request = await walk(student, transcript, "trip", "active")
    assert "携程" in request.text
    assert "中文退款申请" in request.text
    assert "英文" not in request.text, "a Chinese request for someone who writes Chinese"
    assert request.has_button("复制消息"), "one tap copies the Chinese request"
    waiting = await walk(student, transcript, "sent")
    question = transcript.saw("(the question that follows)", await asked_where(student, waiting))
    # Nothing said yet of where they are: when, without a clock time in a guessed zone (Shanghai or Nouméa).
    assert "⏰ 下次提醒：1周后。" in waiting.text
    assert "上海时间" not in waiting.text
    assert "努美阿" not in waiting.text
    assert "🇨🇳 中国（上海）" in question.button_labels
    assert not any(label.startswith("✓") for label in question.button_labels)
    placed = transcript.saw("🇨🇳 中国（上海）", await student.tap("中国（上海）"))
    assert "之后的提醒按上海时间发送" in placed.text
    assert "⏰ 下次提醒：12月14日周一 20:00（上海时间）。" in placed.text
    shown = len(student.messages)
    clock.advance(timedelta(days=7, minutes=1))  # Trip.com publishes no time: a weekly check-in
    await student.wait_for_messages(shown + 1)
    transcript.saw("a week later", student.screen)
    assert "Trip.com" in student.screen.text
    transcript.save()


async def test_a_french_expat_back_in_lyon_stops_roaming(api: FakeBotApi, clock: FakeClock) -> None:
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # 09:00 in Lyon
    expat = api.user(1502, language_code="fr")
    transcript = Transcript("A French expat back in Lyon: roaming (fr)")
    transcript.saw("/start", await expat.say("/start"))
    await walk(expat, transcript, "go", "home", "france")
    roaming = await walk(expat, transcript, "home", "roaming")
    assert "plus d'itinérance" in roaming.text
    assert "Coupez l'itinérance" not in roaming.text
    assert "itinérance des données" not in roaming.text
    assert not roaming.has_button(by_id("steps")), "no roaming steps for someone already home"
    reminder = await walk(expat, transcript, "remind")
    transcript.saw("(the question that follows)", await asked_where(expat, reminder))
    assert "heure de Paris" in reminder.text
    assert "Nouméa" not in reminder.text
    shown = len(expat.messages)
    clock.advance(timedelta(days=14, minutes=1))
    await expat.wait_for_messages(shown + 1)
    bill = transcript.saw("two weeks later", expat.screen)
    assert "Votre facture est-elle arrivée" in bill.text
    assert bill.has_button("Facture vérifiée")
    transcript.saw("✅ Facture vérifiée", await expat.tap("Facture vérifiée"))
    transcript.save()


async def test_an_australian_home_in_perth_with_an_opt_tourism_card(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # 10:00 in Perth
    tourist = api.user(1503, language_code="en")
    transcript = Transcript("An Australian home in Perth with an OPT tourist SIM (en)")
    transcript.saw("/start", await tourist.say("/start"))
    await walk(tourist, transcript, "go", "opt", "tourism")
    ending = await walk(tourist, transcript, "home")
    assert "As far as we know, it's a prepaid card valid for 3 months" in ending.text
    assert not ending.links, "no form unless wanted"
    assert not ending.has_button(by_id("sent")), "no reminders unless wanted"
    form = await walk(tourist, transcript, "close")
    assert "https://www.helia.nc/reclamations" in [button.url for button in form.buttons]
    waiting = await walk(tourist, transcript, "sent")
    # "Back home" in English names no place: no Sydney (nor Nouméa) time before they say where.
    assert "⏰ Next reminder: in 1 day." in waiting.text
    assert "Sydney" not in waiting.text
    assert "Nouméa" not in waiting.text
    question = transcript.saw("(the question that follows)", await asked_where(tourist, waiting))
    assert question.has_button(lambda b: b.data == "where|type")
    transcript.saw("🌍 Somewhere else…", await tourist.tap(lambda b: b.data == "where|type"))
    placed = transcript.saw("types “Perth”", await tourist.say("Perth"))
    assert "Reminders now follow Perth time (it's 10:00 there)" in placed.text
    assert "⏰ Next reminder: tomorrow at 10:00 (Perth time)." in placed.text
    transcript.save()


async def test_a_tourist_whose_phone_was_stolen(api: FakeBotApi, clock: FakeClock) -> None:
    clock.set(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))  # 10:00 in Nouméa, where it was stolen
    tourist = api.user(1504, language_code="en")
    transcript = Transcript("A tourist whose phone was stolen: a home SIM and a travel eSIM (en)")
    transcript.saw("/start lost", await tourist.say("/start lost"))
    await walk(tourist, transcript, "go")
    home = await walk(tourist, transcript, "both")
    assert "another phone or a computer" in home.text
    await walk(tourist, transcript, "next")
    request = await walk(tourist, transcript, "airalo")
    for unwanted in ("Keep the eSIM", "Delete the eSIM", "delete the eSIM"):
        assert unwanted not in request.text
    assert "RENEWALS" in request.text
    assert "web chat" in request.text
    waiting = await walk(tourist, transcript, "sent")
    transcript.saw("(the question that follows)", await asked_where(tourist, waiting))
    assert "Keep the eSIM on your phone" not in waiting.text
    follow = await walk(tourist, transcript, "got_it")
    assert "removing the eSIM" not in follow.text
    done = await walk(tourist, transcript, "confirmed")
    assert done.has_button(by_id("helpful_yes"))
    transcript.save()


async def test_a_tourist_back_in_sydney_whose_phone_with_an_opt_card_and_a_travel_esim_was_stolen(
    api: FakeBotApi, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 6, 22, 0, tzinfo=UTC))  # 09:00 in Sydney, 11:00 in Nouméa
    tourist = api.user(1506, language_code="en")
    transcript = Transcript("Back in Sydney, a stolen phone with an OPT card and a travel eSIM (en)")
    transcript.saw("/start lost", await tourist.say("/start lost"))
    lines = await walk(tourist, transcript, "go")
    assert lines.has_button(by_id("opt_travel")), "two lines on one phone, in one pass"
    opt = await walk(tourist, transcript, "opt_travel")
    assert "We found no published OPT procedure" in opt.text
    assert "another phone or a computer" in opt.text
    assert "not confirmed" in opt.text, "the form is a way to ask, not a confirmed way to block"
    assert "https://www.helia.nc/reclamations" in [button.url for button in opt.buttons]
    assert not opt.has_button(by_id("done")), "the travel eSIM comes next"
    travel = await walk(tourist, transcript, "next")
    request = await walk(tourist, transcript, "holafly")
    for screen in (opt, travel, request):
        for unwanted in ("Keep the eSIM", "Delete the eSIM", "delete the eSIM", "Keep the SIM card"):
            assert unwanted not in screen.text, "nothing to keep or delete on a phone that is gone"
    assert "help@holafly.com" in request.text
    waiting = await walk(tourist, transcript, "sent")
    assert "⏰ Next reminder: in 1 week." in waiting.text
    assert "Nouméa" not in waiting.text
    assert "Sydney" not in waiting.text, "not said yet: English is no place"
    question = transcript.saw("(the question that follows)", await asked_where(tourist, waiting))
    assert "Nouméa" not in question.text
    placed = transcript.saw("🇦🇺 Australia (Sydney)", await tourist.tap("🇦🇺 Australia (Sydney)"))
    assert "Reminders now follow Sydney time (it's 09:00 there)" in placed.text
    assert "⏰ Next reminder: Mon, Dec 14, 09:00 (Sydney time)." in placed.text
    status = transcript.saw("/status", await tourist.say("/status"))
    assert "next reminder: Mon, Dec 14, 09:00 (Sydney time)" in status.text
    transcript.save()


async def test_someone_not_sure_ends_with_a_real_next_step(api: FakeBotApi) -> None:
    person = api.user(1505, language_code="fr")
    transcript = Transcript("Someone not sure (fr)")
    transcript.saw("/start", await person.say("/start"))
    await walk(person, transcript, "go", "travel", "unsure")
    end = await walk(person, transcript, "still")
    assert end.has_button(by_id("found"))
    assert end.has_button(by_id("done"))
    assert not end.has_button(by_id("still")), "no way round again"
    assert not end.has_button(by_id("travel"))
    done = await walk(person, transcript, "done")
    assert "confirmation" not in done.text, "no confirmation on a path that has none"
    transcript.save()
