"""Every text a flow shows names the claims of its facts file it rests on, and says them as the facts allow.

A flow with ``facts:`` must give each text ``claims:`` (``[]`` for a text that states no fact). The checks:
an ID the facts file lacks (with did-you-mean) or has retired; an unsure, conflicting or NOT FOUND claim cited
as stated (it may only be reported, ``{id: ..., as: conflicting}``); ``as`` that is not the claim's own
confidence; a ``likely`` claim whose text, in some language, holds none of that language's hedge words
(``hedges:`` in ``locales/<language>.meta.yaml``); a text with no ``claims:`` at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.flows import model as m
from bot.flows.errors import Problem, did_you_mean
from bot.flows.facts import Claim, Confidence, Facts, load_facts
from bot.flows.languages import Languages
from bot.flows.texts import LocaleFile
from bot.flows.yamlsource import Located

__all__ = ["CitedText", "check_claims", "cited_texts", "facts_path", "has_hedge"]

Location = tuple[str | int, ...]

_AS = {"unsure": Confidence.UNSURE, "conflicting": Confidence.CONFLICTING, "not_found": Confidence.NOT_FOUND}


@dataclass(frozen=True, slots=True)
class CitedText:
    """A text the flow shows, where it is shown, and the claims it cites (None: the flow names none)."""

    key: str
    screen: str
    claims: tuple[m.ClaimRef, ...] | None
    location: Location


def _claims(claims: Sequence[m.ClaimRef] | None) -> tuple[m.ClaimRef, ...] | None:
    return None if claims is None else tuple(claims)


def cited_texts(flow: m.Flow) -> Iterator[CitedText]:
    """Yields every fact-bearing text of a flow: states' texts and variants, provider fields, reminders."""
    for name, state in flow.states.items():
        here: Location = ("states", name)
        if isinstance(state.text, str):
            at = (*here, "claims") if state.claims is not None else (*here, "text")
            yield CitedText(state.text, name, _claims(state.claims), at)
            continue
        for index, variant in enumerate(state.text):
            at = (*here, "text", index)
            where = (*at, "claims") if variant.claims is not None else at
            yield CitedText(variant.text, name, _claims(variant.claims), where)
    for name, reminder in flow.reminders.items():
        here = ("reminders", name)
        for field, key, claims in (
            ("text", reminder.text, reminder.claims.get("text")),
            ("help", reminder.help, reminder.claims.get("help")),
        ):
            at = (*here, "claims", field) if claims is not None else (*here, field)
            yield CitedText(key, f"reminder {name}", _claims(claims), at)
    for name, provider in flow.providers.items():
        here = ("providers", name)
        for field, key in _provider_fields(provider):
            claims = provider.claims.get(field)
            at = (*here, "claims", field) if claims is not None else (*here, *_field_path(field))
            yield CitedText(key, f"provider {name}.{field}", _claims(claims), at)


def _provider_fields(provider: m.Provider) -> list[tuple[str, str]]:
    fields = [("how_to", provider.how_to)]
    if provider.refund_rule:
        fields.append(("refund_rule", provider.refund_rule))
    return fields + list(provider.texts.items())


def _field_path(field: str) -> Location:
    return (field,) if field in m.PROVIDER_TEXT_FIELDS else ("texts", field)


def facts_path(flow: m.Flow, flow_path: Path) -> Path | None:
    """Returns the facts file a flow names, resolved beside the flow file, or None."""
    return None if flow.facts is None else flow_path.parent / flow.facts


def has_hedge(text: str, hedges: Sequence[str]) -> bool:
    """Tells whether ``text`` holds one of ``hedges`` (case-insensitive; quotes around a hedge are ignored)."""
    folded = text.casefold()
    return any(hedge.strip("«»“”\"' ").casefold() in folded for hedge in hedges)


