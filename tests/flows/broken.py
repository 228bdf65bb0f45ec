"""The broken-flow corpus: each case is the valid mini flow (cases/valid/) plus a few changes.

A case is one file, ``cases/<name>.yaml``: the problems the validator must report, exactly, and the
changes that break the flow, as text replaced in the base's files (each replaced text must occur there
once, so a change to the base that moves it fails loudly instead of testing something else)::

    expected: |
      flow.yaml:51:36: unknown target 'dnoe' (did you mean 'done'?)
    changes:
      flow.yaml:
      - replace: "{text: support.done, to: done}"
        with: "{text: support.done, to: dnoe}"

A file the base does not have is created by replacing ``''`` with its whole text.
``python -m tests.flows.make_case FOLDER NAME`` writes a broken copy of the base as such a file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["BASE", "BROKEN", "CASES", "BrokenCase", "broken_case"]

CASES = Path(__file__).parent / "cases"
BASE = CASES / "valid"
BROKEN = sorted(path.stem for path in CASES.glob("*.yaml"))


@dataclass(frozen=True, slots=True)
class BrokenCase:
    """A broken flow folder (flow.yaml and locales/, named after the case) and what the validator must say."""

    folder: Path
    expected: list[str]

    @property
    def flow(self) -> Path:
        return self.folder / "flow.yaml"

    @property
    def locales(self) -> Path:
        return self.folder / "locales"


def broken_case(name: str, into: Path, *, base: Path = BASE, cases: Path = CASES) -> BrokenCase:
    """Writes case ``name`` as a flow folder under ``into``: the base with the case's changes made."""
    spec = yaml.safe_load((cases / f"{name}.yaml").read_text(encoding="utf-8"))
    folder = into / name
    shutil.copytree(base, folder)
    for file, changes in dict(spec["changes"]).items():
        target = folder / str(file)
        # A file the base lacks (a facts file, a language's meta file) is written whole: replace '' with it.
        text = target.read_text(encoding="utf-8") if target.exists() else ""
        for change in changes:
            old, new = str(change["replace"]), str(change["with"])
            found = text.count(old)
            assert found == 1, f"cases/{name}.yaml: {file}: {old!r} is in the base {found} times, not once"
            text = text.replace(old, new)
        target.write_text(text, encoding="utf-8")
    return BrokenCase(folder, str(spec["expected"]).splitlines())
