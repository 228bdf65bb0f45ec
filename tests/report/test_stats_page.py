"""`esim-bot stats --html`: one page an operator opens or mails, checked in a real headless Chromium."""

from __future__ import annotations

# The page's words are in Chinese too.
# ruff: noqa: RUF001
import asyncio
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.report.browser import PageVisit, visit

ROWS = "[...document.querySelectorAll('#{table} tr')].slice(1).map(r => [...r.cells].map(c => c.innerText))"


def report_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["stats", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
# How each language writes a duration on the page: days and hours, hours, or minutes.
DURATIONS = {
    "en": (r"(\d+) d (\d+) h", r"(\d+) h", r"(\d+) min"),
    "fr": (r"(\d+) j (\d+) h", r"(\d+) h", r"(\d+) min"),
    "zh-Hans": (r"(\d+)天(\d+)小时", r"(\d+)小时", r"(\d+)分钟"),
}


@dataclass(frozen=True, slots=True)
class Words:
    """What an operator reads on the page in one language: its headings, and the questions' summary."""

    code: str
    headings: tuple[str, ...]
    tickets: str
    answered: tuple[str, str]
    """How the open questions' table says answered, and not yet."""
    title: str
    """The guide's title, as its first screen says it."""


LANGUAGES = [
    Words(
        "en",
        ("Where people stop most", "Requests per seller or carrier", "Questions to a person", "Every screen"),
        "{opened} asked in this period, {answered} answered, {closed} closed; {open} open now.",
        ("yes", "not yet"),
        "Stop paying for a line used in New Caledonia",
    ),
    Words(
        "fr",
        (
            "Où les gens s'arrêtent le plus",
            "Demandes par vendeur ou opérateur",
            "Questions à une personne",
            "Tous les écrans",
        ),
        "{opened} posées pendant la période, {answered} avec une réponse, {closed} closes ; {open} encore ouvertes.",
        ("oui", "pas encore"),
        "Ne plus payer une ligne utilisée en Nouvelle-Calédonie",
    ),
    Words(
        "zh-Hans",
        ("用户最常停在哪里", "向各卖家或运营商发出的申请", "向真人客服提的问题", "所有页面"),
        "本期共提问 {opened} 个，已回复 {answered} 个，已关闭 {closed} 个；目前仍有 {open} 个未结。",
        ("是", "还没有"),
        "在新喀里多尼亚用过的号码或 eSIM，如何停止付费",
    ),
]


def hours(shown: str, language: str = "en") -> float | None:
    """Reads a duration as the page shows it in ``language`` ("3 d 4 h", "5 h", "20 min", "-") in hours."""
    if shown == "-":
        return None
    days_hours, only_hours, minutes = DURATIONS[language]
    if found := re.fullmatch(days_hours, shown):
        return int(found[1]) * 24 + int(found[2])
    if found := re.fullmatch(only_hours, shown):
        return int(found[1])
    found = re.fullmatch(minutes, shown)
    assert found is not None, shown
    return int(found[1]) / 60


async def rows(page: PageVisit, table: str) -> list[list[str]]:
    found: list[list[str]] = await page.evaluate(ROWS.format(table=table))
    return found


def write_page(folder: Path, capsys: pytest.CaptureFixture[str], *arguments: str) -> Path:
    """Writes the page of the crowded database's last 30 days with ``esim-bot stats``."""
    written = folder / "report.html"
    assert main(["stats", "--html", str(written), *arguments]) == 0
    capsys.readouterr()
    return written


@pytest.fixture
def page(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The page of the crowded database's last 30 days."""
    return write_page(tmp_path, capsys)


async def rendered(page: Path, profile: Path) -> tuple[list[float], int, str, list[str]]:
    """Returns the picture's size on screen, its screens, the page's title and every URL it loaded."""
    async with visit(page.as_uri(), profile) as shown:
        picture = await shown.evaluate(
            "(r => [r.width, r.height])(document.querySelector('#picture svg').getBoundingClientRect())"
        )
        screens = await shown.evaluate("document.querySelectorAll('#picture svg g.node').length")
        title = await shown.evaluate("document.title")
        return picture, screens, title, list(shown.requested)


async def read(page: Path, profile: Path) -> dict[str, Any]:
    """Returns the numbers the page shows, as the browser laid them out."""
    async with visit(page.as_uri(), profile) as shown:
        return {
            "title": await shown.evaluate("document.querySelector('h1').innerText"),
            "caption": await shown.evaluate(
                "[...document.querySelectorAll('svg text')].map(t => t.textContent).join(' ')"
            ),
            "headings": await shown.evaluate("[...document.querySelectorAll('h2')].map(h => h.innerText)"),
            "columns": await shown.evaluate("[...document.querySelectorAll('th')].map(h => h.innerText)"),
            "started": await shown.evaluate("document.querySelector('#started').innerText"),
            "confirmed": await shown.evaluate("document.querySelector('#confirmed').innerText"),
            "period": await shown.evaluate("document.querySelector('#period').innerText"),
            "funnel": await rows(shown, "funnel"),
            "stops": await rows(shown, "stops"),
            "outcomes": await rows(shown, "outcomes"),
            "tickets": await shown.evaluate("document.querySelector('#tickets').innerText"),
            "open_tickets": await rows(shown, "open-tickets"),
        }


def test_the_page_renders_with_its_picture_and_loads_nothing_from_the_network(
    page: Path, tmp_path: Path
) -> None:
    picture, screens, title, requested = asyncio.run(rendered(page, tmp_path / "profile"))

    assert requested == [page.as_uri()], (
        "the page is the one thing loaded: no style, font or image from elsewhere"
    )
    width, height = picture
    assert 600 < width <= 1280
    assert 200 < height <= 720
    assert screens > 10
    assert title.startswith("Stop paying for a line used in New Caledonia: ")


@pytest.mark.parametrize("words", LANGUAGES, ids=[words.code for words in LANGUAGES])
def test_the_page_reads_in_the_operators_language_with_the_numbers_of_stats_json(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], words: Words
) -> None:
    data = report_json(capsys)
    written = write_page(tmp_path, capsys, "--lang", words.code)
    shown = asyncio.run(read(written, tmp_path / "profile"))
    started, confirmed, period = shown["started"], shown["confirmed"], shown["period"]
    funnel, stops, outcomes = shown["funnel"], shown["stops"], shown["outcomes"]

    assert shown["headings"] == list(words.headings)
    assert shown["title"] == words.title, "the guide named as its first screen does, in the language"
    assert words.title in shown["caption"]
    english = {"screen", "state", "reached", "provider", "requests", "confirmed", "language", "answered"}
    assert words.code == "en" or not english & set(shown["columns"]), "every column is named in the language"
    assert (int(started), int(confirmed)) == (data["started"], data["confirmed"])
    # The page is written a moment after --json ran, maybe in the next minute.
    since, until = [datetime.strptime(moment, "%Y-%m-%d %H:%M") for moment in MOMENT.findall(period)]
    asked = [datetime.fromisoformat(data[end]).replace(tzinfo=None) for end in ("since", "until")]
    assert timedelta(0) <= since - asked[0].replace(second=0, microsecond=0) <= timedelta(minutes=1)
    assert timedelta(0) <= until - asked[1].replace(second=0, microsecond=0) <= timedelta(minutes=1)
    assert [(row[1], int(row[2]), int(row[4])) for row in funnel] == [
        (state["state"], state["reached"], state["stopped_here"]) for state in data["states"]
    ]
    assert [(row[1], int(row[2])) for row in stops] == [
        (s["state"], s["stopped_here"]) for s in data["stops"]
    ]
    assert len(stops) == 5
    assert [row[:5] for row in outcomes] == [
        [o["name"], str(o["requested"]), str(o["confirmed"]), str(o["still_waiting"]), str(o["given_up"])]
        for o in data["outcomes"]
    ]
    for row, outcome in zip(outcomes, data["outcomes"], strict=True):
        for shown_time, exact in zip(row[5:], outcome["hours_to_confirmation"].values(), strict=True):
            shown_hours = hours(shown_time, words.code)
            if exact is None:
                assert shown_hours is None
            else:
                assert shown_hours is not None
                assert abs(shown_hours - exact) <= 0.5
    assert any(o["confirmed"] for o in data["outcomes"]), "the crowd had some requests confirmed"
    tickets = data["tickets"]
    assert shown["tickets"] == words.tickets.format(
        opened=tickets["opened"],
        answered=tickets["answered"],
        closed=tickets["closed"],
        open=len(tickets["open"]),
    )
    assert [row[0] for row in shown["open_tickets"]] == [f"#{t['ticket']}" for t in tickets["open"]]
    for row, ticket in zip(shown["open_tickets"], tickets["open"], strict=True):
        shown_age = hours(row[2], words.code)
        assert shown_age is not None
        assert abs(shown_age - ticket["age_hours"]) <= 0.5
        assert row[3] == words.answered[0 if ticket["answered"] else 1]
    assert sum(o["requested"] for o in data["outcomes"]) == sum(
        o["confirmed"] + o["still_waiting"] + o["given_up"] for o in data["outcomes"]
    )


def test_the_page_is_in_the_support_chats_language_unless_told_another(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_SUPPORT_LANGUAGE", "zh-Hans")
    chinese = asyncio.run(read(write_page(tmp_path, capsys), tmp_path / "profile"))
    told = tmp_path / "told"
    told.mkdir()
    french = asyncio.run(read(write_page(told, capsys, "--lang", "fr"), tmp_path / "profile-fr"))

    assert chinese["headings"] == list(LANGUAGES[2].headings)
    assert french["headings"] == list(LANGUAGES[1].headings)


def test_a_page_of_an_empty_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "none-yet.sqlite3"))
    written = tmp_path / "report.html"
    assert main(["stats", "--html", str(written)]) == 0
    text = written.read_text(encoding="utf-8")
    assert '<b id="started">0</b>' in text
    assert "No request was sent to a seller or carrier in this period." in text
    assert "Nobody stopped yet." in text
