"""Where people are, in their own words: places offered and typed, zone names, moments and language names.

What depends on the person's language comes from each language's ``locales/<language>.meta.yaml``
(:mod:`bot.flows.languages`) and from CLDR through Babel (city and country names in every language), so
a language added as a file adds its places too. Nothing here knows of Telegram or of the store.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_timedelta, get_timezone_location

from bot.flows.languages import Languages, PlaceWords
from bot.localtime import format_when

__all__ = ["Places"]


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
    """The places of every language, from the languages' meta files (:mod:`bot.flows.languages`)."""

    languages: Languages
    typed: Mapping[str, str]
    """Folded typed name -> zone, over every language."""
    language_names: Mapping[str, str]
    """Folded typed language name -> language."""
    cldr_locales: tuple[str, ...]
    """Whose city and country names are understood when typed, whatever language the chat is in."""

    @classmethod
    def of(cls, languages: Languages) -> Places:
        """Returns the places of ``languages`` (already validated: every zone they name exists)."""
        typed: dict[str, str] = {}
        names: dict[str, str] = {}
        cldr: list[str] = []
        for language, meta in languages.meta.items():
            for zone, written in (meta.places.typed if meta.places else {}).items():
                typed.update((_folded(name), zone) for name in written)
            names.update((_folded(name), language) for name in (*meta.typed_names, language))
            cldr += [name for name in meta.cldr or [language.replace("-", "_")] if name not in cldr]
        return cls(languages, typed, names, tuple(cldr))

    def _words(self, language: str) -> PlaceWords:
        return self.languages.places_of(language)

    def day_and_time(self, moment: datetime, zone: tzinfo, language: str, now: datetime) -> str:
        """Returns a moment in ``zone`` as the person reads it, without the zone: "demain à 09:00"."""
        locale = _locale(language, self._fallback)
        return format_when(moment, zone, locale, now, self.languages.days_of(language))

    def when(self, moment: datetime, zone: tzinfo, zone_name: str, language: str, now: datetime) -> str:
        """Returns a moment as the person reads it, naming its zone: "demain à 09:00 (heure de Paris)"."""
        return self.moment(self.day_and_time(moment, zone, language, now), zone_name, language)

    def after(self, delay: timedelta, language: str) -> str:
        """Returns how long until a moment, without a clock time: "in 1 week", "dans 1 jour", "1天后".

        For a person whose zone is not known yet: the day and hour depend on where they are.
        """
        locale = _locale(language, self._fallback)
        # At least a minute: a reminder due now or overdue is "in 1 minute", never "in 0 seconds".
        ahead = max(delay, timedelta(minutes=1))
        return str(
            format_timedelta(ahead, granularity="minute", threshold=1, add_direction=True, locale=locale)
        )

    @property
    def _fallback(self) -> str:
        return self.languages.default

    def offered_zones(self, language: str) -> tuple[str, ...]:
        """Returns the places to offer a person speaking ``language``, likeliest first."""
        return tuple(self._words(language).offered)

    def preselected(self, language: str) -> str:
        """Returns the zone assumed for a person speaking ``language`` until they say where they are."""
        return self.offered_zones(language)[0]

    def place_label(self, zone: str, language: str) -> str:
        """Returns a button label for a zone: the country's flag and name, and the city when it has several."""
        locale = _locale(language, self._fallback)
        territory = _territory(zone)
        if territory is None:
            return self.zone_label(zone, language)
        country = str(locale.territories.get(territory, territory))
        if len(_zones_of(territory)) > 1 and zone not in self._words(language).country_only:
            template = self._words(language).country_with_city
            country = template.format(country=country, city=_city(zone, locale))
        return f"{_flag(territory)} {country}"

    def zone_label(self, zone: tzinfo | str, language: str) -> str:
        """Returns how a zone is named after a time: "上海时间", "heure de Paris", "UTC+08:00"."""
        name = zone if isinstance(zone, str) else str(zone)
        if isinstance(zone, timezone) or name.upper().startswith(("UTC", "GMT", "ETC/")):
            return _offset_name(zone, name)
        words = self._words(language)
        exception = words.zone_name_exceptions.get(name)
        if exception:
            return exception
        return words.zone_name.format(city=_city(name, _locale(language, self._fallback)))

    def moment(self, when: str, zone: tzinfo | str, language: str) -> str:
        """Returns a moment with its zone named: "demain à 09:00 (heure de Paris)"."""
        return self._words(language).moment.format(when=when, zone=self.zone_label(zone, language))

    def find_zone(self, text: str) -> str | None:
        """Returns the zone of a place typed in any of the bot's languages ("上海", "Pékin", "Perth"), or None."""
        key = _folded(text)
        if not key:
            return None
        return self.typed.get(key) or _cldr_places(self.cldr_locales).get(key)

    def find_language(self, text: str) -> str | None:
        """Returns the language a typed name asks for ("中文", "Français", "english"), or None."""
        return self.language_names.get(_folded(text))


@cache
def _locale(language: str, fallback: str) -> Locale:
    for name in (language, fallback):
        try:
            return Locale.parse(name.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse("und")  # CLDR's root: neutral names


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
def _cldr_places(locales: tuple[str, ...]) -> Mapping[str, str]:
    """Maps every city CLDR names (in the bot's languages) and every one-zone country to its zone."""
    found: dict[str, str] = {}
    territory_zones: Mapping[str, list[str]] = get_global("territory_zones")
    for name in locales:
        try:
            locale = Locale.parse(name)
        except (ValueError, UnknownLocaleError):
            continue  # a language CLDR does not know: its speakers' own typed names still count
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
