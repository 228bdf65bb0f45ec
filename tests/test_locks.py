"""The locks in requirements/ agree with pyproject.toml, carry hashes, and are what this environment runs.

They are written by ``./scripts/lock``; a failure here usually means a range in pyproject.toml changed
without running it.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
# The platform the locks are resolved for (scripts/lock): CI's and the Docker image's.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux"}
TARGET |= {"platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """Returns each locked package's version and how many hashes it carries."""
    result: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (LOCKS / f"{lock}.txt").read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = str(canonicalize_name(match[1]))
            result[name] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            locked, hashes = result[name]
            result[name] = (locked, hashes + 1)
    return result


def required(extra: str | None) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    items = list(project["dependencies"])
    if extra is not None:
        items += project["optional-dependencies"][extra]
    requirements = [Requirement(item) for item in items]
    return [item for item in requirements if item.marker is None or item.marker.evaluate(TARGET)]


@pytest.mark.parametrize(("lock", "extra"), [("base", None), ("test", "test"), ("bench", "bench")])
def test_each_lock_pins_every_dependency_within_its_range(lock: str, extra: str | None) -> None:
    locked = pins(lock)
    for requirement in required(extra):
        name = str(canonicalize_name(requirement.name))
        assert name in locked, f"requirements/{lock}.txt lacks {requirement}: run ./scripts/lock"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={locked[name][0]}, outside {requirement}: run ./scripts/lock"
        )


def test_every_pin_carries_a_hash_and_the_locks_agree_on_versions() -> None:
    everything = pins("all")
    for lock in ("base", "test", "bench", "build"):
        for name, (locked, hashes) in pins(lock).items():
            assert hashes > 0, f"requirements/{lock}.txt pins {name} without a hash"
            if lock != "build":
                assert everything[name][0] == locked, f"{lock}.txt and all.txt disagree on {name}"


def test_the_build_lock_holds_the_installer_and_the_build_backend() -> None:
    build = pins("build")
    assert "pip" in build
    system = pyproject()["build-system"]
    assert isinstance(system, dict)
    for requirement in map(Requirement, system["requires"]):
        assert requirement.specifier.contains(build[str(canonicalize_name(requirement.name))][0])


def test_this_environment_runs_the_test_lock() -> None:
    stale = {}
    for name, (locked, _) in pins("test").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != locked:
            stale[name] = f"{installed} installed, {locked} locked"
    assert not stale, f"run ./scripts/install test: {stale}"
