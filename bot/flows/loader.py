"""Loads a flow and its texts, and reports every problem of every file at once, like a compiler."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.callbacks import MAX_STEP_DIGITS, FlowPress
from bot.flows import model as m
from bot.flows.budget import display_lines, display_width
from bot.flows.errors import FlowValidationError, Problem, did_you_mean
from bot.flows.graph import PRESSES, REMINDER_TRIGGERS, Edge, Location, Trigger, edges
from bot.flows.languages import Languages, load_languages
from bot.flows.texts import PLACEHOLDER, LocaleFile, Texts, html_problems, load_locale_files, placeholders
from bot.flows.urls import url_problems
from bot.flows.yamlsource import Located, parse_yaml

__all__ = [
    "FlowBundle",
    "Limits",
    "button_data",
    "load_bundle",
    "load_flows",
    "schema_problems",
    "validate_paths",
]

VERSION_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Limits:
    """What the messenger allows; the Telegram edge passes Telegram's own constants."""

    callback_data_bytes: int = 64
    text_characters: int = 4096
    copy_text_characters: int = 256


@dataclass(frozen=True, slots=True)
class UiText:
    """A text the runtime itself needs (not referenced by the flow), with the placeholders it may use."""

    key: str
    placeholders: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FlowBundle:
    """A validated flow, its texts and its version: everything the engine needs, immutable."""

    flow: m.Flow
    texts: Texts
    version: str
    path: Path
    languages: Languages


def button_data(version: str, step: int, state: str, button: str) -> str:
    """Returns the callback data of a flow button, unchecked (the codec in bot.callbacks owns its form)."""
    return FlowPress(version, step, state, button).wire


def flow_version(flow: m.Flow) -> str:
    """Returns a short hash of the flow's structure: what its buttons mean, not how its texts read.

    Titles, text keys' wording, provider facts and their sources are left out, so an operator who
    re-checks a fact or rewords a screen does not make every button in every chat out of date.
    """
    structure = flow.model_dump(
        mode="json",
        include={"id", "start", "variables", "checklist", "reminders", "deep_links", "states"},
        # Declared moves say where people go after a reload: they change no button's meaning.
        exclude={
            "states": {"__all__": {"sources", "text", "moved_from"}},
            "reminders": {"__all__": {"moved_from"}},
        },
    )
    canonical = json.dumps(structure, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:VERSION_LENGTH]


_ALL_FIELDS = sorted(
    {
        name
        for model in vars(m).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name in model.model_fields
    }
)


def _resolve(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drops the union tags pydantic puts in an error's location, keeping the path into the YAML data."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _schema_message(error: Any, value: Any, fields: Sequence[str]) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = loc[-1] if loc else ""
    if kind == "missing":
        return f"missing field '{name}'"
    if kind == "extra_forbidden":
        return f"unknown field '{name}'{did_you_mean(str(name), fields)}"
    if kind == "unknown_action":
        key = next(iter(value), "") if isinstance(value, dict) else value
        return f"unknown action '{key}'{did_you_mean(str(key), m.ACTION_NAMES)}; actions: {', '.join(m.ACTION_NAMES)}"
    if kind == "unknown_button":
        keys = ", ".join(map(str, value)) if isinstance(value, dict) else repr(value)
        return f"a button needs exactly one of to, url, toggle, links or copy (found: {keys})"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        if pattern == m.ID_PATTERN:
            return f"{value!r} is not a valid id: use lowercase letters, digits and _, starting with a letter"
        if pattern == m.TEXT_KEY_PATTERN:
            return f"{value!r} is not a text key: write dotted lowercase words, e.g. welcome.text"
        if "https" in pattern:
            return f"{value!r} is not an https:// (or tg://) address"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {value!r})" if not isinstance(value, dict | list) else str(error["msg"])