@dataclass(slots=True)
class _ClaimChecker:
    located: Located
    flow: m.Flow
    facts: Facts
    locales: Sequence[LocaleFile]
    languages: Languages | None
    problems: list[Problem]

    def report(self, location: Location, message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(location, message, key=key))

    def run(self) -> None:
        for name, provider in self.flow.providers.items():
            fields = {field for field, _ in _provider_fields(provider)}
            for field in provider.claims:
                if field not in fields:
                    message = f"provider '{name}' has no text field '{field}'{did_you_mean(field, fields)}"
                    self.report(("providers", name, "claims", field), message, key=True)
        hedged: dict[str, list[str]] = {}
        ours: dict[str, list[str]] = {}
        for text in cited_texts(self.flow):
            if text.claims is None:
                self.report(text.location, _no_claims(text), key=text.location[-1] != "text")
                continue
            cited = [
                self.claim(reference, (*text.location, index)) for index, reference in enumerate(text.claims)
            ]
            for reference, claim in zip(text.claims, cited, strict=True):
                if claim is not None and claim.confidence is Confidence.LIKELY and isinstance(reference, str):
                    hedged.setdefault(text.key, []).append(claim.id)
            found = [claim for claim in cited if claim is not None]
            if found and all(claim.derived for claim in found):
                ours.setdefault(text.key, []).extend(claim.id for claim in found)
        self.check_hedges(hedged)
        self.check_attributions(ours)

    def claim(self, reference: m.ClaimRef, location: Location) -> Claim | None:
        """Checks one cited claim; returns it when it exists."""
        name = reference if isinstance(reference, str) else reference.id
        claim = self.facts.claims.get(name)
        facts = self.facts.path.name
        if name in self.facts.retired:
            self.report(location, f"claim '{name}' is retired in {facts}: cite the claim that replaced it")
            return None
        if claim is None:
            self.report(
                location, f"unknown claim '{name}'{did_you_mean(name, self.facts.claims)} (not in {facts})"
            )
            return None
        if isinstance(reference, str) and not claim.confidence.stated:
            spelled = "not_found" if claim.confidence is Confidence.NOT_FOUND else claim.confidence.value
            self.report(
                location,
                f"claim '{name}' is {claim.confidence.value}, so no text may state it: word it as the facts allow and cite it as {{id: {name}, as: {spelled}}}",
            )
        elif isinstance(reference, m.ClaimAs) and _AS[reference.as_] is not claim.confidence:
            self.report(
                location, f"claim '{name}' is {claim.confidence.value}, not {reference.as_}: cite it as it is"
            )
        return claim

    def check_hedges(self, hedged: Mapping[str, list[str]]) -> None:
        # Without the languages (a meta file is broken and already reported) there are no hedges to check.
        if not hedged or self.languages is None:
            return
        for locale in self.locales:
            hedges = self.languages.meta[locale.language].hedges
            if not hedges:
                message = f"texts cite 'likely' claims but language '{locale.language}' has no hedge words: add 'hedges:' to locales/{locale.language}.meta.yaml"
                self.problems.append(locale.located.problem((), message))
                continue
            for key, claims in hedged.items():
                text = locale.texts.get(key)
                if text is None or has_hedge(text, hedges):
                    continue
                listed = ", ".join(f"'{claim}'" for claim in dict.fromkeys(claims))
                message = f"text '{key}' states likely claim {listed} with none of {locale.language}'s hedge words ({', '.join(hedges)})"
                self.problems.append(locale.located.problem(tuple(key.split(".")), message))

    def check_attributions(self, ours: Mapping[str, list[str]]) -> None:
        """Reports a text resting only on derived claims (our own conclusions) that credits a provider with
        them ("Airalo says"): the facts never attribute a derived claim to a provider ([wording.derived])."""
        if not ours or self.languages is None:
            return
        for locale in self.locales:
            meta = self.languages.meta[locale.language]
            names = {provider.name for provider in self.flow.providers.values()} | set(meta.names.values())
            phrases = [
                pattern.replace("{provider}", name).casefold()
                for pattern in meta.attributions
                for name in sorted(names)
            ]
            for key, claims in ours.items():
                text = locale.texts.get(key, "")
                folded = text.casefold()
                credited = next((phrase for phrase in phrases if phrase in folded), None)
                if credited is None:
                    continue
                if len(folded) == len(text):  # quoted as written, where folding kept the positions
                    start = folded.index(credited)
                    credited = text[start : start + len(credited)]
                listed = ", ".join(f"'{claim}'" for claim in dict.fromkeys(claims))
                message = f"text '{key}' words our own conclusion as a provider's ('{credited}'): {listed} derived, which no text may attribute to a provider"
                self.problems.append(locale.located.problem(tuple(key.split(".")), message))


def _no_claims(text: CitedText) -> str:
    return f"text '{text.key}' ({text.screen}) names no claims: list the claim IDs it rests on, or 'claims: []' if it states no fact"


def check_claims(
    located: Located,
    flow: m.Flow,
    locales: Sequence[LocaleFile],
    languages: Languages | None,
) -> list[Problem]:
    """Returns every problem with the claims a flow's texts cite (nothing for a flow without ``facts:``)."""
    problems: list[Problem] = []
    path = facts_path(flow, located.path)
    if path is None:
        for text in cited_texts(flow):
            if text.claims:
                message = "claims need a facts file: name it with 'facts:' at the top of the flow"
                return [located.problem(text.location, message)]
        return []
    facts, found = load_facts(path)
    if facts is None:
        return [located.problem(("facts",), f"cannot read the facts file '{flow.facts}' (looked for {path})")]
    problems += found
    _ClaimChecker(located, flow, facts, locales, languages, problems).run()
    return problems
