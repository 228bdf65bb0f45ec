"""Each language follows its glossary (locales/glossary.<language>.md): the words it rules out never appear."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.flows.drift import menu_names
from bot.flows.texts import PLACEHOLDER, load_locale_files

ROOT = Path(__file__).resolve().parents[2]
LOCALES, _ = load_locale_files(ROOT / "locales")
TEXTS = {locale.language: locale.texts for locale in LOCALES}

# What each glossary rules out, and why it misleads.
RULED_OUT = {
    "en": ("close the account", "uninstall", "provider"),
    # "fournisseur" is vague; "roaming" is English (the French word is itinérance).
    "fr": ("fournisseur", "désinstall", "roaming", "opérateur national"),
    # 国内 reads as "China", 原籍国 as immigration jargon; 注销 is for lines, never for a travel eSIM.
    "zh-Hans": ("国内", "原籍", "注销 eSIM", "注销eSIM", "您"),
}
QUOTED = re.compile(r"“[^”]*”|«[^»]*»")


@pytest.mark.parametrize("language", list(RULED_OUT))
def test_no_screen_uses_a_word_its_glossary_rules_out(language: str) -> None:
    found = []
    for key, text in TEXTS[language].items():
        if key.startswith("template."):
            continue  # messages to a provider's staff follow that provider's language and politeness
        # A quoted sentence is what the person will say or read elsewhere; placeholders are not words.
        shown = PLACEHOLDER.sub("", QUOTED.sub("", text))
        # A menu label is written as the facts give it, in English ("Data roaming"): the glossaries allow it.
        for label in menu_names(text):
            shown = shown.replace(label, "")
        found += [f"{key}: {word}" for word in RULED_OUT[language] if word in shown]
    assert found == []


@pytest.mark.parametrize("language", list(RULED_OUT))
def test_each_language_has_its_glossary(language: str) -> None:
    assert (ROOT / "locales" / f"glossary.{language}.md").exists()


def test_chinese_says_home_carrier_the_same_way_everywhere() -> None:
    zh = TEXTS["zh-Hans"]
    assert "本国运营商" in zh["identify.home"]
    assert "本国运营商" in zh["not_sure.text"]
