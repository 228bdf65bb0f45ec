"""Rendering a conversation: its screen's text and buttons, a reminder and its answers, in the person's language.

Buttons that press something in the flow carry the press itself (:class:`~bot.engine.renderer.Press`); the
runtime writes their callback data with :mod:`bot.callbacks`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.callbacks import FlowPress, ReminderAnswer, ReminderPress
from bot.engine.compiling import CompiledFlow
from bot.engine.conversation import Conversation, VariableValue
from bot.engine.screens import CHECKED, UNCHECKED, Markup, Screen, ScreenButton, fill
from bot.flows import model as m
from bot.flows.texts import Texts

__all__ = ["Renderer"]

_ANSWER_LABELS = {
    ReminderAnswer.CONFIRMED: "ui.reminder.confirmed",
    ReminderAnswer.SNOOZE_HOUR: "ui.reminder.snooze_hour",
    ReminderAnswer.SNOOZE_TOMORROW: "ui.reminder.snooze_tomorrow",
    ReminderAnswer.SNOOZE_3DAYS: "ui.reminder.snooze_3days",
    ReminderAnswer.HELP: "ui.reminder.help",
    ReminderAnswer.STOP: "ui.reminder.stop",
}


class Renderer:
    """Turns conversations of one compiled flow version into screens, with that version's texts."""

    def __init__(self, compiled: CompiledFlow, texts: Texts) -> None:
        self._compiled = compiled
        self._flow = compiled.flow
        self._texts = texts

    def plain(self, language: str, key: str, values: Mapping[str, str] | None = None) -> str:
        """Returns a runtime text with ``values`` filled in: escaped for Telegram HTML unless ``Markup``."""
        raw = self._texts.get(language, key)
        if not values:
            return raw
        return fill(raw, lambda name: values.get(name))

    def text(self, language: str, key: str, variables: Mapping[str, VariableValue]) -> str:
        """Returns a flow text with its placeholders filled from the conversation's variables."""
        return fill(self._texts.get(language, key), lambda name: self._placeholder(language, name, variables))

    def render(self, conversation: Conversation) -> Screen:
        """Returns the screen of the conversation's current state."""
        state = self._compiled.states[conversation.state]
        language = conversation.language
        variables = conversation.variables
        rows: list[tuple[ScreenButton, ...]] = []
        for row in state.rows:
            rendered: list[ScreenButton] = []
            for button in row:
                if not button.visible(variables):
                    continue
                source = button.source
                if isinstance(source, m.LinksButton):
                    rows.extend((link,) for link in self._links(conversation, source.links))
                elif isinstance(source, m.UrlButton):
                    rendered.append(ScreenButton(self.plain(language, source.text), url=source.url))
                elif isinstance(source, m.CopyButton):
                    message = self._copy_text(language, source.copy_, variables)
                    if message:
                        rendered.append(ScreenButton(self.plain(language, source.text), copy_text=message))
                else:
                    press = FlowPress(self._compiled.version, conversation.step, state.name, button.id)
                    rendered.append(ScreenButton(self._label(source, conversation), press=press))
            if rendered:
                rows.append(tuple(rendered))
        key = next(key for holds, key in self._compiled.state_texts[state.name] if holds(variables))
        return Screen(self.text(language, key, variables), tuple(rows))

    def render_reminder(self, conversation: Conversation, name: str, sequence: int) -> Screen:
        """Returns a reminder message with its answer buttons."""
        reminder = self._flow.reminders[name]
        language = conversation.language

        def answer(choice: ReminderAnswer) -> ScreenButton:
            press = ReminderPress(self._compiled.version, sequence, name, choice)
            return ScreenButton(self.plain(language, _ANSWER_LABELS[choice]), press=press)

        rows = (
            (answer(ReminderAnswer.CONFIRMED),),
            (
                answer(ReminderAnswer.SNOOZE_HOUR),
                answer(ReminderAnswer.SNOOZE_TOMORROW),
                answer(ReminderAnswer.SNOOZE_3DAYS),
            ),
            (answer(ReminderAnswer.HELP), answer(ReminderAnswer.STOP)),
        )
        return Screen(self.text(language, reminder.text, conversation.variables), rows)

    def render_help(self, conversation: Conversation, name: str, sequence: int) -> Screen:
        """Returns the reminder's help text, the provider's support links and the reminder's buttons."""
        reminder = self._flow.reminders[name]
        language = conversation.language
        links = tuple((button,) for button in self._links(conversation, "provider.support"))
        base = self.render_reminder(conversation, name, sequence)
        return Screen(self.text(language, reminder.help, conversation.variables), links + base.rows)

    def _label(self, source: m.GotoButton | m.ToggleButton, conversation: Conversation) -> str:
        if isinstance(source, m.ToggleButton):
            mark = CHECKED if source.toggle in conversation.checklist else UNCHECKED
            return f"{mark} {self.plain(conversation.language, self._flow.checklist[source.toggle])}"
        return self.plain(conversation.language, source.text)

    def _placeholder(self, language: str, name: str, variables: Mapping[str, VariableValue]) -> str:
        variable, _, attribute = name.partition(".")
        value = variables.get(variable)
        if not attribute:
            return value or ""
        row = self._flow.providers.get(value) if value is not None else None
        if row is None:
            return ""
        if attribute in row.texts:
            return Markup(self.text(language, row.texts[attribute], variables))
        found = getattr(row, attribute, None)
        if attribute in m.PROVIDER_TEXT_FIELDS:
            # A provider's text is operator-written Telegram HTML, filled in turn.
            return Markup(self.text(language, found, variables)) if found else ""
        if attribute not in m.PROVIDER_PLAIN_FIELDS:
            return ""  # a text field this provider does not have
        return str(found or "")

    def _links(self, conversation: Conversation, path: str) -> list[ScreenButton]:
        variable, _, group = path.partition(".")
        row = self._flow.providers.get(conversation.variables.get(variable) or "")
        if row is None:
            return []
        links: list[m.Link] = getattr(row, group)
        return [
            ScreenButton(
                self.plain(conversation.language, link.text), url=link.url_for(conversation.language)
            )
            for link in links
        ]

    def _copy_text(self, language: str, copy: str, variables: Mapping[str, VariableValue]) -> str:
        """Returns the message a copy button copies (empty when the provider has none)."""
        if copy.startswith("{"):
            return self._placeholder(language, copy.strip("{}"), variables)
        return self._texts.get(language, copy)
