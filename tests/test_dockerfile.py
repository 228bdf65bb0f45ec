"""The Dockerfile, read with a real Dockerfile parser (no Docker engine runs here)."""

from __future__ import annotations

import json
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return [(item["instruction"], item["value"]) for item in parser.structure]


def test_it_builds_on_a_slim_python_base() -> None:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    assert parser.baseimage.startswith("python:3.11")
    assert parser.baseimage.endswith("-slim")


def test_it_runs_as_a_non_root_user_with_a_data_volume() -> None:
    steps = instructions()
    users = [value for instruction, value in steps if instruction == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    volumes = [value for instruction, value in steps if instruction == "VOLUME"]
    assert any("/data" in value for value in volumes)
    env = " ".join(value for instruction, value in steps if instruction == "ENV")
    assert "BOT_DATABASE=/data/" in env


def test_it_has_time_zone_data() -> None:
    runs = " ".join(value for instruction, value in instructions() if instruction == "RUN")
    assert "tzdata" in runs
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"tzdata' in pyproject


def test_its_command_is_esim_bot_run() -> None:
    (command,) = [value for instruction, value in instructions() if instruction == "CMD"]
    assert json.loads(command)[-2:] == ["esim-bot", "run"] or json.loads(command)[-1:] == ["run"]
    assert json.loads(command)[0].endswith("esim-bot")


def test_it_installs_with_the_same_script_as_the_readme() -> None:
    runs = [value for instruction, value in instructions() if instruction == "RUN"]
    assert "./scripts/install" in runs
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_commands = [line for line in readme.splitlines() if line.startswith(("./scripts/", "git clone"))][
        :2
    ]
    assert any("./scripts/install" in line for line in first_commands)
    copied = " ".join(value for instruction, value in instructions() if instruction == "COPY")
    for needed in ("pyproject.toml", "scripts", "bot", "flows", "locales"):
        assert needed in copied
