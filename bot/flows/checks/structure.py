"""The flow's parts one by one: states, their texts and buttons, reminders, providers, deep links,
declared moves. It collects the text keys the flow uses for the text check."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.flows import model as m
from bot.flows.checks.references import References
from bot.flows.errors import did_you_mean

__all__ = ["StructureCheck"]


@dataclass(slots=True)
class StructureCheck:
    """Checks each part of the flow against the others; ``text_refs`` lists every text key and where."""

    refs: References
    text_refs: list[tuple[str, tuple[str | int, ...]]] = field(default_factory=list)

    @property
    def flow(self) -> m.Flow:
        return self.refs.flow

    def run(self) -> None:
        """Checks every reference of the flow and collects the text keys it uses."""
        flow = self.flow
        self.refs.state_ref(flow.start, ("start",), "start state")
        for item, key in flow.checklist.items():
            self.text_refs.append((key, ("checklist", item)))
        for group, actions in flow.actions.items():
            self.refs.actions(actions, ("actions", group), in_group=True)
        for name, variable in flow.variables.items():
            if variable.default is not None:
                self.refs.variable_value(name, variable.default, ("variables", name, "default"))
        for name, reminder in flow.reminders.items():
            here = ("reminders", name)
            self.text_refs += [(reminder.text, (*here, "text")), (reminder.help, (*here, "help"))]
            for index, waiting in enumerate(reminder.active_in):
                self.refs.state_ref(waiting, (*here, "active_in", index), "state")
            for index, timing in enumerate(reminder.timing):
                self.refs.condition(timing.when, (*here, "timing", index, "when"))
        for name, provider in flow.providers.items():
            here = ("providers", name)
            self.text_refs.append((provider.how_to, (*here, "how_to")))
            if provider.refund_rule:
                self.text_refs.append((provider.refund_rule, (*here, "refund_rule")))
            for field_name, key in provider.texts.items():
                if field_name in m.PROVIDER_TEXT_FIELDS | m.PROVIDER_PLAIN_FIELDS | m.PROVIDER_LINK_FIELDS:
                    self.refs.report(
                        (*here, "texts", field_name), f"'{field_name}' is a built-in field", key=True
                    )
                self.text_refs.append((key, (*here, "texts", field_name)))
            for group in ("links", "support"):
                for index, link in enumerate(getattr(provider, group)):
                    self.text_refs.append((link.text, (*here, group, index, "text")))
                    self.refs.link_languages(link, (*here, group, index, "in_language"))
        for name, link in flow.deep_links.items():
            self.refs.actions(link.do, ("deep_links", name, "do"))
        for state_name, state in flow.states.items():
            self.check_state(state_name, state)
        self.check_moves()

    def check_state(self, name: str, state: m.State) -> None:
        here: tuple[str | int, ...] = ("states", name)
        if isinstance(state.text, str):
            self.text_refs.append((state.text, (*here, "text")))
        else:
            for index, variant in enumerate(state.text):
                self.refs.condition(variant.when, (*here, "text", index, "when"))
                self.text_refs.append((variant.text, (*here, "text", index, "text")))
            if state.text and state.text[-1].when is not None:
                self.refs.report(
                    (*here, "text"),
                    "the last text variant needs no 'when', so that the screen always has a text",
                )
        self.refs.actions(state.on_enter, (*here, "on_enter"))
        for row_index, row in enumerate(state.buttons):
            for column, button in enumerate(row):
                at = (*here, "buttons", row_index, column)
                self.refs.condition(button.when, (*at, "when"))
                if isinstance(button, m.GotoButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    if button.toast:
                        self.text_refs.append((button.toast, (*at, "toast")))
                    self.refs.actions(button.do, (*at, "do"))
                    if not isinstance(button.to, str):
                        for index, branch in enumerate(button.to):
                            self.refs.condition(branch.when, (*at, "to", index, "when"))
                        if not button.to:
                            self.refs.report(
                                (*at, "to"), "a button needs at least one branch to lead somewhere"
                            )
                        elif button.to[-1].when is not None:
                            self.refs.report(
                                (*at, "to"),
                                "the last branch needs no 'when', so that the button always leads somewhere",
                            )
                elif isinstance(button, m.UrlButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    self.refs.url(button.url, (*at, "url"))
                elif isinstance(button, m.ToggleButton):
                    if button.toggle not in self.flow.checklist:
                        self.refs.report(
                            (*at, "toggle"),
                            f"unknown checklist item '{button.toggle}'{did_you_mean(button.toggle, self.flow.checklist)}",
                        )
                elif isinstance(button, m.LinksButton):
                    self.refs.variable_path(button.links.partition(".")[0], (*at, "links"))
                elif isinstance(button, m.CopyButton):
                    self.text_refs.append((button.text, (*at, "text")))
                    if button.copy_.startswith("{"):
                        self.refs.variable_path(button.copy_.strip("{}"), (*at, "copy"))
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
                        self.refs.report(here, f"{kind} '{old}' still exists: only a removed {kind} can move")
                    elif old in moved:
                        self.refs.report(here, f"{kind} '{old}' already moves to '{moved[old]}'")
                    moved.setdefault(old, name)
        fallback = self.flow.fallback
        if fallback is not None:
            self.refs.state_ref(fallback.to, ("fallback", "to"), "fallback state")
            self.text_refs.append((fallback.notice, ("fallback", "notice")))
