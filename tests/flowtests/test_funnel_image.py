"""`esim-bot stats --draw` draws the flow with its funnel on it, rendered by the real Graphviz."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.events import ButtonPressed, CommandSent
from bot.runtime.service import ChatService
from bot.store import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
_NODE = re.compile(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>(.*?)</g>', re.DOTALL)
_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def nodes(svg: str) -> dict[str, list[str]]:
    """Returns each drawn state with the lines written in its box."""
    return {name: _TEXT.findall(body) for name, body in _NODE.findall(svg)}


async def three_people(database: Path, bundle: FlowBundle) -> None:
    """Three start; two follow the Airalo link to the request screen; one of them says it is sent."""
    clock = FakeClock(datetime.now(UTC) - timedelta(days=1))
    async with SqliteStore(database) as store:
        service = ChatService(FlowEngine(bundle), store, clock)
        await service.handle(CommandSent(3, command="start"))
        request = await service.handle(CommandSent(1, command="start", argument="airalo"))
        await service.handle(CommandSent(2, command="start", argument="airalo"))
        rows = request.messages[0].message.rows
        sent = next(button.data for row in rows for button in row if button.label == "I've sent it")
        assert sent is not None
        await service.handle(ButtonPressed(1, data=sent))


@pytest.fixture
def database(
    tmp_path: Path, mini_dir: Path, mini_bundles: dict[str, FlowBundle], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A database of the small flow with three conversations in it, which the esim-bot command reads."""
    path = tmp_path / "bot.sqlite3"
    asyncio.run(three_people(path, mini_bundles["mini"]))
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("BOT_DATABASE", str(path))
    monkeypatch.setenv("BOT_FLOWS_DIR", str(mini_dir / "flows"))
    monkeypatch.setenv("BOT_LOCALES_DIR", str(mini_dir / "locales"))
    return path


def test_the_drawn_funnel_titles_each_screen_reached_with_how_many_reached_and_stopped_there(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drawing = tmp_path / "funnel.svg"
    assert main(["stats", "--since", "7d", "--draw", str(drawing)]) == 0
    assert "Conversations started: 3" in capsys.readouterr().out, "the table is printed as before"
    svg = drawing.read_text(encoding="utf-8")
    # Titles are the screens' first lines without markup; a placeholder is filled per person, so "…".
    assert nodes(svg) == {
        "welcome": ["Hello. Which eSIM?", "3 in, 1 stopped"],
        "request": ["Ask … for a", "refund: …", "2 in, 1 stopped"],
        "waiting": ["Waiting for the", "email.", "1 in, 1 stopped"],
    }
    # The guide is named as its first screen names it, in the operator's language (not the flow's English title).
    assert "Hello. Which eSIM?: 2026" in svg
    assert "3 started, 0 confirmed" in svg
    assert "3 screens nobody reached" in svg


def test_the_titles_and_counts_are_in_the_language_asked_for(database: Path, tmp_path: Path) -> None:
    drawing = tmp_path / "funnel.svg"
    assert main(["stats", "--lang", "fr", "--draw", str(drawing)]) == 0
    assert nodes(drawing.read_text(encoding="utf-8"))["welcome"] == [
        "Bonjour. Quelle",
        "eSIM ?",
        "3 arrivées, 1 arrêtées",
    ]


def test_a_png_is_drawn_too(database: Path, tmp_path: Path) -> None:
    drawing = tmp_path / "funnel.png"
    assert main(["stats", "--draw", str(drawing)]) == 0
    assert drawing.read_bytes().startswith(b"\x89PNG")


def test_the_drawing_must_be_an_image(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--draw", str(tmp_path / "funnel.txt")]) == 2
    assert "name it .svg or .png" in capsys.readouterr().err
