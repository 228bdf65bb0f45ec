"""Writes a broken flow folder as a case of the corpus: ``python -m tests.flows.make_case FOLDER NAME``.

Break a copy of ``tests/flows/cases/valid`` (flow.yaml and locales/, any file added), then run this: it
writes ``tests/flows/cases/NAME.yaml`` with the problems the validator reports now (check them!) and the
changes from the base, each whole lines of text found once in the base.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.flows import FlowValidationError, load_bundle
from tests.flows.broken import BASE, CASES


def replacements(base: str, broken: str) -> list[dict[str, str]]:
    """Returns the changes that turn ``base`` into ``broken``, as whole lines each found once in ``base``."""
    old, new = base.splitlines(keepends=True), broken.splitlines(keepends=True)
    found: list[dict[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, start, end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        first, last = (start - 1, end) if start == end else (start, end)
        while base.count("".join(old[first:last])) != 1 or not "".join(old[first:last]):
            last += 1  # widened with the lines after it until it is found once
        replaced = "".join(old[first:start]) + "".join(new[new_start:new_end]) + "".join(old[end:last])
        found.append({"replace": "".join(old[first:last]), "with": replaced})
    return found


def case_of(folder: Path) -> dict[str, object]:
    """Returns the case that ``folder`` (a broken copy of the base) is."""
    changes: dict[str, list[dict[str, str]]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        text = path.read_text(encoding="utf-8")
        if not (BASE / name).is_file():
            changes[name] = [{"replace": "", "with": text}]  # a file the base lacks, written whole
        elif found := replacements((BASE / name).read_text(encoding="utf-8"), text):
            changes[name] = found
    try:
        load_bundle(folder / "flow.yaml", folder / "locales")
        expected = ""
    except FlowValidationError as exc:
        expected = "".join(f"{str(p).replace(f'{folder}/', '')}\n" for p in exc.problems)
    return {"expected": expected, "changes": changes}


class _CaseDumper(yaml.SafeDumper):
    """Writes texts of several lines as blocks, so that a case reads like the files it changes."""


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_CaseDumper.add_representer(str, _block)


def main(argv: Sequence[str]) -> int:
    """Writes the case file; returns 0."""
    folder, name = Path(argv[0]), argv[1]
    text = yaml.dump(case_of(folder), Dumper=_CaseDumper, allow_unicode=True, sort_keys=False, width=200)
    (CASES / f"{name}.yaml").write_text(text, encoding="utf-8")
    print(f"wrote {CASES / name}.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
