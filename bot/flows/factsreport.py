"""Where each claim of the facts file is said: when a fact changes, an operator knows every screen to revisit.

``esim-bot facts --report`` prints, per claim ID, the screens that state it, the text keys and the languages;
then the claims no text cites. A provider's field is stated on each screen whose text shows it to a
conversation that can have chosen that provider there (the flow's edges, walked to a fixpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from bot.flows import model as m
from bot.flows.claims import cited_texts
from bot.flows.facts import Facts
from bot.flows.graph import edges
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


Provider = str | None


def _holds(flow: m.Flow, table: str, condition: m.Condition | None, provider: Provider) -> bool:
    """Tells whether a condition can hold for a conversation whose provider is ``provider``."""
    for path, expected in (condition or {}).items():
        variable, _, attribute = path.partition(".")
        if variable != table:
            continue  # another variable: it may hold
        values = expected if isinstance(expected, list) else [expected]
        row = flow.providers.get(provider) if provider is not None else None
        value = (getattr(row, attribute, None) if row is not None else None) if attribute else provider
        if value not in values:
            return False
    return True


def _after(actions: Iterable[m.Action], table: str, provider: Provider) -> Provider:
    for action in actions:
        if isinstance(action, m.SetAction) and table in action.set:
            provider = action.set[table]
    return provider


def providers_at(flow: m.Flow, table: str) -> dict[str, set[Provider]]:
    """Returns, per state, the providers a conversation on it can have chosen (a fixpoint over the edges)."""
    start = _after(flow.states[flow.start].on_enter, table, flow.variables[table].default)
    reached: dict[str, set[Provider]] = {name: set() for name in flow.states}
    reached[flow.start].add(start)
    moves = [edge for edge in edges(flow) if edge.target in reached and edge.source in reached]
    changed = True
    while changed:
        changed = False
        for edge in moves:
            for provider in list(reached[edge.source]):
                if not _holds(flow, table, edge.when, provider):
                    continue
                target = edge.target or edge.source
                arrived = _after(flow.states[target].on_enter, table, _after(edge.do, table, provider))
                if arrived not in reached[target]:
                    reached[target].add(arrived)
                    changed = True
    return reached


def _screens_showing(flow: m.Flow, fields_of: Mapping[str, set[str]], provider: str, field: str) -> list[str]:
    """Returns the states and reminders that show ``provider``'s ``field``: their text has the placeholder,
    its variant's condition allows that provider, and a conversation with it can get there."""
    table = next((name for name, v in flow.variables.items() if v.table == "providers"), None)
    if table is None:
        return []
    reached = providers_at(flow, table)
    shown = []
    for name, state in flow.states.items():
        variants = [m.TextVariant(text=state.text)] if isinstance(state.text, str) else state.text
        if provider in reached[name] and any(
            field in fields_of.get(v.text, set()) and _holds(flow, table, v.when, provider) for v in variants
        ):
            shown.append(name)
    for name, reminder in flow.reminders.items():
        waiting = any(provider in reached[state] for state in reminder.active_in)
        if waiting and any(field in fields_of.get(key, set()) for key in (reminder.text, reminder.help)):
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
            provider, _, field = text.screen.removeprefix("provider ").partition(".")
            screens = _screens_showing(bundle.flow, fields_of, provider, field) or screens
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
