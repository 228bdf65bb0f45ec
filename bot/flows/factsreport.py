"""Where each claim of the facts file is said: when a fact changes, an operator knows every screen to revisit.

``esim-bot facts --report`` prints, per claim ID, the screens that state it (a provider's field is stated on
every screen whose text shows that field), the text keys and the languages; then the claims no text cites.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.flows import model as m
from bot.flows.claims import cited_texts
from bot.flows.facts import Facts
from bot.flows.loader import FlowBundle
from bot.flows.texts import PLACEHOLDER

__all__ = ["Usage", "facts_report", "usages"]


@dataclass(frozen=True, slots=True)
class Usage:
    """One text that cites a claim: on which screen, under which key, how, and in which languages."""

    claim: str
    screen: str
    key: str
    reported: bool
    languages: tuple[str, ...]


def _screens_showing(flow: m.Flow, fields_of: Mapping[str, set[str]], field: str) -> list[str]:
    """Returns the states and reminders whose text shows ``{provider.<field>}``."""
    shown = []
    for name, state in flow.states.items():
        keys = [state.text] if isinstance(state.text, str) else [variant.text for variant in state.text]
        if any(field in fields_of.get(key, set()) for key in keys):
            shown.append(name)
    for name, reminder in flow.reminders.items():
        if any(field in fields_of.get(key, set()) for key in (reminder.text, reminder.help)):
            shown.append(f"reminder {name}")
    return shown


def usages(bundle: FlowBundle) -> Iterator[Usage]:
    """Yields every (claim, screen) a flow's texts cite, in flow order."""
    reference = bundle.texts.by_language[bundle.languages.default]
    # The provider fields each text shows, by its {provider.<field>} placeholders.
    fields_of = {
        key: {name.partition(".")[2] for name in PLACEHOLDER.findall(text)} for key, text in reference.items()
    }
    for text in cited_texts(bundle.flow):
        screens = [text.screen]
        if text.screen.startswith("provider "):
            screens = _screens_showing(bundle.flow, fields_of, text.screen.rpartition(".")[2]) or screens
        languages = tuple(
            language for language, texts in bundle.texts.by_language.items() if text.key in texts
        )
        for cited in text.claims or ():
            claim = cited if isinstance(cited, str) else cited.id
            for screen in screens:
                yield Usage(claim, screen, text.key, not isinstance(cited, str), languages)


def facts_report(bundle: FlowBundle, facts: Facts) -> str:
    """Returns the report: per claim, its confidence and where it is said; then the claims no text cites."""
    by_claim: dict[str, list[Usage]] = {}
    for usage in usages(bundle):
        by_claim.setdefault(usage.claim, []).append(usage)
    lines = [
        f"{facts.path.name} (version {facts.version}): {len(facts.claims)} claims, {len(by_claim)} cited"
    ]
    for claim_id, found in sorted(by_claim.items()):
        claim = facts.claims.get(claim_id)
        confidence = f"{claim.confidence.value}{', derived' if claim.derived else ''}" if claim else "unknown"
        lines.append(f"{claim_id} ({confidence})")
        seen: set[tuple[str, str, bool]] = set()
        for usage in found:
            if (usage.screen, usage.key, usage.reported) in seen:
                continue
            seen.add((usage.screen, usage.key, usage.reported))
            how = " (reported, not stated)" if usage.reported else ""
            lines.append(f"  {usage.screen}: {usage.key} [{', '.join(usage.languages)}]{how}")
    unused = sorted(set(facts.claims) - set(by_claim))
    lines.append(f"claims no screen uses ({len(unused)}):")
    lines += [f"  {claim_id} ({facts.claims[claim_id].confidence.value})" for claim_id in unused]
    return "\n".join(lines)
