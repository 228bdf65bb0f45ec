"""What the bot knows about each language besides its texts, from ``locales/<language>.meta.yaml``.

A language is a file: ``locales/xx.yaml`` holds its texts, and an optional ``locales/xx.meta.yaml`` says
which Telegram language codes pick it, the names people type to switch to it, its words for today and
tomorrow, the places it offers and understands, and its hedge words (a text citing a ``likely`` claim must
hold one). The meta file is validated like a flow (every
problem at its ``file:line:col``) and loaded with the texts, so a reload changes it too. A language
without one still works: chosen from the menu or by its code, absolute dates, the default's places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.flows.errors import Problem
from bot.flows.words import Target, Words
from bot.flows.yamlsource import parse_yaml

__all__ = [
    "META_SUFFIX",
    "NEUTRAL_PLACES",
    "DayWords",
    "LanguageMeta",
    "Languages",
    "PlaceWords",
    "load_languages",
]

META_SUFFIX = ".meta.yaml"


def _known_zone(zone: str) -> str:
    if zone not in _zones():
        raise ValueError(f"unknown time zone '{zone}' (an IANA name, e.g. Asia/Shanghai)")
    return zone


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


Zone = Annotated[str, AfterValidator(_known_zone)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DayWords(_Frozen):
    """How a moment today or tomorrow reads; ``{time}`` is the local time ("demain à {time}")."""

    today: str = Field(pattern=r"\{time\}")
    tomorrow: str = Field(pattern=r"\{time\}")


class PlaceWords(_Frozen):
    """The places a language offers first, how it names zones, and place names its speakers type."""

    offered: list[Zone] = Field(min_length=1, description="Buttons of 'where are you?'; the first is assumed")
    zone_name: str = Field(pattern=r"\{city\}", description="A zone after a time: '{city} time'")
    moment: str = Field(pattern=r"\{when\}", description="A moment and its zone: '{when} ({zone})'")
    country_with_city: str = Field(pattern=r"\{country\}", description="A country with several zones")
    zone_name_exceptions: dict[Zone, str] = Field(default_factory=dict)
    country_only: list[Zone] = Field(
        default_factory=list,
        description="Zones a place button names by their country alone, though it has several (New Zealand)",
    )
    typed: dict[Zone, list[str]] = Field(
        default_factory=dict, description="Names people type that are not a zone's city in CLDR"
    )


class LanguageMeta(_Frozen):
    """One language's ``locales/<language>.meta.yaml``."""

    telegram_codes: list[str] = Field(
        min_length=1,
        description="Telegram language_code prefixes that pick this language; the first names its command menu",
    )
    default: bool = Field(default=False, description="The language for anyone whose code matches none")
    typed_names: list[str] = Field(default_factory=list, description="Names that switch to this language")
    cldr: list[str] = Field(
        default_factory=list, description="CLDR locales whose city and country names people type"
    )
    dates: DayWords | None = None
    places: PlaceWords | None = None
    names: dict[str, str] = Field(
        default_factory=dict,
        description="Provider names this language writes its own way (Fliggy: 飞猪), for the drift check",
    )
    hedges: list[Annotated[str, Field(min_length=2)]] = Field(
        default_factory=list,
        description="Words that hedge a 'likely' claim ('usually'); a text citing one must hold one of them",
    )
    attributions: list[Annotated[str, Field(pattern=r"\{provider\}")]] = Field(
        default_factory=list,
        description="How this language credits a provider ('{provider} says'): never for a derived claim",
    )
    words: Words | None = Field(default=None, description="Typed words and the deep links they suggest")


NEUTRAL_PLACES = PlaceWords(
    offered=["Pacific/Noumea"],
    zone_name="{city}",
    moment="{when} ({zone})",
    country_with_city="{country} ({city})",
)
"""Places for a locales folder without any meta file: New Caledonia, zones named by their city alone."""


@dataclass(frozen=True, slots=True)
class Languages:
    """Every language of a bundle with what its meta file says; complete by construction."""

    meta: Mapping[str, LanguageMeta]
    default: str

    @property
    def codes(self) -> tuple[str, ...]:
        """Returns the language codes, in file order."""
        return tuple(self.meta)

    def telegram_code(self, language: str) -> str:
        """Returns the Telegram language code a language's command menu is registered for."""
        return self.meta[language].telegram_codes[0]

    def choose(self, language_code: str | None) -> str:
        """Picks the bot language for Telegram's ``language_code``: the longest matching prefix, else the default."""
        code = (language_code or "").lower()
        best, length = self.default, 0
        for language, meta in self.meta.items():
            for prefix in meta.telegram_codes:
                folded = prefix.lower()
                if (code == folded or code.startswith(f"{folded}-") or code.startswith(folded)) and len(
                    folded
                ) > length:
                    best, length = language, len(folded)
        return best

    def places_of(self, language: str) -> PlaceWords:
        """Returns a language's places, or the default language's when it has none (or neutral ones)."""
        own = self.meta[language].places if language in self.meta else None
        return own or self.meta[self.default].places or NEUTRAL_PLACES

    def days_of(self, language: str) -> DayWords | None:
        """Returns a language's words for today and tomorrow, or None (dates are then always written out).

        A language the bot does not speak reads the default language's.
        """
        meta = self.meta.get(language) or self.meta[self.default]
        return meta.dates


def _bare(language: str) -> LanguageMeta:
    """Returns what a language without a meta file is taken to be: picked by its own code."""
    return LanguageMeta(telegram_codes=[language.split("-")[0].lower()], typed_names=[language])


def load_languages(directory: Path, languages: Sequence[str]) -> tuple[Languages | None, list[Problem]]:
    """Reads the meta file of each language (those without one get defaults); returns them and the problems."""
    from bot.flows.loader import schema_problems  # the loader imports this module

    problems: list[Problem] = []
    found: dict[str, LanguageMeta] = {}
    for path in sorted(directory.glob(f"*{META_SUFFIX}")):
        language = path.name.removesuffix(META_SUFFIX)
        if language not in languages:
            problems.append(
                Problem(path, 1, 1, f"no texts for language '{language}': add {language}.yaml beside it")
            )
            continue
        located, errors = parse_yaml(path)
        problems += errors
        if located is None:
            continue
        try:
            found[language] = LanguageMeta.model_validate(located.data)
        except ValidationError as exc:
            problems += schema_problems(located, exc, sorted(_FIELDS))
    defaults = [language for language, meta in found.items() if meta.default]
    if len(defaults) > 1:
        problems.append(
            Problem(directory, 1, 1, f"several languages say 'default: true': {', '.join(sorted(defaults))}")
        )
    if problems or not languages:
        return None, problems
    default = defaults[0] if defaults else languages[0]
    meta = {language: found.get(language) or _bare(language) for language in languages}
    return Languages(MappingProxyType(meta), default), problems


_FIELDS = {
    name for model in (LanguageMeta, DayWords, PlaceWords, Words, Target) for name in model.model_fields
}
