"""`esim-bot stats --html`: one page an operator opens or mails, checked in a real headless Chromium."""

from __future__ import annotations

import asyncio
import json
import re
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


def hours(shown: str) -> float | None:
    """Reads a duration as the page shows it ("3 d 4 h", "5 h", "-") in hours."""
    if shown == "-":
        return None
    found = re.fullmatch(r"(?:(\d+) d )?(\d+) h", shown)
    assert found is not None, shown
    return int(found[1] or 0) * 24 + int(found[2])


async def rows(page: PageVisit, table: str) -> list[list[str]]:
    found: list[list[str]] = await page.evaluate(ROWS.format(table=table))
    return found


@pytest.fixture
def page(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The page of the crowded database's last 30 days."""
    written = tmp_path / "report.html"
    assert main(["stats", "--html", str(written)]) == 0
    capsys.readouterr()
    return written


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


def test_the_numbers_on_the_page_are_those_of_stats_json(
    page: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report_json(capsys)
    shown = asyncio.run(read(page, tmp_path / "profile"))
    started, confirmed, period = shown["started"], shown["confirmed"], shown["period"]
    funnel, stops, outcomes = shown["funnel"], shown["stops"], shown["outcomes"]

    assert (int(started), int(confirmed)) == (data["started"], data["confirmed"])
    assert period.startswith(f"{data['since'][:10]} {data['since'][11:16]} to {data['until'][:10]}")
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
            shown_hours = hours(shown_time)
            if exact is None:
                assert shown_hours is None
            else:
                assert shown_hours is not None
                assert abs(shown_hours - exact) <= 0.5
    assert any(o["confirmed"] for o in data["outcomes"]), "the crowd had some requests confirmed"
    tickets = data["tickets"]
    assert shown["tickets"] == (
        f"{tickets['opened']} asked in this period, {tickets['answered']} answered, {tickets['closed']} closed;"
        f" {len(tickets['open'])} open now."
    )
    assert [row[0] for row in shown["open_tickets"]] == [f"#{t['ticket']}" for t in tickets["open"]]
    for row, ticket in zip(shown["open_tickets"], tickets["open"], strict=True):
        shown_age = hours(row[2])
        assert shown_age is not None
        assert abs(shown_age - ticket["age_hours"]) <= 0.5
        assert row[3] == ("yes" if ticket["answered"] else "not yet")
    assert sum(o["requested"] for o in data["outcomes"]) == sum(
        o["confirmed"] + o["still_waiting"] + o["given_up"] for o in data["outcomes"]
    )


def test_a_page_of_an_empty_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "none-yet.sqlite3"))
    written = tmp_path / "report.html"
    assert main(["stats", "--html", str(written)]) == 0
    text = written.read_text(encoding="utf-8")
    assert '<b id="started">0</b>' in text
    assert "No request was sent to a provider in this period." in text
    assert "Nobody stopped yet." in text
