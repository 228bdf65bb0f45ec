"""The esim-bot command as operators use it: validate, diagram, schema, stats."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
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
from tests.flows.broken import broken_case

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "flows" / "cases"


@pytest.fixture(autouse=True)
def in_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in list(os.environ):
        if name.startswith(("BOT_", "TELEGRAM_")):
            monkeypatch.delenv(name)


def test_validate_passes_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_validate_fails_with_compiler_style_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = broken_case("dead_end", tmp_path)
    status = main(["validate", str(case.flow), "--locales", str(case.locales)])
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
            first_screens = [
                await service.handle(CommandSent(chat_id, command="start")) for chat_id in (1, 2)
            ]
            (lets_start,) = [
                button.data
                for queued in first_screens[0].messages
                for row in queued.message.rows
                for button in row
                if button.data and button.data.endswith("|go")
            ]
            await service.handle(ButtonPressed(1, data=lets_start))

    asyncio.run(two_people())
    monkeypatch.setenv("BOT_DATABASE", str(database))
    assert main(["stats", "--since", "7d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    states = {row["state"]: row for row in report["states"]}
    assert report["started"] == 2
    assert states["start"]["reached"] == 2
    assert states["start"]["stopped_here"] == 1
    assert states["identify"]["stopped_here"] == 1
    assert main(["stats"]) == 0
    assert "Conversations started: 2" in capsys.readouterr().out


def fresh_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Works in a copy of the flows and texts with no data/ folder, as a fresh clone has."""
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_stats_on_a_fresh_checkout_prints_an_empty_report_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = fresh_checkout(tmp_path, monkeypatch)
    before = sorted(path.name for path in checkout.iterdir())
    assert main(["stats"]) == 0
    printed = capsys.readouterr()
    assert "Conversations started: 0; confirmed by the provider: 0" in printed.out
    assert "(no conversations in this period)" in printed.out
    assert printed.err == "(no database at data/esim-bot.sqlite3 yet: nothing to count)\n"
    assert not (checkout / "data").exists()
    assert sorted(path.name for path in checkout.iterdir()) == before


def test_stats_on_an_empty_database_file_prints_an_empty_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("BOT_DATABASE", str(empty))
    assert main(["stats", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["started"] == 0
    assert report["states"] == []


def test_stats_on_a_folder_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path))
    assert main(["stats"]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == (
        f"esim-bot: cannot open the database {tmp_path} (BOT_DATABASE): it is a folder; BOT_DATABASE names "
        f"the file, e.g. {tmp_path / 'esim-bot.sqlite3'}\n"
    )


def test_an_explicit_locales_folder_wins_over_one_beside_the_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = fresh_checkout(tmp_path, monkeypatch)
    # A stray locales/ beside flows/ with a text missing: guessed, it fails; named, the good one is used.
    english = checkout / "locales" / "en.yaml"
    english.write_text(english.read_text(encoding="utf-8").replace('  go: "Let\'s start"\n', ""), "utf-8")
    assert main(["validate", "flows"]) == 1
    assert "start.go" in capsys.readouterr().out
    monkeypatch.setenv("BOT_LOCALES_DIR", str(ROOT / "locales"))
    assert main(["validate", "flows"]) == 0
    assert capsys.readouterr().out == "ok: flows\n"


def test_a_setting_that_does_not_parse_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_IDLE_DAYS", "soon")
    assert main(["stats"]) == 2
    assert capsys.readouterr().err == (
        "esim-bot: BOT_IDLE_DAYS: Input should be a valid integer, unable to parse string as an integer "
        "(got 'soon')\n"
    )


def test_facts_report_lists_where_each_claim_is_said_and_the_unused_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["facts", "--report"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("esim-new-caledonia.md (version 3): 315 claims,")
    # A provider's field is said on every screen that shows it, in every language.
    ubigi = out.index("ubigi.refund.condition (conflicting)")
    assert (
        out[ubigi + 1] == "  travel_request: provider.ubigi.refund [en, fr, zh-Hans] (reported, not stated)"
    )
    opt = out.index("opt.line.physical (likely, derived)")
    assert out[opt + 1] == "  opt_line: opt_line.text [en, fr, zh-Hans]"
    unused = out[out.index(next(line for line in out if line.startswith("claims no screen uses"))) + 1 :]
    assert "  opt.2g.off (sure)" in unused
    assert "  opt.line.physical (likely)" not in unused


def test_facts_without_report_summarises_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["facts"]) == 0
    assert "version 3, 315 claims (168 sure" in capsys.readouterr().out


def test_facts_report_names_a_providers_field_only_where_that_provider_can_be(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["facts", "--report"]) == 0
    out = capsys.readouterr().out.splitlines()
    airalo = out.index("airalo.refund.button (sure)")
    # Airalo's how-to shows on the refund request; the carriers' request screen has the same placeholder,
    # but no conversation reaches it with Airalo chosen.
    assert out[airalo + 1] == "  travel_request: provider.airalo.how_to [en, fr, zh-Hans]"
    assert not out[airalo + 2].startswith("  home_request")