def schema_problems(
    located: Located, exc: ValidationError, fields: Sequence[str] = _ALL_FIELDS
) -> list[Problem]:
    """Returns a YAML file's schema errors as problems at their line and column; ``fields`` are the
    format's field names, for did-you-mean on an unknown one."""
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        resolved = _resolve(located.data, loc)
        grouped.setdefault(resolved, []).append(error)
    problems: list[Problem] = []
    for path, errors in grouped.items():
        # In a union (a state id or a list of branches) the member that went deeper explains the mistake.
        deeper = any(other[: len(path)] == path and len(other) > len(path) for other in grouped)
        specific = [e for e in errors if not str(e["type"]).endswith("_type")]
        if not specific:
            if deeper:
                continue
            specific = errors[:1]
        seen: set[str] = set()
        for error in specific:
            # A mapping's key that breaks its pattern (a state or case name) is reported at the key.
            on_key = tuple(error["loc"])[-1:] == ("[key]",)
            value = path[-1] if on_key and path else _value_at(located.data, path)
            message = _schema_message(error, value, fields)
            if message not in seen:
                seen.add(message)
                at_key = on_key or error["type"] == "extra_forbidden"
                problems.append(located.problem(path, message, key=at_key))
    return problems


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@dataclass(slots=True)
class _Checker:
    """Cross-reference checks on a flow that passed the schema."""

    located: Located
    flow: m.Flow
    locales: list[LocaleFile]
    limits: Limits
    ui_texts: tuple[UiText, ...]
    default_language: str | None = None
    problems: list[Problem] = field(default_factory=list)
    text_refs: list[tuple[str, tuple[str | int, ...]]] = field(default_factory=list)

    def report(self, location: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(location, message, key=key))

    # -- references -------------------------------------------------------------------------------

    def state_ref(self, name: str, location: tuple[str | int, ...], what: str = "target") -> None:
        if name not in self.flow.states:
            self.report(location, f"unknown {what} '{name}'{did_you_mean(name, self.flow.states)}")

    def table_variables(self) -> dict[str, str]:
        return {name: v.table for name, v in self.flow.variables.items() if v.table}

    def provider_text_fields(self) -> set[str]:
        """Returns the text fields a provider row may have: the built-in ones and every ``texts:`` name."""
        extra = {name for provider in self.flow.providers.values() for name in provider.texts}
        return set(m.PROVIDER_TEXT_FIELDS) | extra

    def known_placeholders(self) -> set[str]:
        known = set(self.flow.variables)
        fields = self.provider_text_fields() | m.PROVIDER_PLAIN_FIELDS
        for name in self.table_variables():
            known |= {f"{name}.{f}" for f in fields}
        return known

    def variable_path(self, path: str, location: tuple[str | int, ...]) -> None:
        variable, _, attribute = path.partition(".")
        if variable not in self.flow.variables:
            self.report(
                location, f"unknown variable '{variable}'{did_you_mean(variable, self.flow.variables)}"
            )
            return
        if attribute and not self.flow.variables[variable].table:
            self.report(location, f"variable '{variable}' is not a table row, so it has no '.{attribute}'")
        elif attribute:
            fields = m.PROVIDER_PLAIN_FIELDS | self.provider_text_fields()
            if attribute not in fields:
                self.report(
                    location, f"providers have no field '{attribute}'{did_you_mean(attribute, fields)}"
                )

    def variable_value(self, name: str, value: str | None, location: tuple[str | int, ...]) -> None:
        variable = self.flow.variables.get(name)
        if variable is None or value is None:
            return
        allowed: Iterable[str] | None = variable.values
        if variable.table == "providers":
            allowed = self.flow.providers
        if allowed is not None and value not in allowed:
            self.report(location, f"'{value}' is not a value of '{name}'{did_you_mean(value, allowed)}")

    def condition(self, condition: m.Condition | None, location: tuple[str | int, ...]) -> None:
        for path, expected in (condition or {}).items():
            self.variable_path(path, (*location, path))
            variable, _, attribute = path.partition(".")
            values = expected if isinstance(expected, list) else [expected]
            for value in values:
                if attribute == "kind" and value is not None:
                    kinds = m.PROVIDER_KINDS
                    if value not in kinds:
                        self.report(
                            (*location, path), f"'{value}' is not a provider kind{did_you_mean(value, kinds)}"
                        )
                elif not attribute:
                    self.variable_value(variable, value, (*location, path))

    def actions(
        self, actions: list[m.Action], location: tuple[str | int, ...], *, in_group: bool = False
    ) -> None:
        for index, action in enumerate(actions):
            here = (*location, index)
            if isinstance(action, m.RunAction):
                if in_group:
                    self.report(here, f"an action group cannot run another group ('{action.run}')")
                elif action.run not in self.flow.actions:
                    self.report(
                        (*here, "run"),
                        f"unknown action group '{action.run}'{did_you_mean(action.run, self.flow.actions)}",
                    )
            elif isinstance(action, m.SetAction):
                for name, value in action.set.items():
                    if name not in self.flow.variables:
                        self.report(
                            (*here, "set", name),
                            f"unknown variable '{name}'{did_you_mean(name, self.flow.variables)}",
                            key=True,
                        )
                    else:
                        self.variable_value(name, value, (*here, "set", name))
            elif isinstance(action, m.ToggleAction | m.CheckAction | m.UncheckAction):
                if isinstance(action, m.ToggleAction):
                    item = action.toggle
                elif isinstance(action, m.CheckAction):
                    item = action.check
                else:
                    item = action.uncheck
                if item not in self.flow.checklist:
                    self.report(
                        here, f"unknown checklist item '{item}'{did_you_mean(item, self.flow.checklist)}"
                    )
            elif isinstance(action, m.ScheduleAction | m.CancelAction):
                name = action.schedule if isinstance(action, m.ScheduleAction) else action.cancel
                if name not in self.flow.reminders and not (
                    isinstance(action, m.CancelAction) and name == "all"
                ):
                    self.report(here, f"unknown reminder '{name}'{did_you_mean(name, self.flow.reminders)}")

    def url(self, url: str, location: tuple[str | int, ...]) -> None:
        for name in PLACEHOLDER.findall(url):
            self.variable_path(name, location)

    # -- the whole flow ---------------------------------------------------------------------------

    def run(self) -> None:
        flow = self.flow
        self.state_ref(flow.start, ("start",), "start state")
        for item, key in flow.checklist.items():
            self.text_refs.append((key, ("checklist", item)))
        for group, actions in flow.actions.items():
            self.actions(actions, ("actions", group), in_group=True)
        for name, variable in flow.variables.items():
            if variable.default is not None:
                self.variable_value(name, variable.default, ("variables", name, "default"))
        for name, reminder in flow.reminders.items():
            here = ("reminders", name)
            self.text_refs += [(reminder.text, (*here, "text")), (reminder.help, (*here, "help"))]
            for index, waiting in enumerate(reminder.active_in):
                self.state_ref(waiting, (*here, "active_in", index), "state")
            for index, timing in enumerate(reminder.timing):
                self.condition(timing.when, (*here, "timing", index, "when"))
        for name, provider in flow.providers.items():
            here = ("providers", name)
            self.text_refs.append((provider.how_to, (*here, "how_to")))
            if provider.refund_rule:
                self.text_refs.append((provider.refund_rule, (*here, "refund_rule")))
            for field_name, key in provider.texts.items():
                if field_name in m.PROVIDER_TEXT_FIELDS | m.PROVIDER_PLAIN_FIELDS | m.PROVIDER_LINK_FIELDS:
                    self.report((*here, "texts", field_name), f"'{field_name}' is a built-in field", key=True)
                self.text_refs.append((key, (*here, "texts", field_name)))
            for group in ("links", "support"):
                for index, link in enumerate(getattr(provider, group)):
                    self.text_refs.append((link.text, (*here, group, index, "text")))
        for name, link in flow.deep_links.items():
            self.actions(link.do, ("deep_links", name, "do"))
        for state_name, state in flow.states.items():
            self.check_state(state_name, state)
        self.check_moves()
        self.check_graph()
        self.check_texts()
        self.check_copy_texts()
        self.check_budget()

    def check_state(self, name: str, state: m.State) -> None:
        here: tuple[str | int, ...] = ("states", name)
        if isinstance(state.text, str):
            self.text_refs.append((state.text, (*here, "text")))
        else:
            for index, variant in enumerate(state.text):
                self.condition(variant.when, (*here, "text", index, "when"))
                self.text_refs.append((variant.text, (*here, "text", index, "text")))
            if state.text and state.text[-1].when is not None:
                self.report(
                    (*here, "text"),
                    "the last text variant needs no 'when', so that the screen always has a text",
                )
        self.actions(state.on_enter, (*here, "on_enter"))
        for row_index, row in enumerate(state.buttons):
            for column, button in enumerate(row):
                at = (*here, "buttons", row_index, column)
                self.condition(button.when, (*at, "when"))
                if isinstance(button, m.GotoButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    if button.toast:
                        self.text_refs.append((button.toast, (*at, "toast")))
                    self.actions(button.do, (*at, "do"))
                    if not isinstance(button.to, str):
                        for index, branch in enumerate(button.to):
                            self.condition(branch.when, (*at, "to", index, "when"))
                        if not button.to:
                            self.report((*at, "to"), "a button needs at least one branch to lead somewhere")
                        elif button.to[-1].when is not None:
                            self.report(
                                (*at, "to"),
                                "the last branch needs no 'when', so that the button always leads somewhere",
                            )
                elif isinstance(button, m.UrlButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    self.url(button.url, (*at, "url"))
                elif isinstance(button, m.ToggleButton):
                    if button.toggle not in self.flow.checklist:
                        self.report(
                            (*at, "toggle"),
                            f"unknown checklist item '{button.toggle}'{did_you_mean(button.toggle, self.flow.checklist)}",
                        )
                elif isinstance(button, m.LinksButton):
                    self.variable_path(button.links.partition(".")[0], (*at, "links"))
                elif isinstance(button, m.CopyButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    if button.copy_.startswith("{"):
                        self.variable_path(button.copy_.strip("{}"), (*at, "copy"))
                    else:
                        self.text_refs.append((button.copy_, (*at, "copy")))

    def check_moves(self) -> None:
        """Checks the declared moves: each former name names nothing that exists, and moves one way."""
        for kind, table in (("state", self.flow.states), ("reminder", self.flow.reminders)):
            moved: dict[str, str] = {}
            for name, item in table.items():
                for index, old in enumerate(item.moved_from):
                    here = (f"{kind}s", name, "moved_from", index)
                    if old in table:
                        self.report(here, f"{kind} '{old}' still exists: only a removed {kind} can move")
                    elif old in moved:
                        self.report(here, f"{kind} '{old}' already moves to '{moved[old]}'")
                    moved.setdefault(old, name)
        fallback = self.flow.fallback
        if fallback is not None:
            self.state_ref(fallback.to, ("fallback", "to"), "fallback state")
            self.text_refs.append((fallback.notice, ("fallback", "notice")))

    # -- the graph: one walk over its edges -------------------------------------------------------

    def check_graph(self) -> None:
        graph: dict[str, set[str]] = {}
        ways_out: dict[str, set[Trigger]] = {}
        targets: set[Location] = set()
        buttons: set[Location] = set()
        ids: dict[tuple[str, str], Location] = {}
        for edge in edges(self.flow):
            ways_out.setdefault(edge.source, set()).add(edge.trigger)
            if edge.target is not None:
                graph.setdefault(edge.source, set()).add(edge.target)
                # A reminder active in several states writes its target once: report it once.
                if edge.at not in targets:
                    targets.add(edge.at)
                    self.state_ref(edge.target, edge.at)
            # The branches of one button are several edges; the button is checked once.
            if edge.trigger in PRESSES and edge.origin not in buttons:
                buttons.add(edge.origin)
                self.check_button(edge, ids)
        for name, state in self.flow.states.items():
            self.check_way_out(name, state, ways_out.get(name, set()))
        self.check_reachable(graph)

    def check_button(self, edge: Edge, ids: dict[tuple[str, str], Location]) -> None:
        if (edge.source, edge.name) in ids:
            self.report(edge.origin, f"duplicate button id '{edge.name}' in state '{edge.source}'")
        ids[edge.source, edge.name] = edge.origin
        data = button_data("f" * VERSION_LENGTH, 10**MAX_STEP_DIGITS - 1, edge.source, edge.name)
        if len(data.encode()) > self.limits.callback_data_bytes:
            self.report(
                edge.origin,
                f"button data '{data}' could exceed Telegram's {self.limits.callback_data_bytes}-byte limit: shorten the state or button id",
            )

    def check_way_out(self, name: str, state: m.State, triggers: set[Trigger]) -> None:
        here = ("states", name)
        leads_on = bool(triggers & {Trigger.BUTTON, Trigger.BRANCH})
        if state.final and leads_on:
            self.report(
                (*here, "final"),
                f"final state '{name}' has buttons that lead on: remove 'final: true' or those buttons",
            )
        if not state.final and not leads_on and not triggers & REMINDER_TRIGGERS:
            self.report(
                here,
                f"state '{name}' is not final and has no way out: add a button with 'to:' or 'final: true'",
                key=True,
            )

    def check_reachable(self, graph: dict[str, set[str]]) -> None:
        # Deep links start from the start state, so everything reachable lies beyond it.
        seen = {self.flow.start}
        queue = deque(seen)
        while queue:
            for target in graph.get(queue.popleft(), ()):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in self.flow.states:
            if name not in seen:
                self.report(
                    ("states", name), f"state '{name}' is unreachable from '{self.flow.start}'", key=True
                )

    def check_texts(self) -> None:
        if not self.locales:
            return
        known = self.known_placeholders()
        referenced: dict[str, frozenset[str] | None] = {}
        for key, location in self.text_refs:
            missing = [f.language for f in self.locales if key not in f.texts]
            if missing:
                # A key missing everywhere is most likely misspelt; one missing in a single language is not.
                hint = ""
                if len(missing) == len(self.locales):
                    hint = did_you_mean(key, set().union(*(f.texts for f in self.locales)))
                self.report(
                    location,
                    f"text key '{key}' is missing in {', '.join(missing)}{hint}",
                )
            referenced[key] = None
        for ui in self.ui_texts:
            referenced[ui.key] = ui.placeholders
        for locale in self.locales:
            absent = [ui.key for ui in self.ui_texts if ui.key not in locale.texts]
            if len(absent) == 1:
                hint = did_you_mean(absent[0], locale.texts)
                message = f"text key '{absent[0]}' is missing (the bot itself needs it){hint}"
                self.problems.append(locale.located.problem((), message))
            elif absent:
                message = f"{len(absent)} texts the bot itself needs are missing: {', '.join(absent)}"
                self.problems.append(locale.located.problem((), message))
        reference = next((f for f in self.locales if f.language == self.default_language), self.locales[0])
        for locale in self.locales:
            for key, text in locale.texts.items():
                location = tuple(key.split("."))
                names = placeholders(text)
                allowed = referenced.get(key)
                allowed_names = known if allowed is None else allowed
                for name in sorted(names - allowed_names):
                    self.problems.append(
                        locale.located.problem(
                            location,
                            f"text '{key}' uses unknown placeholder '{{{name}}}'{did_you_mean(name, allowed_names)}",
                        )
                    )
                if locale is not reference and key in reference.texts:
                    expected = placeholders(reference.texts[key])
                    if names != expected:
                        self.problems.append(
                            locale.located.problem(
                                location,
                                f"text '{key}' has placeholders {sorted(names)} but {reference.language} has {sorted(expected)}",
                            )
                        )
                if len(text) > self.limits.text_characters:
                    self.problems.append(
                        locale.located.problem(
                            location,
                            f"text '{key}' is {len(text)} characters, over Telegram's {self.limits.text_characters}",
                        )
                    )
                for reason in html_problems(text):
                    self.problems.append(locale.located.problem(location, f"text '{key}': {reason}"))

    # -- ready-made messages and the phone budget -------------------------------------------------

    def copy_keys(self, copy: str) -> list[str]:
        """Returns the text keys a copy button may copy: its own key, or that field of every provider."""
        if not copy.startswith("{"):
            return [copy]
        field_name = copy.strip("{}").partition(".")[2]
        keys = []
        for provider in self.flow.providers.values():
            key = provider.texts.get(field_name) or getattr(provider, field_name, None)
            if isinstance(key, str):
                keys.append(key)
        return keys

    def copy_buttons(self) -> Iterator[m.CopyButton]:
        for state in self.flow.states.values():
            for row in state.buttons:
                yield from (button for button in row if isinstance(button, m.CopyButton))

    def check_copy_texts(self) -> None:
        keys = dict.fromkeys(key for button in self.copy_buttons() for key in self.copy_keys(button.copy_))
        limit = self.limits.copy_text_characters
        for locale in self.locales:
            for key in keys:
                text = locale.texts.get(key)
                if text is None:
                    continue
                where = tuple(key.split("."))
                if placeholders(text) or "<" in text or "&" in text:
                    message = f"message '{key}' is copied as plain text: no placeholders, tags or entities"
                    self.problems.append(locale.located.problem(where, message))
                if len(text) > limit:
                    message = f"message '{key}' is {len(text)} characters, over the {limit} a copy button holds: shorten it, or show it in a <pre> block"
                    self.problems.append(locale.located.problem(where, message))

    def providers_for(self, condition: m.Condition | None) -> list[m.Provider | None]:
        """Returns the provider rows a screen variant can show: those its condition allows."""
        rows: list[m.Provider | None] = list(self.flow.providers.values()) or [None]
        for path, expected in (condition or {}).items():
            variable, _, attribute = path.partition(".")
            if variable not in self.table_variables():
                continue
            allowed = set(expected if isinstance(expected, list) else [expected])
            if attribute:
                rows = [row for row in rows if row is not None and getattr(row, attribute) in allowed]
            else:
                rows = [self.flow.providers[name] for name in allowed if name in self.flow.providers]
        return rows

    def rendered(self, texts: Mapping[str, str], key: str, provider: m.Provider | None) -> str:
        """Returns a text as a screen shows it for ``provider``: its fields filled, other variables empty."""
        tables = self.table_variables()

        def fill(match: Any) -> str:
            variable, _, attribute = match[1].partition(".")
            if variable not in tables or provider is None or not attribute:
                return ""
            if attribute in m.PROVIDER_PLAIN_FIELDS:
                return str(getattr(provider, attribute))
            field_key = provider.texts.get(attribute) or getattr(provider, attribute, None)
            return self.rendered(texts, field_key, provider) if isinstance(field_key, str) else ""

        return PLACEHOLDER.sub(fill, texts.get(key, ""))

    def check_budget(self) -> None:
        budget = self.flow.budget
        if budget is None or not self.locales:
            return
        where = self.located.where(("budget",), key=True)
        origin = f"the budget at {self.located.path}:{where.line}"
        screens: list[tuple[str, list[m.TextVariant]]] = [
            (f"reminder '{name}'", [m.TextVariant(text=reminder.text), m.TextVariant(text=reminder.help)])
            for name, reminder in self.flow.reminders.items()
        ]
        for name, state in self.flow.states.items():
            variants = [m.TextVariant(text=state.text)] if isinstance(state.text, str) else list(state.text)
            screens.append((f"screen '{name}'", variants))
        reported: set[tuple[str, str]] = set()
        for what, variants in screens:
            for variant in variants:
                for locale in self.locales:
                    seen = (locale.language, variant.text) in reported
                    if not seen and self.screen_over_budget(budget, origin, what, variant, locale):
                        reported.add((locale.language, variant.text))
        for state in self.flow.states.values():
            for row in state.buttons:
                limit = budget.label_columns if len(row) == 1 else budget.shared_label_columns
                for button in row:
                    for key, extra, columns in self.labels(button, limit, budget.label_columns):
                        for locale in self.locales:
                            seen = (locale.language, f"{key}@{columns}") in reported
                            if not seen and self.label_over_budget(
                                budget, origin, key, extra, columns, locale
                            ):
                                reported.add((locale.language, f"{key}@{columns}"))

    def screen_over_budget(
        self, budget: m.Budget, origin: str, what: str, variant: m.TextVariant, locale: LocaleFile
    ) -> bool:
        """Reports a text longer than the budget with the provider that makes it longest; tells if it did."""
        worst, lines = "", 0
        for provider in self.providers_for(variant.when):
            count = display_lines(self.rendered(locale.texts, variant.text, provider), budget.columns)
            if count > lines:
                worst, lines = (provider.name if provider else ""), count
        if lines <= budget.lines:
            return False
        shown = f" with {worst}" if worst and "{" in locale.texts.get(variant.text, "") else ""
        message = f"{what}{shown} is {lines} lines at {budget.columns} columns, over {origin} ({budget.lines} lines)"
        self.problems.append(locale.located.problem(tuple(variant.text.split(".")), message))
        return True

    def labels(self, button: m.Button, limit: int, alone: int) -> list[tuple[str, int, int]]:
        """Returns (text key, columns the bot adds, width allowed) for each label a button can show."""
        if isinstance(button, m.GotoButton | m.UrlButton | m.CopyButton):
            return [(button.text, 0, limit)]
        if isinstance(button, m.ToggleButton) and button.toggle in self.flow.checklist:
            # The bot puts a ✅ or ⬜ and a space in front of a checklist label.
            return [(self.flow.checklist[button.toggle], 3, limit)]
        if isinstance(button, m.LinksButton):
            group = button.links.partition(".")[2]
            # Each link gets a row of its own.
            return [(link.text, 0, alone) for p in self.flow.providers.values() for link in getattr(p, group)]
        return []

    def label_over_budget(
        self, budget: m.Budget, origin: str, key: str, extra: int, columns: int, locale: LocaleFile
    ) -> bool:
        """Reports a label wider than the budget allows on its row; tells if it did."""
        text = locale.texts.get(key)
        if text is None or display_width(text) + extra <= columns:
            return False
        where = "alone on its row" if columns == budget.label_columns else "sharing a row"
        message = f"button label '{key}' is {display_width(text) + extra} columns wide, over {origin} ({columns} for a button {where})"
        self.problems.append(locale.located.problem(tuple(key.split(".")), message))
        return True


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
    checker = _Checker(located, flow, locales, limits, tuple(ui_texts), default)
    checker.run()
    problems += checker.problems + url_problems(located, flow, locales)
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
