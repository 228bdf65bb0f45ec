"""Loads a flow and its texts, and reports every problem of every file at once, like a compiler."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.flows import model as m
from bot.flows.checks import VERSION_LENGTH, Limits, UiText, button_data, check_flow
from bot.flows.checks.schema import schema_problems
from bot.flows.claims import check_claims
from bot.flows.drift import drift_problems
from bot.flows.errors import FlowValidationError, Problem
from bot.flows.languages import Languages, load_languages
from bot.flows.texts import Texts, load_locale_files
from bot.flows.words import check_words
from bot.flows.yamlsource import parse_yaml

__all__ = [
    "FlowBundle",
    "Limits",
    "UiText",
    "button_data",
    "load_bundle",
    "load_flows",
    "schema_problems",
    "validate_paths",
]


@dataclass(frozen=True, slots=True)
class FlowBundle:
    """A validated flow, its texts and its version: everything the engine needs, immutable."""

    flow: m.Flow
    texts: Texts
    version: str
    path: Path
    languages: Languages


def flow_version(flow: m.Flow) -> str:
    """Returns a short hash of the flow's structure: what its buttons mean, not how its texts read.

    Titles, text keys' wording, provider facts and the claims they cite are left out, so an operator who
    re-checks a fact or rewords a screen does not make every button in every chat out of date.
    """
    structure = flow.model_dump(
        mode="json",
        include={"id", "start", "variables", "checklist", "reminders", "deep_links", "states"},
        # Declared moves say where people go after a reload: they change no button's meaning.
        exclude={
            "states": {"__all__": {"claims", "text", "moved_from"}},
            "reminders": {"__all__": {"moved_from", "claims"}},
        },
    )
    canonical = json.dumps(structure, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:VERSION_LENGTH]


def _expand_action_groups(flow: m.Flow) -> m.Flow:
    """Returns the flow with every ``{run: group}`` replaced by the group's actions, so the engine never sees one."""
    if not flow.actions:
        return flow
    data = flow.model_dump(by_alias=True)
    groups = data["actions"]

    def expand(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            item for action in actions for item in (groups[action["run"]] if "run" in action else [action])
        ]

    for state in data["states"].values():
        state["on_enter"] = expand(state["on_enter"])
        for row in state["buttons"]:
            for button in row:
                if "do" in button:
                    button["do"] = expand(button["do"])
    for link in data["deep_links"].values():
        link["do"] = expand(link["do"])
    return m.Flow.model_validate(data)


def load_bundle(
    flow_path: Path,
    locales_dir: Path,
    *,
    limits: Limits | None = None,
    ui_texts: Iterable[UiText] = (),
) -> FlowBundle:
    """Loads and validates one flow with its texts; raises FlowValidationError listing every problem."""
    limits = limits or Limits()
    locales, problems = load_locale_files(locales_dir)
    languages, found = load_languages(locales_dir, [f.language for f in locales])
    problems += found
    located, found = parse_yaml(flow_path)
    problems += found
    if located is None:
        raise FlowValidationError(problems)
    try:
        flow = m.Flow.model_validate(located.data)
    except ValidationError as exc:
        raise FlowValidationError(problems + schema_problems(located, exc)) from None
    default = languages.default if languages is not None else None
    problems += check_flow(located, flow, locales, limits, tuple(ui_texts), default)
    problems += check_claims(located, flow, locales, languages)
    if languages is not None:
        names = [provider.name for provider in flow.providers.values()]
        hedges = {language: meta.hedges for language, meta in languages.meta.items()}
        aliases = {language: meta.names for language, meta in languages.meta.items()}
        problems += drift_problems(locales, languages.default, names, hedges, aliases)
    problems += check_words(flow, locales_dir, languages)
    if problems or languages is None:
        raise FlowValidationError(problems)
    flow = _expand_action_groups(flow)
    texts = Texts({f.language: f.texts for f in locales})
    return FlowBundle(flow, texts, flow_version(flow), flow_path, languages)


def load_flows(
    flows_dir: Path,
    locales_dir: Path,
    *,
    limits: Limits | None = None,
    ui_texts: Iterable[UiText] = (),
) -> dict[str, FlowBundle]:
    """Loads every flows/*.yaml; raises FlowValidationError with the problems of all of them."""
    bundles: dict[str, FlowBundle] = {}
    problems: list[Problem] = []
    paths = sorted(flows_dir.glob("*.yaml"))
    if not paths:
        problems.append(Problem(flows_dir, 1, 1, "no flow files (*.yaml) found here"))
    ui = tuple(ui_texts)
    for path in paths:
        try:
            bundle = load_bundle(path, locales_dir, limits=limits, ui_texts=ui)
        except FlowValidationError as exc:
            problems += [p for p in exc.problems if p not in problems]
            continue
        if bundle.flow.id in bundles:
            problems.append(
                Problem(
                    path,
                    1,
                    1,
                    f"duplicate id: flow '{bundle.flow.id}' is also defined in {bundles[bundle.flow.id].path}",
                )
            )
        bundles[bundle.flow.id] = bundle
    if problems:
        raise FlowValidationError(problems)
    return bundles


def validate_paths(
    paths: Iterable[Path], locales_dir: Path, *, limits: Limits | None = None, ui_texts: Iterable[UiText] = ()
) -> list[Problem]:
    """Validates flow files (or folders of them); returns every problem found, empty when all is well."""
    problems: list[Problem] = []
    ui = tuple(ui_texts)
    for path in paths:
        try:
            if path.is_dir():
                load_flows(path, locales_dir, limits=limits, ui_texts=ui)
            else:
                load_bundle(path, locales_dir, limits=limits, ui_texts=ui)
        except FlowValidationError as exc:
            problems += [p for p in exc.problems if p not in problems]
    return sorted(problems)


def known_locations(bundle: FlowBundle) -> Mapping[str, Any]:
    """Returns the flow as plain data (for diagrams and schema tooling)."""
    return bundle.flow.model_dump(mode="json")
