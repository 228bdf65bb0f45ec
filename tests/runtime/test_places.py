"""Places in people's own words: what is offered per language, how zones are named, what typing finds."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from bot.flows import FlowValidationError, load_bundle
from bot.flows.languages import load_languages
from bot.localtime import parse_timezone
from bot.places import Places
from bot.runtime.texts import UI_TEXTS

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"


def places() -> Places:
    """Returns the places of the shipped languages, from their locales/<language>.meta.yaml."""
    languages, problems = load_languages(LOCALES, ["en", "fr", "zh-Hans"])
    assert languages is not None, problems
    return Places.of(languages)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("上海", "Asia/Shanghai"),
        ("北京", "Asia/Shanghai"),
        ("中国", "Asia/Shanghai"),
        ("Pékin", "Asia/Shanghai"),
        ("Chine", "Asia/Shanghai"),
        ("china", "Asia/Shanghai"),
        ("珀斯", "Australia/Perth"),
        ("Perth", "Australia/Perth"),
        ("Australie", "Australia/Sydney"),
        ("巴黎", "Europe/Paris"),
        ("法国", "Europe/Paris"),
        ("Lyon", "Europe/Paris"),
        ("nouvelle calédonie", "Pacific/Noumea"),
        ("Nouvelle-Calédonie", "Pacific/Noumea"),
        ("努美阿", "Pacific/Noumea"),
        ("New Zealand", "Pacific/Auckland"),
        ("Japon", "Asia/Tokyo"),
        ("东京", "Asia/Tokyo"),
        ("Tahiti", "Pacific/Tahiti"),
    ],
)
def test_places_typed_in_chinese_french_or_english_are_understood(typed: str, zone: str) -> None:
    assert str(parse_timezone(typed, places().find_zone)) == zone


@pytest.mark.parametrize(
    ("zone", "language", "named"),
    [
        ("Asia/Shanghai", "zh-Hans", "上海时间"),
        ("Asia/Shanghai", "en", "Shanghai time"),
        ("Europe/Paris", "fr", "heure de Paris"),
        ("Pacific/Noumea", "fr", "heure de Nouméa"),
        ("Pacific/Auckland", "fr", "heure d’Auckland"),
        ("Australia/Perth", "zh-Hans", "珀斯时间"),
        ("UTC", "en", "UTC"),
    ],
)
def test_zones_are_named_as_people_say_them(zone: str, language: str, named: str) -> None:
    assert places().zone_label(zone, language) == named


def test_an_offset_is_named_as_typed() -> None:
    assert places().zone_label(timezone(timedelta(hours=8)), "en") == "UTC+8"
    assert places().zone_label(timezone(timedelta(hours=5, minutes=30)), "fr") == "UTC+5:30"
    assert places().zone_label(timezone(timedelta(hours=-3)), "zh-Hans") == "UTC-3"


def test_a_moment_names_its_zone_in_each_language() -> None:
    found = places()
    assert found.moment("明天 09:00", "Asia/Shanghai", "zh-Hans") == "明天 09:00（上海时间）"
    assert found.moment("demain à 09:00", "Europe/Paris", "fr") == "demain à 09:00 (heure de Paris)"
    assert found.moment("tomorrow at 09:00", "Asia/Shanghai", "en") == "tomorrow at 09:00 (Shanghai time)"


@pytest.mark.parametrize(
    ("delay", "language", "said"),
    [
        (timedelta(days=7), "en", "in 1 week"),
        (timedelta(days=5), "fr", "dans 5 jours"),
        (timedelta(hours=24), "zh-Hans", "1天后"),
        (timedelta(hours=1), "en", "in 1 hour"),
        (timedelta(days=14), "fr", "dans 2 semaines"),
        (timedelta(seconds=-30), "en", "in 1 minute"),  # overdue: never "in 0 seconds" or "ago"
    ],
)
def test_a_moment_in_a_zone_not_given_says_how_long_without_a_clock(
    delay: timedelta, language: str, said: str
) -> None:
    assert places().after(delay, language) == said


def test_each_language_is_offered_new_caledonia_and_the_likeliest_places_first() -> None:
    found = places()
    assert found.preselected("zh-Hans") == "Asia/Shanghai"
    assert found.preselected("fr") == "Pacific/Noumea"
    for language in ("zh-Hans", "fr", "en"):
        offered = found.offered_zones(language)
        assert "Pacific/Noumea" in offered
        assert {"Asia/Shanghai", "Europe/Paris", "Australia/Sydney", "Pacific/Auckland", "Asia/Tokyo"} <= set(
            offered
        )
    assert found.offered_zones("tlh") == found.offered_zones("en"), "an unknown language reads English"


def test_place_buttons_name_the_country_and_the_city_where_it_has_several_zones() -> None:
    found = places()
    assert found.place_label("Asia/Tokyo", "fr") == "🇯🇵 Japon"
    assert found.place_label("Australia/Sydney", "en") == "🇦🇺 Australia (Sydney)"
    assert found.place_label("Asia/Shanghai", "zh-Hans") == "🇨🇳 中国（上海）"


@pytest.mark.parametrize(
    ("typed", "language"),
    [("中文", "zh-Hans"), ("简体中文", "zh-Hans"), ("Chinese", "zh-Hans"), ("français", "fr"),
     ("Francais", "fr"), ("English", "en"), ("英语", "en"), ("anglais", "en")],
)  # fmt: skip
def test_typed_language_names_are_understood(typed: str, language: str) -> None:
    assert places().find_language(typed) == language


def test_a_meta_file_naming_a_zone_that_does_not_exist_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    for path in LOCALES.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    meta = tmp_path / "en.meta.yaml"
    source = meta.read_text(encoding="utf-8")
    assert "Pacific/Auckland, Asia/Tokyo," in source
    broken = source.replace("Pacific/Auckland, Asia/Tokyo,", "Pacific/Auckland, Asia/Tokio,")
    meta.write_text(broken, encoding="utf-8")
    line, text = next((n, t) for n, t in enumerate(broken.splitlines(), 1) if "Asia/Tokio" in t)
    with pytest.raises(FlowValidationError) as refused:
        load_bundle(ROOT / "flows" / "cancel_esim.yaml", tmp_path, ui_texts=UI_TEXTS)
    assert [str(problem) for problem in refused.value.problems] == [
        f"{meta}:{line}:{text.index('Asia/Tokio') + 1}: unknown time zone 'Asia/Tokio' (an IANA name, e.g. Asia/Shanghai)"
    ]
