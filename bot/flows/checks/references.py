"""References between the parts of a flow: states, variables and their values, checklist items,
reminders, action groups, languages. Every other check reports through it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.flows import model as m
from bot.flows.errors import Problem, did_you_mean
from bot.flows.texts import PLACEHOLDER
from bot.flows.yamlsource import Located

__all__ = ["References"]


@dataclass(slots=True)
class References:
    """Checks that what a flow names exists, and collects every problem of the flow at its line."""

    located: Located
    flow: m.Flow
    languages: list[str]
    problems: list[Problem]

    def report(self, location: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(location, message, key=key))

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

    def link_languages(self, link: m.Link, location: tuple[str | int, ...]) -> None:
        languages = self.languages
        for language in link.in_language:
            if languages and language not in languages:
                message = f"no language '{language}'{did_you_mean(language, languages)}: the languages are {', '.join(languages)}"
                self.report((*location, language), message, key=True)

    def url(self, url: str, location: tuple[str | int, ...]) -> None:
        for name in PLACEHOLDER.findall(url):
            self.variable_path(name, location)
