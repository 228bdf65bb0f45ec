"""The same facts in every language: each text is compared, key by key, with the default language's.

A translation may word a fact its own way, but what a reader acts on must not differ: the numbers (a delay, a
percentage, a phone number), the currencies of amounts, web addresses and e-mail addresses, the names of
providers and of the app's menu items kept in English (``My eSIMs → DETAILS``), and whether the text hedges
(one language says "usually", another states it flat). Each difference is a problem at the drifting text.
The bot's own ``ui.*`` texts are left out: they state no facts, and their examples may suit each language.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.flows.budget import plain_text
from bot.flows.claims import has_hedge
from bot.flows.errors import Problem
from bot.flows.texts import LocaleFile

__all__ = ["Marks", "drift_problems", "marks_of", "menu_names", "names_pattern"]

_LABEL_END = re.compile(r"</(?:b|strong)>(?!\s*→)")
_URL = re.compile(r"https?://[^\s\"'<>)]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CURRENCY = re.compile(r"NZ\$|US\$|A\$|€|£|\$")
# A menu path ends at punctuation, Latin or CJK (written as escapes: full-width colon, parenthesis, semicolon,
# comma and the ideographic full stop).
_PATH = re.compile(r"[^\n→:\uff1a(\uff08]+?(?:\s*→\s*[^\n→.\u3002;\uff1b,\uff0c(\uff08]+)+")
_TIME = re.compile(r"\b(\d{1,2}):00\b")
_MONTHS = {
    name: str(number)
    for names in (
        "January February March April May June July August September October November December",
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    )
    for number, name in enumerate(names.split(), start=1)
}
_MONTH = re.compile(rf"\b({'|'.join(_MONTHS)})\b")


@dataclass(frozen=True, slots=True)
class Marks:
    """What a reader acts on in one text: numbers, currencies, addresses, e-mails and names."""

    numbers: Counter[str]
    currencies: frozenset[str]
    urls: frozenset[str]
    emails: frozenset[str]
    names: frozenset[str]


def _number(text: str) -> str:
    """Returns a number as every language writes it: 08 is 8, 2,5 is 2.5."""
    text = text.replace(",", ".")
    return text if "." in text else str(int(text))


def names_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """Returns one pattern finding any of ``names``; Latin letters and digits bound a name, CJK does not."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) or "(?!)"
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def marks_of(text: str, names: re.Pattern[str]) -> Marks:
    """Returns the marks of a text as a person reads it (entities decoded: ``&#39;`` is an apostrophe, not the
    number 39); ``names`` finds the provider and menu names to look for."""
    plain = plain_text(text)
    urls = frozenset(url.rstrip(".,;:") for url in _URL.findall(plain))
    emails = frozenset(_EMAIL.findall(plain))
    rest = _EMAIL.sub(" ", _URL.sub(" ", plain))
    # "08:00" and "8 h", "October" and "10 月" name the same hour and month.
    rest = _MONTH.sub(lambda match: _MONTHS[match[1]], _TIME.sub(r"\1", rest))
    return Marks(
        numbers=Counter(_number(n) for n in _NUMBER.findall(rest)),
        currencies=frozenset(_CURRENCY.findall(rest)),
        urls=urls,
        emails=emails,
        names=frozenset(names.findall(rest)),
    )


def menu_names(text: str) -> set[str]:
    """Returns the items of every menu path (``A → B → C``) written in a text, as written.

    A bold label not followed by an arrow ends its path: in ``→ <b>Data Roaming</b> off`` the item is
    "Data Roaming", not "Data Roaming off".
    """
    if "→" not in text:
        return set()
    found: set[str] = set()
    for path in _PATH.findall(plain_text(_LABEL_END.sub("\n", text))):
        found |= {item.strip(" “”\"'«»") for item in path.split("→")}
    return {name for name in found if len(name) > 2 and name.isascii() and name[:1].isupper()}


def _differences(reference: Marks, other: Marks) -> list[str]:
    found: list[str] = []
    for kind, mine, theirs in (
        ("numbers", reference.numbers, other.numbers),
        ("currencies", Counter(reference.currencies), Counter(other.currencies)),
        ("addresses", Counter(reference.urls), Counter(other.urls)),
        ("e-mails", Counter(reference.emails), Counter(other.emails)),
        ("names", Counter(reference.names), Counter(other.names)),
    ):
        missing = sorted((mine - theirs).elements())
        extra = sorted((theirs - mine).elements())
        if missing or extra:
            parts = [f"lacks {', '.join(missing)}"] if missing else []
            parts += [f"adds {', '.join(extra)}"] if extra else []
            found.append(f"{kind}: {'; '.join(parts)}")
    return found


def drift_problems(
    locales: Sequence[LocaleFile],
    reference_language: str,
    provider_names: Iterable[str],
    hedges: Mapping[str, Sequence[str]],
    aliases: Mapping[str, Mapping[str, str]],
) -> list[Problem]:
    """Returns a problem for each text whose marks or hedging differ from the reference language's.

    ``aliases`` are the names each language writes its own way, from its meta file (``names:``).
    """
    reference = next((f for f in locales if f.language == reference_language), None)
    if reference is None:
        return []
    # Brand names are single words (Airalo, Trip.com, OPT-NC); "French carrier" describes, it names no one.
    parts = {part for name in provider_names for part in re.split(r"\s*[/()]\s*", name)}
    brands = {part for part in parts if len(part) > 2 and " " not in part}
    brand_names = names_pattern(brands)
    problems: list[Problem] = []
    for key, original in reference.texts.items():
        # The bot's own texts (ui.*) state no facts; their examples may fit each language (UTC+1, UTC+8).
        if key.startswith("ui."):
            continue
        translations = [(f, f.texts[key]) for f in locales if f is not reference and key in f.texts]
        translations = [(f, text) for f, text in translations if text != original]
        if not translations:
            continue
        # Menu labels are facts in English only (the facts list phones' and apps' labels in other languages as
        # NOT FOUND): a translation keeps each one as written, and may put its own words beside it.
        kept = menu_names(original)
        names = names_pattern(brands | kept) if kept else brand_names
        ours = marks_of(original, names)
        for locale, text in translations:
            # A name this language writes its own way (Fliggy is 飞猪) counts as written.
            for name, alias in aliases.get(locale.language, {}).items():
                text = text.replace(alias, name)
            where = tuple(key.split("."))
            for difference in _differences(ours, marks_of(text, names)):
                message = f"text '{key}' says other facts than {reference.language}: {difference}"
                problems.append(locale.located.problem(where, message))
            problems += _hedge_drift(key, reference, locale, hedges)
    return problems


def _hedge_drift(
    key: str, reference: LocaleFile, locale: LocaleFile, hedges: Mapping[str, Sequence[str]]
) -> list[Problem]:
    ours, theirs = hedges.get(reference.language), hedges.get(locale.language)
    if not ours or not theirs:
        return []
    hedged = has_hedge(reference.texts[key], ours)
    if hedged == has_hedge(locale.texts[key], theirs):
        return []
    if hedged:
        message = f"text '{key}' hedges in {reference.language} but states it flat in {locale.language}: add one of {', '.join(theirs)}"
        return [locale.located.problem(tuple(key.split(".")), message)]
    message = f"text '{key}' hedges in {locale.language} but states it flat in {reference.language}: add one of {', '.join(ours)}"
    return [reference.located.problem(tuple(key.split(".")), message)]
