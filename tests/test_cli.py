"""The esim-bot command as operators use it: validate, diagram, schema, stats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from bot.runtime.service import ChatService, Incoming, Kind
from bot.store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "flows" / "cases"


@pytest.fixture(autouse=True)
def in_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("BOT_DATABASE", "BOT_FLOWS_DIR", "BOT_LOCALES_DIR", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_validate_passes_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_validate_fails_with_compiler_style_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["validate", str(CASES / "dead_end" / "flow.yaml"), "--locales", str(CASES / "dead_end" / "locales")]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "dead_end/flow.yaml:56:3: state 'thanks' is not final and has no way out" in out
    assert out.rstrip().endswith("problems found")


def test_diagram_writes_mermaid_with_every_state_and_button(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "flow.mmd"
    assert main(["diagram", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("---\nStop paying for a line")
    assert "stateDiagram-v2" in text
    assert "start --> identify: Let's start" in text
    assert "thanks --> [*]" in text
    assert "waiting --> no_reply: confirm_email x7" in text
    assert main(["diagram", "--lang", "fr"]) == 0
    assert "start --> identify: C'est parti" in capsys.readouterr().out or "start --> identify" in text


def test_diagram_refuses_images_without_graphviz_or_draws_them(tmp_path: Path) -> None:
    from bot.diagram import graphviz_available

    status = main(["diagram", "-o", str(tmp_path / "flow.svg")])
    assert status == (0 if graphviz_available() else 1)


def test_schema_is_written_where_asked(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == (ROOT / "flows" / "flow.schema.json").read_text(
        encoding="utf-8"
    )


def test_stats_counts_reached_states_drop_off_and_confirmations(
    tmp_path: Path,
    default_bundle: FlowBundle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "bot.sqlite3"

    async def two_people() -> None:
        clock = FakeClock(datetime.now(UTC) - timedelta(days=1))
        async with SqliteStore(database) as store:
            service = ChatService(FlowEngine(default_bundle), store, clock)
            for chat_id in (1, 2):
                await service.handle(Incoming(chat_id, Kind.COMMAND, command="start"))
            screen = service.engine.render((await store.load_chat(1)).conversation)  # type: ignore[union-attr]
            await service.handle(Incoming(1, Kind.BUTTON, data=screen.rows[0][0].data))

    asyncio.run(two_people())
    monkeypatch.setenv("BOT_DATABASE", str(database))
    assert main(["stats", "--since", "7d", "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    states = {row["state"]: row for row in report["states"]}
    assert report["started"] == 2
    assert states["start"]["reached"] == 2
    assert states["start"]["stopped_here"] == 1
    assert states["identify"]["stopped_here"] == 1
    assert main(["stats"]) == 0
    assert "Conversations started: 2" in capsys.readouterr().out
