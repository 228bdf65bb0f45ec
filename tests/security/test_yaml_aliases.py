"""A YAML alias bomb ("billion laughs") in a flow or locale file is refused at once, at its file:line, by the
same `esim-bot validate` operators run: it never expands."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "flows" / "cases" / "valid"

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded.
BOMB = "\n".join(
    ["lol: &l0 [lol]"] + [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
)


def _copy_valid(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(VALID, tmp_path / "case")
    return tmp_path / "case" / "flow.yaml", tmp_path / "case" / "locales"


@pytest.mark.parametrize("where", ["flow", "locale"])
def test_an_alias_bomb_is_refused_quickly_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    flow, locales = _copy_valid(tmp_path)
    target = flow if where == "flow" else locales / "fr.yaml"
    lines = target.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([*lines, BOMB, ""]), encoding="utf-8")
    first_alias_line = len(lines) + 2  # the line of lol1, whose first alias is at column 12

    started = time.monotonic()
    status = main(["validate", str(flow), "--locales", str(locales)])
    elapsed = time.monotonic() - started

    out = capsys.readouterr().out
    assert status == 1
    assert elapsed < 5, f"validation took {elapsed:.1f}s: the aliases were expanded"
    assert f"{target}:{first_alias_line}:12: YAML alias '*l0' is not allowed: write the value out" in out


def test_a_single_alias_is_refused_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow, locales = _copy_valid(tmp_path)
    text = flow.read_text(encoding="utf-8").replace("title: ", "title: &title ", 1)
    flow.write_text(text + "extra_title: *title\n", encoding="utf-8")
    assert main(["validate", str(flow), "--locales", str(locales)]) == 1
    out = capsys.readouterr().out
    line = len(text.splitlines()) + 1
    assert f"{flow}:{line}:14: YAML alias '*title' is not allowed: write the value out" in out
