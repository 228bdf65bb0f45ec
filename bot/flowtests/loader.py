"""Loads flow-test files and reports every problem of every file at once, like the flow validator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bot.flows import FlowBundle, Problem
from bot.flows.errors import did_you_mean
from bot.flows.loader import schema_problems
from bot.flows.yamlsource import Located, parse_yaml
from bot.flowtests.model import FIELDS, Expect, FlowCase, FlowTestFile

__all__ = ["CaseFile", "load_test_files"]


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A valid flow-test file, the flow its cases walk, and where each of its values is written."""

    path: Path
    located: Located
    tests: FlowTestFile
    bundle: FlowBundle


def load_test_files(
    paths: Iterable[Path], bundles: Mapping[str, FlowBundle]
) -> tuple[list[CaseFile], list[Problem]]:
    """Loads test files (or folders of ``*.yaml`` ones) for ``bundles``; returns them and every problem."""
    files: list[CaseFile] = []
    problems: list[Problem] = []
    for given in paths:
        found = sorted(given.glob("*.yaml")) if given.is_dir() else [given]
        if not found:
            problems.append(Problem(given, 1, 1, "no test files (*.yaml) found here"))
        for path in found:
            loaded, more = _load(path, bundles)
            problems += more
            if loaded is not None:
                files.append(loaded)
    return files, sorted(problems)


def _load(path: Path, bundles: Mapping[str, FlowBundle]) -> tuple[CaseFile | None, list[Problem]]:
    located, problems = parse_yaml(path)
    if located is None:
        return None, problems
    try:
        tests = FlowTestFile.model_validate(located.data)
    except ValidationError as exc:
        return None, problems + schema_problems(located, exc, FIELDS)
    bundle, problem = _bundle(located, tests, bundles)
    if bundle is None:
        return None, [*problems, problem] if problem else problems
    for name, case in tests.cases.items():
        problems += _case_problems(located, bundle, name, case)
    if problems:
        return None, problems
    return CaseFile(path, located, tests, bundle), []


def _bundle(
    located: Located, tests: FlowTestFile, bundles: Mapping[str, FlowBundle]
) -> tuple[FlowBundle | None, Problem | None]:
    if tests.flow is not None:
        if tests.flow in bundles:
            return bundles[tests.flow], None
        known = ", ".join(sorted(bundles))
        message = f"unknown flow '{tests.flow}'{did_you_mean(tests.flow, bundles)}; the flows are {known}"
        return None, located.problem(("flow",), message)
    if len(bundles) == 1:
        return next(iter(bundles.values())), None
    known = ", ".join(sorted(bundles))
    return None, located.problem((), f"missing field 'flow': say which flow these cases walk ({known})")


def _case_problems(located: Located, bundle: FlowBundle, name: str, case: FlowCase) -> list[Problem]:
    """Checks what a case names against the flow: its language, deep link, states and reminders."""
    flow = bundle.flow
    here: tuple[str | int, ...] = ("cases", name)
    problems: list[Problem] = []
    languages = bundle.texts.languages
    if case.language not in languages:
        problems.append(
            located.problem(
                (*here, "language"),
                f"unknown language '{case.language}'{did_you_mean(case.language, languages)};"
                f" the texts are in {', '.join(languages)}",
            )
        )
    if case.deep_link is not None and case.deep_link not in flow.deep_links:
        problems.append(
            located.problem(
                (*here, "deep_link"),
                f"unknown deep link '{case.deep_link}'{did_you_mean(case.deep_link, flow.deep_links)}",
            )
        )
    expectations = [((*here, "expect"), case.expect)]
    expectations += [
        ((*here, "steps", index, "expect"), step.expect) for index, step in enumerate(case.steps)
    ]
    for at, expect in expectations:
        if expect is not None:
            problems += _expect_problems(located, bundle, at, expect)
    return problems


def _expect_problems(
    located: Located, bundle: FlowBundle, at: tuple[str | int, ...], expect: Expect
) -> list[Problem]:
    flow = bundle.flow
    problems: list[Problem] = []
    if expect.state is not None and expect.state not in flow.states:
        problems.append(
            located.problem(
                (*at, "state"), f"unknown state '{expect.state}'{did_you_mean(expect.state, flow.states)}"
            )
        )
    for index, reminder in enumerate(expect.reminders or ()):
        if reminder not in flow.reminders:
            problems.append(
                located.problem(
                    (*at, "reminders", index),
                    f"unknown reminder '{reminder}'{did_you_mean(reminder, flow.reminders)}",
                )
            )
    return problems
