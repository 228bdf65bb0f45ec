"""Places in people's own words: what is offered per language, how zones are named, what typing finds."""

# Chinese and French texts are asserted as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from bot.localtime import parse_timezone
from bot.places import Places, places


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
    assert str(parse_timezone(typed)) == zone


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


def test_a_places_file_naming_a_zone_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "bot" / "data" / "places.yaml"
    broken = tmp_path / "places.yaml"
    broken.write_text(
        source.read_text(encoding="utf-8").replace("Asia/Tokyo", "Asia/Tokio"), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="Asia/Tokio"):
        Places.read(broken)
