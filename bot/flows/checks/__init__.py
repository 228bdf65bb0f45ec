"""The checks of a flow that passed the schema, one module per kind, each reporting every problem it
finds so that an operator sees all problems of a file at once."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flows import model as m
from bot.flows.checks.base import VERSION_LENGTH, Limits, UiText, button_data
from bot.flows.checks.paths import PathCheck
from bot.flows.checks.phone import PhoneCheck
from bot.flows.checks.references import References
from bot.flows.checks.structure import StructureCheck
from bot.flows.checks.texts import TextCheck
from bot.flows.errors import Problem
from bot.flows.texts import LocaleFile
from bot.flows.yamlsource import Located

__all__ = ["VERSION_LENGTH", "Limits", "UiText", "button_data", "check_flow"]


def check_flow(
    located: Located,
    flow: m.Flow,
    locales: Sequence[LocaleFile],
    limits: Limits,
    ui_texts: tuple[UiText, ...],
    default_language: str | None,
) -> list[Problem]:
    """Runs every kind of check on a flow and its texts; returns all the problems they found."""
    problems: list[Problem] = []
    refs = References(located, flow, [f.language for f in locales], problems)
    structure = StructureCheck(refs)
    structure.run()
    PathCheck(refs, limits).run()
    if locales:
        TextCheck(refs, locales, ui_texts, limits, default_language, structure.text_refs).run()
    PhoneCheck(refs, locales, limits).run()
    return problems
