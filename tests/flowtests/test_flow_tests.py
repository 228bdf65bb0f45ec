"""The flow-test runner: cases that hold pass, cases that do not print exactly where and why, broken
files get compiler-style problems, and `esim-bot test` exits non-zero on either."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.flows import FlowBundle
from bot.flowtests import RunReport, flow_test_schema_text, load_test_files, run_case_files

HERE = Path(__file__).parent
CASES = HERE / "cases"
BROKEN_DIR = HERE / "broken"
BROKEN = sorted(path.name for path in BROKEN_DIR.iterdir() if path.is_dir())
ROOT = HERE.parents[1]


async def run(path: Path, bundles: dict[str, FlowBundle]) -> RunReport:
    files, problems = load_test_files([path], bundles)
    assert problems == []
    return await run_case_files(files)


def golden(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def mini_env(mini_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points the esim-bot command at the small flow, from the project root."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("BOT_FLOWS_DIR", str(mini_dir / "flows"))
    monkeypatch.setenv("BOT_LOCALES_DIR", str(mini_dir / "locales"))
    monkeypatch.delenv("BOT_DATABASE", raising=False)
    return mini_dir


async def test_cases_that_hold_pass(mini_bundles: dict[str, FlowBundle]) -> None:
    report = await run(CASES / "passing.yaml", mini_bundles)
    assert [result.name for result in report.results if result.failures] == []
    assert report.as_text() == "ok: 7 cases in 1 file"


async def test_cases_that_fail_say_where_what_was_expected_and_what_was_seen(
    mini_bundles: dict[str, FlowBundle],
) -> None:
    report = await run(CASES / "failing.yaml", mini_bundles)
    printed = report.as_text().replace(f"{CASES}/", "").splitlines()
    assert printed == golden(CASES / "failing.expected.txt")
    assert report.failed == 6


async def test_a_case_stops_at_its_first_failing_step(mini_bundles: dict[str, FlowBundle]) -> None:
    report = await run(CASES / "failing.yaml", mini_bundles)
    first = next(result for result in report.results if result.name == "wrong_first_screen")
    assert {problem.message.split(":")[0] for problem in first.failures} == {
        "wrong_first_screen, after /start"
    }


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_test_file_reports_line_column_and_reason(
    name: str, mini_bundles: dict[str, FlowBundle]
) -> None:
    case = BROKEN_DIR / name
    files, problems = load_test_files([case / "cases.yaml"], mini_bundles)
    assert files == []
    assert [str(problem).replace(f"{case}/", "") for problem in problems] == golden(case / "expected.txt")


def test_problems_of_every_file_come_at_once(tmp_path: Path, mini_bundles: dict[str, FlowBundle]) -> None:
    files, problems = load_test_files(
        [BROKEN_DIR / "unknown_flow" / "cases.yaml", BROKEN_DIR / "bad_duration" / "cases.yaml", tmp_path],
        mini_bundles,
    )
    assert files == []
    assert {(problem.path, problem.message) for problem in problems} == {
        (
            BROKEN_DIR / "bad_duration" / "cases.yaml",
            "bad duration '1 day': write a number and a unit, e.g. 30m, 24h, 3d or 1d12h",
        ),
        (
            BROKEN_DIR / "unknown_flow" / "cases.yaml",
            "unknown flow 'mino' (did you mean 'mini'?); the flows are mini",
        ),
        (tmp_path, "no test files (*.yaml) found here"),
    }


def test_the_flow_must_be_named_when_there_are_several(
    tmp_path: Path, mini_bundles: dict[str, FlowBundle]
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  first:\n    language: en\n", encoding="utf-8")
    two = {"mini": mini_bundles["mini"], "other": mini_bundles["mini"]}
    _, problems = load_test_files([cases], two)
    assert [str(problem) for problem in problems] == [
        f"{cases}:1:1: missing field 'flow': say which flow these cases walk (mini, other)"
    ]
    files, problems = load_test_files([cases], mini_bundles)
    assert problems == []
    assert files[0].bundle is mini_bundles["mini"]


def test_esim_bot_test_passes_the_shipped_cases(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("BOT_FLOWS_DIR", "BOT_LOCALES_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert main(["test"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_esim_bot_test_prints_failures_and_exits_non_zero(
    mini_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relative = (CASES / "failing.yaml").relative_to(ROOT)
    assert main(["test", str(relative), str(CASES / "passing.yaml")]) == 1
    printed = capsys.readouterr().out.replace(f"{relative.parent}/", "").splitlines()
    assert printed[:-1] == golden(CASES / "failing.expected.txt")[:-1]
    assert printed[-1] == "6 of 13 cases failed"


def test_esim_bot_test_refuses_broken_files_like_the_validator(
    mini_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(BROKEN_DIR / "unknown_names" / "cases.yaml")]) == 1
    out = capsys.readouterr().out
    assert "unknown_names/cases.yaml:9:25: unknown state 'wating' (did you mean 'waiting'?)" in out
    assert out.rstrip().endswith("5 problems found")


def test_the_shipped_schema_is_generated_from_the_model(tmp_path: Path) -> None:
    target = tmp_path / "tests.schema.json"
    assert main(["test", "--schema", str(target)]) == 0
    shipped = (ROOT / "flows" / "tests" / "tests.schema.json").read_text(encoding="utf-8")
    assert target.read_text(encoding="utf-8") == shipped == flow_test_schema_text(), (
        "run `esim-bot test --schema flows/tests/tests.schema.json` to regenerate it"
    )


@pytest.mark.e2e
def test_the_command_exits_non_zero_on_a_failing_case(mini_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "test", str(CASES / "failing.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"BOT_FLOWS_DIR": str(mini_dir / "flows"), "BOT_LOCALES_DIR": str(mini_dir / "locales")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.replace(f"{CASES}/", "").splitlines() == golden(CASES / "failing.expected.txt")
