"""The validator reads like a compiler: every broken case reports the right file, line, column and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.flows import FlowValidationError, Limits, load_bundle, load_flows, validate_paths
from bot.flows import model as m
from bot.flows.schema import flow_schema_text
from bot.runtime.texts import UI_TEXTS
from tests.flows.broken import BROKEN, CASES, BrokenCase, broken_case
from tests.flows.make_case import case_of

ROOT = Path(__file__).resolve().parents[2]


def problems_of(case: BrokenCase) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(case.flow, case.locales)
    return [str(p).replace(f"{case.folder}/", "") for p in caught.value.problems]


def test_the_corpus_covers_every_error_kind() -> None:
    assert set(BROKEN) >= {
        "yaml_syntax",
        "schema_missing_field",
        "schema_unknown_field",
        "unknown_target",
        "duplicate_id",
        "unreachable_state",
        "dead_end",
        "unknown_action",
        "bad_duration",
        "missing_text_key",
        "missing_in_one_language",
        "placeholders_differ",
        "unknown_placeholder",
        "callback_data_too_long",
        "text_too_long",
        "bad_html",
        "over_budget",
        "copy_and_groups",
        "claims",
        "hedges_missing",
        "drift",
        "yaml_unclosed_quote",
    }


@pytest.mark.parametrize("name", BROKEN)
def test_broken_flow_reports_line_column_and_reason(name: str, tmp_path: Path) -> None:
    case = broken_case(name, tmp_path)
    assert problems_of(case) == case.expected


def test_a_case_whose_change_no_longer_fits_the_base_fails_loudly(tmp_path: Path) -> None:
    edited = tmp_path / "edited_base"
    shutil.copytree(CASES / "valid", edited)
    flow = edited / "flow.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace("to: done}", "to: fin}"), encoding="utf-8")
    with pytest.raises(AssertionError, match="is in the base 0 times, not once"):
        broken_case("unknown_target", tmp_path, base=edited)


def test_a_case_may_add_a_file_the_base_does_not_have(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    german = "welcome:\n  text: Hallo.\n"
    spec = {"expected": "", "changes": {"locales/de.yaml": [{"replace": "", "with": german}]}}
    (cases / "german.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    case = broken_case("german", tmp_path, cases=cases)
    assert (case.locales / "de.yaml").read_text(encoding="utf-8") == german
    assert (case.locales / "en.yaml").is_file(), "the base's files are there too"


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_folder_is_written_back_as_the_same_case(name: str, tmp_path: Path) -> None:
    case = broken_case(name, tmp_path)
    again = case_of(case.folder)
    written = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert again["expected"] == written["expected"]
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / f"{name}.yaml").write_text(yaml.safe_dump(again), encoding="utf-8")
    rebuilt = broken_case(name, tmp_path / "rebuilt", cases=tmp_path / "again")
    for path in (p for p in case.folder.rglob("*") if p.is_file()):
        rebuilt_file = rebuilt.folder / path.relative_to(case.folder)
        assert rebuilt_file.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_misspelt_target_suggests_the_closest_state(tmp_path: Path) -> None:
    assert problems_of(broken_case("unknown_target", tmp_path)) == [
        "flow.yaml:51:36: unknown target 'dnoe' (did you mean 'done'?)"
    ]


def test_the_valid_case_loads() -> None:
    bundle = load_bundle(CASES / "valid" / "flow.yaml", CASES / "valid" / "locales")
    assert bundle.flow.id == "mini"
    assert len(bundle.version) == 8


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    source = (CASES / "valid" / "flow.yaml").read_text(encoding="utf-8")
    broken = source.replace("to: done, id: got", "to: dnoe, id: got").replace(
        "{text: support.done, to: done}", "{text: support.done, to: thnks}"
    )
    (tmp_path / "flow.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(tmp_path / "flow.yaml", CASES / "valid" / "locales")
    messages = [p.message for p in caught.value.problems]
    assert "unknown target 'dnoe' (did you mean 'done'?)" in messages
    assert "unknown target 'thnks' (did you mean 'thanks'?)" in messages
    assert str(caught.value).endswith("problems found")


def test_a_runtime_text_missing_from_a_locale_is_reported() -> None:
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(CASES / "valid" / "flow.yaml", CASES / "valid" / "locales", ui_texts=UI_TEXTS[:1])
    assert any(
        "ui.language.name" in p.message and "the bot itself needs it" in p.message
        for p in caught.value.problems
    )


def test_a_smaller_messenger_limit_is_enforced() -> None:
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(
            CASES / "valid" / "flow.yaml", CASES / "valid" / "locales", limits=Limits(text_characters=20)
        )
    assert any("over Telegram's 20" in p.message for p in caught.value.problems)


def test_every_shipped_flow_validates() -> None:
    bundles = load_flows(ROOT / "flows", ROOT / "locales", ui_texts=UI_TEXTS)
    assert "cancel_esim" in bundles


def test_validate_paths_collects_problems_of_several_files(tmp_path: Path) -> None:
    problems = validate_paths(
        [broken_case("unknown_target", tmp_path).flow, broken_case("dead_end", tmp_path).flow],
        CASES / "valid" / "locales",
    )
    assert {p.path.parent.name for p in problems} == {"unknown_target", "dead_end"}


def test_the_shipped_json_schema_is_generated_from_the_model() -> None:
    shipped = (ROOT / "flows" / "flow.schema.json").read_text(encoding="utf-8")
    assert shipped == flow_schema_text(), "run `esim-bot schema` to regenerate flows/flow.schema.json"


def test_a_badly_named_state_is_reported_at_its_name(tmp_path: Path) -> None:
    source = (CASES / "valid" / "flow.yaml").read_text(encoding="utf-8")
    (tmp_path / "flow.yaml").write_text(source.replace("  thanks:\n", "  Thanks Screen:\n"), encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(tmp_path / "flow.yaml", CASES / "valid" / "locales")
    line = source.splitlines().index("  thanks:") + 1
    assert (
        f"{tmp_path}/flow.yaml:{line}:3: 'Thanks Screen' is not a valid id: use lowercase letters, digits and _,"
        " starting with a letter"
    ) in map(str, caught.value.problems)


def test_action_groups_are_expanded_when_the_flow_is_loaded() -> None:
    bundle = load_bundle(ROOT / "flows" / "cancel_esim.yaml", ROOT / "locales", ui_texts=UI_TEXTS)
    actions = [action for state in bundle.flow.states.values() for action in state.on_enter]
    actions += [
        action
        for state in bundle.flow.states.values()
        for row in state.buttons
        for button in row
        if isinstance(button, m.GotoButton)
        for action in button.do
    ]
    assert not any(isinstance(action, m.RunAction) for action in actions)
    assert any(isinstance(action, m.CancelAction) and action.cancel == "all" for action in actions)


def test_problems_of_every_kind_of_check_come_together(tmp_path: Path) -> None:
    source = (CASES / "valid" / "flow.yaml").read_text(encoding="utf-8")
    broken = (
        source.replace("to: done, id: got", "to: dnoe, id: got")  # where buttons lead
        .replace("text: thanks.text", "text: thanks.txt")  # the texts
        .replace("schedule: email", "schedule: emial")  # references
    )
    (tmp_path / "flow.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(tmp_path / "flow.yaml", CASES / "valid" / "locales")
    messages = [p.message for p in caught.value.problems]
    assert "unknown target 'dnoe' (did you mean 'done'?)" in messages
    assert any(m.startswith("text key 'thanks.txt' is missing in en, fr") for m in messages)
    assert "unknown reminder 'emial' (did you mean 'email'?)" in messages


def _valid_with(tmp_path: Path, old: str, new: str) -> list[str]:
    source = (CASES / "valid" / "flow.yaml").read_text(encoding="utf-8")
    assert old in source
    (tmp_path / "flow.yaml").write_text(source.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_bundle(tmp_path / "flow.yaml", CASES / "valid" / "locales")
    return [str(p).replace(f"{tmp_path}/", "") for p in caught.value.problems]


def test_claims_without_a_facts_file_and_a_missing_facts_file_are_reported(tmp_path: Path) -> None:
    assert _valid_with(tmp_path, "    text: thanks.text\n", "    text: thanks.text\n    claims: [a.b]\n") == [
        "flow.yaml:58:13: claims need a facts file: name it with 'facts:' at the top of the flow"
    ]
    missing = _valid_with(tmp_path, "start: welcome\n", "start: welcome\nfacts: facts/nowhere.md\n")
    assert missing == [
        "flow.yaml:4:8: cannot read the facts file 'facts/nowhere.md' (looked for facts/nowhere.md)"
    ]


def test_a_link_in_a_language_the_bot_does_not_speak_is_reported(tmp_path: Path) -> None:
    link = '{text: links.refund, url: "https://www.airalo.com/refund-policy"}'
    localised = '{text: links.refund, url: "https://www.airalo.com/refund-policy", in_language: {de: "https://www.airalo.com/de"}}'
    assert _valid_with(tmp_path, link, localised) == [
        "flow.yaml:25:89: no language 'de': the languages are en, fr"
    ]
