"""The phone budget holds for what people see: a step with the bot's additions, its rows, the zone question."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import FlowValidationError, load_bundle
from bot.flows.budget import shared_rows
from bot.runtime.texts import UI_TEXTS

CASE = Path(__file__).parent / "budget" / "as_shown"


def budget_problems() -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(CASE / "flow.yaml", CASE / "locales", ui_texts=UI_TEXTS)
    shown = [str(problem).replace(f"{CASE}/", "") for problem in caught.value.problems]
    return [line for line in shown if "over the budget" in line]


def test_what_the_bot_adds_at_run_time_counts_against_the_budget() -> None:
    assert budget_problems() == [
        "flow.yaml:17:5: screen 'welcome' shows up to 3 rows of buttons with the bot's own, "
        "over the budget at flow.yaml:4 (2 rows)",
        "locales/en.yaml:6:9: screen 'waiting' and the next reminder's line is 6 lines at 30 columns, "
        "over the budget at flow.yaml:4 (4 lines)",
        "locales/en.yaml:20:11: note 'ui.stop.done' above the current step is 5 lines at 30 columns, "
        "over the budget at flow.yaml:4 (4 lines)",
        # Three places, none fitting half a row, the chosen one kept in view, and "somewhere else".
        "locales/en.yaml:22:13: 'where are you now?' has 5 rows of buttons, over the budget at flow.yaml:4 (2 rows)",
        "locales/en.yaml:22:13: 'where are you now?' is 6 lines at 30 columns, over the budget at flow.yaml:4 (4 lines)",
        "locales/en.yaml:22:13: place 'Australia/Sydney' is 23 columns wide as a button, "
        "over the budget at flow.yaml:4 (20 for a button alone on its row)",
        "locales/en.yaml:22:13: place 'Pacific/Auckland' is 27 columns wide as a button, "
        "over the budget at flow.yaml:4 (20 for a button alone on its row)",
        # Asked without a zone (one guessed from the language is not named): its own wording counts too.
        "locales/en.yaml:25:10: 'where are you now?' without a zone is 5 lines at 30 columns, "
        "over the budget at flow.yaml:4 (4 lines)",
    ]


def test_two_places_share_a_row_only_when_both_fit() -> None:
    labels = ["🇫🇷 France", "🇯🇵 Japan", "🇳🇨 New Caledonia", "🇨🇳 China", "🇦🇺 Australia (Sydney)"]
    assert shared_rows(labels, 18) == [[0, 1], [2, 3], [4]]
    assert shared_rows(labels, 12) == [[0, 1], [2], [3], [4]]
