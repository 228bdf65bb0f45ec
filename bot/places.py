"""Where people are, in their own words: places offered and typed, zone names, and language names.

Everything that depends on the person's language lives here, read from ``bot/data/places.yaml`` and from
CLDR through Babel (city and country names in every language), so that a language added as a file later
only adds data. Nothing here knows of Telegram or of the store.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import yaml
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location

__all__ = [
    "PLACES_FILE",
    "Places",
    "places",
]

PLACES_FILE = Path(__file__).with_name("data") / "places.yaml"

_FALLBACK = "en"
_CLDR_LANGUAGES = ("zh_Hans", "zh_Hant", "fr", "en")
"""Whose city and country names are understood when typed, whatever language the chat is in."""


def _folded(text: str) -> str:
    """Returns ``text`` as typed names are compared: case, accents, spaces and punctuation set aside."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = (c for c in decomposed if not unicodedata.combining(c) and (c.isalnum()))
    return "".join(kept)


def _flag(territory: str) -> str:
    """Returns a territory's flag emoji ("CN" -> 🇨🇳)."""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in territory.upper())


@dataclass(frozen=True, slots=True)
class Places:
    """The places file, checked when it is read."""

    offered: Mapping[str, tuple[str, ...]]
    zone_name: Mapping[str, str]
    moments: Mapping[str, str]
    country_with_city: Mapping[str, str]
    zone_name_exceptions: Mapping[str, Mapping[str, str]]
    typed: Mapping[str, str]
    """Folded typed name -> zone."""
    language_names: Mapping[str, str]
    """Folded typed language name -> language."""

    @classmethod
    def read(cls, path: Path = PLACES_FILE) -> Places:
        """Reads and checks the places file: every zone it names must exist."""
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        offered = {language: tuple(zones) for language, zones in raw["offered"].items()}
        typed = {_folded(name): zone for zone, names in raw["typed"].items() for name in names}
        # A zone that does not exist stops the bot at start, rather than at a person's tap.
        unknown = sorted(
            zone
            for zone in {*typed.values(), *(z for zones in offered.values() for z in zones)}
            if zone not in available_timezones()
        )
        if unknown:
            raise ValueError(f"{path}: unknown time zones: {', '.join(unknown)}")
        languages = {
            _folded(name): language for language, names in raw["language_names"].items() for name in names
        }
        return cls(
            offered=offered,
            zone_name=dict(raw["zone_name"]),
            moments=dict(raw["moment"]),
            country_with_city=dict(raw["country_with_city"]),
            zone_name_exceptions={k: dict(v) for k, v in raw["zone_name_exceptions"].items()},
            typed=typed,
            language_names=languages,
        )

    def _of(self, table: Mapping[str, Any], language: str) -> Any:
        return table.get(language) or table[_FALLBACK]

    def offered_zones(self, language: str) -> tuple[str, ...]:
        """Returns the places to offer a person speaking ``language``, likeliest first."""
        zones: tuple[str, ...] = self._of(self.offered, language)
        return zones

    def preselected(self, language: str) -> str:
        """Returns the zone assumed for a person speaking ``language`` until they say where they are."""
        return self.offered_zones(language)[0]

    def place_label(self, zone: str, language: str) -> str:
        """Returns a button label for a zone: the country's flag and name, and the city when it has several."""
        locale = _locale(language)
        territory = _territory(zone)
        if territory is None:
            return self.zone_label(zone, language)
        country = str(locale.territories.get(territory, territory))
        if len(_zones_of(territory)) > 1:
            template: str = self._of(self.country_with_city, language)
            country = template.format(country=country, city=_city(zone, locale))
        return f"{_flag(territory)} {country}"

    def zone_label(self, zone: tzinfo | str, language: str) -> str:
        """Returns how a zone is named after a time: "上海时间", "heure de Paris", "UTC+08:00"."""
        name = zone if isinstance(zone, str) else str(zone)
        if isinstance(zone, timezone) or name.upper().startswith(("UTC", "GMT", "ETC/")):
            return _offset_name(zone, name)
        exception = self.zone_name_exceptions.get(language, {}).get(name)
        if exception:
            return exception
        template: str = self._of(self.zone_name, language)
        return template.format(city=_city(name, _locale(language)))

    def moment(self, when: str, zone: tzinfo | str, language: str) -> str:
        """Returns a moment with its zone named: "demain à 09:00 (heure de Paris)"."""
        template: str = self._of(self.moments, language)
        return template.format(when=when, zone=self.zone_label(zone, language))

    def find_zone(self, text: str) -> str | None:
        """Returns the zone of a place typed in any of the bot's languages ("上海", "Pékin", "Perth"), or None."""
        key = _folded(text)
        if not key:
            return None
        return self.typed.get(key) or _cldr_places().get(key)

    def find_language(self, text: str) -> str | None:
        """Returns the language a typed name asks for ("中文", "Français", "english"), or None."""
        return self.language_names.get(_folded(text))


@cache
def places() -> Places:
    """Returns the places file, read once."""
    return Places.read()


@cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(_FALLBACK)


def _city(zone: str, locale: Locale) -> str:
    try:
        return str(get_timezone_location(zone, locale=locale, return_city=True))
    except LookupError:
        return zone.rsplit("/", 1)[-1].replace("_", " ")


def _territory(zone: str) -> str | None:
    territories: Mapping[str, str] = get_global("zone_territories")
    return territories.get(zone)


def _zones_of(territory: str) -> list[str]:
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    return zones.get(territory, [])


def _offset_name(zone: tzinfo | str, name: str) -> str:
    if isinstance(zone, timezone):
        offset = zone.utcoffset(None)
        if not offset:
            return "UTC"
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return name.removeprefix("Etc/")


@cache
def _cldr_places() -> Mapping[str, str]:
    """Maps every city CLDR names (in Chinese, French and English) and every one-zone country to its zone."""
    found: dict[str, str] = {}
    territory_zones: Mapping[str, list[str]] = get_global("territory_zones")
    for name in _CLDR_LANGUAGES:
        locale = Locale.parse(name)
        for zone, names in locale.time_zones.items():
            city = names.get("city")
            if city and "/" in zone and not zone.startswith("Etc/"):
                found.setdefault(_folded(str(city)), zone)
        for territory, zones in territory_zones.items():
            country = locale.territories.get(territory)
            # A country with several zones is understood only where the places file says which one.
            if country and len(zones) == 1:
                found.setdefault(_folded(str(country)), zones[0])
    return found
