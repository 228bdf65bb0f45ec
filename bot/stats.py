"""The operators' funnel: how many conversations reached each state, where people stopped, who confirmed.

Besides the counts per state (:meth:`Reports.funnel`), each conversation's way through the flow
(:meth:`Reports.journeys`) gives the steps people took from screen to screen, and what became of each
request sent to a provider: confirmed, still waiting, or given up, with the time it took to be confirmed.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.flows import FlowBundle
from bot.flows.model import Flow
from bot.startup import opened_store
from bot.store import FunnelStats, Journey, Reports, Ticket, TicketCounts, Tickets
from bot.store.sqlite import SqliteStore

__all__ = ["FunnelReport", "Outcome", "Step", "age_text", "funnel_from", "funnel_report"]

_NO_TICKETS = TicketCounts(0, 0, 0)
# How many screens "where people stop most" lists.
_TOP_STOPS = 5


@dataclass(frozen=True, slots=True)
class Step:
    """How many conversations went straight from one screen to another."""

    source: str
    target: str
    chats: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of the requests sent to one provider (None: a conversation that no longer says which)."""

    provider: str | None
    name: str
    requested: int
    confirmed: int
    waiting: int
    given_up: int
    to_confirmation: tuple[timedelta, ...]
    """How long each confirmed request took, from entering a waiting screen to the confirmation, sorted."""

    def median(self) -> timedelta | None:
        """Returns the median time to confirmation."""
        times, middle = self.to_confirmation, len(self.to_confirmation) // 2
        if not times:
            return None
        return times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2

    def percentile_90(self) -> timedelta | None:
        """Returns the time within which 90% of the confirmed requests were confirmed (nearest rank)."""
        if not self.to_confirmation:
            return None
        return self.to_confirmation[math.ceil(0.9 * len(self.to_confirmation)) - 1]


@dataclass(frozen=True, slots=True)
class Waiting:
    """The states that tell a request's fate, from the flow's reminders."""

    requested: frozenset[str]
    confirmed: frozenset[str]
    still_waiting: frozenset[str]

    @classmethod
    def of(cls, flow: Flow) -> Waiting:
        """Reads the states from the flow's reminders: active_in, confirmed and after_last."""
        reminders = flow.reminders.values()
        active = frozenset(state for reminder in reminders for state in reminder.active_in)
        last = frozenset(reminder.after_last for reminder in reminders if reminder.after_last)
        return cls(active, frozenset(reminder.confirmed for reminder in reminders), active | last)


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """A funnel in the flow's own state order, ready to print, draw or publish."""

    stats: FunnelStats
    order: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    final: frozenset[str] = frozenset()
    tickets: TicketCounts = _NO_TICKETS
    """Questions to a person opened in the period, and how many were answered and closed."""
    open_tickets: tuple[Ticket, ...] = ()
    """Questions to a person open now, oldest first."""

    def tickets_json(self) -> dict[str, object]:
        """Returns the questions to a person: the period's counts, and those open with their age."""
        until = self.stats.until
        return {
            "opened": self.tickets.opened,
            "answered": self.tickets.answered,
            "closed": self.tickets.closed,
            "open": [
                {
                    "ticket": ticket.id,
                    "language": ticket.language,
                    "opened_at": ticket.opened_at.isoformat(),
                    "age_hours": _hours(until - ticket.opened_at),
                    "answered": ticket.answered_at is not None,
                }
                for ticket in self.open_tickets
            ],
        }

    def stops(self) -> list[dict[str, object]]:
        """Returns the screens where most people stopped (final screens are where people finish)."""
        counts = [c for c in self.stats.states if c.dropped_off and c.state not in self.final]
        counts.sort(key=lambda c: (-c.dropped_off, self.order.index(c.state) if c.state in self.order else 0))
        return [
            {
                "state": c.state,
                "stopped_here": c.dropped_off,
                "of_reached": round(c.dropped_off / c.reached, 3),
            }
            for c in counts[:_TOP_STOPS]
        ]

    def as_json(self) -> dict[str, object]:
        """Returns the report as plain data."""
        counts = {s.state: s for s in self.stats.states}
        return {
            "flow": self.stats.flow_id,
            "since": self.stats.since.isoformat(),
            "until": self.stats.until.isoformat(),
            "started": self.stats.started,
            "confirmed": self.stats.confirmed,
            "states": [
                {"state": name, "reached": counts[name].reached, "stopped_here": counts[name].dropped_off}
                for name in self.order
                if name in counts
            ],
            "stops": self.stops(),
            "steps": [{"from": s.source, "to": s.target, "chats": s.chats} for s in self.steps],
            "outcomes": [_outcome_json(outcome) for outcome in self.outcomes],
            "tickets": self.tickets_json(),
        }

    def as_text(self) -> str:
        """Returns the report as an aligned table."""
        data = self.as_json()
        started = self.stats.started or 1
        lines = [
            f"Flow {data['flow']}, {self.stats.since:%Y-%m-%d %H:%M} to {self.stats.until:%Y-%m-%d %H:%M} UTC",
            f"Conversations started: {self.stats.started}; confirmed by the provider: {self.stats.confirmed}",
            "",
            f"{'state':<24}{'reached':>9}{'% of start':>12}{'stopped here':>14}",
        ]
        rows = data["states"]
        assert isinstance(rows, list)
        for row in rows:
            share = 100 * row["reached"] / started
            lines.append(f"{row['state']:<24}{row['reached']:>9}{share:>11.0f}%{row['stopped_here']:>14}")
        if not rows:
            lines.append("(no conversations in this period)")
        lines += ["", self._tickets_text()]
        return "\n".join(lines)

    def _tickets_text(self) -> str:
        counts = self.tickets
        lines = [
            f"Questions to a person: {counts.opened} asked, {counts.answered} answered, {counts.closed} closed;"
            f" {len(self.open_tickets)} open now"
        ]
        for ticket in self.open_tickets:
            age = self.stats.until - ticket.opened_at
            answered = "answered" if ticket.answered_at else "not answered yet"
            lines.append(f"  #{ticket.id:<6} {ticket.language:<8} open for {age_text(age):>8}  {answered}")
        return "\n".join(lines)


def age_text(duration: timedelta) -> str:
    """Returns a duration as an operator reads it: 3 d 4 h, 5 h, 20 min."""
    minutes = int(duration / timedelta(minutes=1))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration / timedelta(hours=1), 1)


def _outcome_json(outcome: Outcome) -> dict[str, object]:
    return {
        "provider": outcome.provider,
        "name": outcome.name,
        "requested": outcome.requested,
        "confirmed": outcome.confirmed,
        "still_waiting": outcome.waiting,
        "given_up": outcome.given_up,
        "hours_to_confirmation": {
            "median": _hours(outcome.median()),
            "p90": _hours(outcome.percentile_90()),
        },
    }


def steps_of(journeys: Sequence[Journey]) -> tuple[Step, ...]:
    """Counts, for each pair of screens, the conversations that went straight from one to the other."""
    taken: Counter[tuple[str, str]] = Counter()
    for journey in journeys:
        states = [state for state, _ in journey.entered]
        taken.update({(a, b) for a, b in itertools.pairwise(states) if a != b})
    return tuple(Step(a, b, n) for (a, b), n in sorted(taken.items(), key=lambda item: (-item[1], item[0])))


def outcomes_of(journeys: Sequence[Journey], flow: Flow) -> tuple[Outcome, ...]:
    """Sorts each request into confirmed, still waiting or given up, per provider, busiest first."""
    waiting = Waiting.of(flow)
    fates: dict[str | None, list[str]] = {}
    durations: dict[str | None, list[timedelta]] = {}
    for journey in journeys:
        asked = next((at for state, at in journey.entered if state in waiting.requested), None)
        if asked is None:
            continue
        confirmed = next(
            (at for state, at in journey.entered if state in waiting.confirmed and at >= asked), None
        )
        if confirmed is not None:
            fate = "confirmed"
            durations.setdefault(journey.value, []).append(confirmed - asked)
        else:
            fate = "waiting" if journey.entered[-1][0] in waiting.still_waiting else "given_up"
        fates.setdefault(journey.value, []).append(fate)
    outcomes = []
    for provider, results in fates.items():
        known = flow.providers.get(provider) if provider is not None else None
        outcomes.append(
            Outcome(
                provider=provider,
                name=known.name if known else provider or "(not known any more)",
                requested=len(results),
                confirmed=results.count("confirmed"),
                waiting=results.count("waiting"),
                given_up=results.count("given_up"),
                to_confirmation=tuple(sorted(durations.get(provider, []))),
            )
        )
    return tuple(sorted(outcomes, key=lambda o: (-o.requested, o.provider is None, o.name)))


class FunnelSource(Reports, Tickets, Protocol):
    """What the report reads: the funnel and journeys, and the tickets people opened."""


def provider_variable(flow: Flow) -> str | None:
    """Returns the variable that names the provider: the one keyed to the providers table."""
    return next((name for name, variable in flow.variables.items() if variable.table == "providers"), None)


async def funnel_from(
    store: FunnelSource, bundle: FlowBundle, since: datetime, until: datetime
) -> FunnelReport:
    """Reads the funnel of ``bundle``'s flow from an open store."""
    flow = bundle.flow
    stats = await store.funnel(flow.id, since, until, Waiting.of(flow).confirmed)
    journeys = await store.journeys(flow.id, since, until, provider_variable(flow) or "")
    final = frozenset(name for name, state in flow.states.items() if state.final)
    report = FunnelReport(stats, tuple(flow.states), steps_of(journeys), outcomes_of(journeys, flow), final)
    counts = await store.ticket_counts(since, until)
    return replace(report, tickets=counts, open_tickets=tuple(await store.open_tickets()))


async def funnel_report(
    database: str | Path | None, bundle: FlowBundle, since: datetime, until: datetime
) -> FunnelReport:
    """Reads the funnel of ``bundle``'s flow from the database (None: there is none yet, nothing to count)."""
    if database is None:
        # An empty in-memory store gives the empty report without creating a file where none was (through
        # opened_store, a Path(":memory:") was probed as a file and left one named so in the working folder).
        async with SqliteStore(":memory:") as empty:
            return await funnel_from(empty, bundle, since, until)
    async with opened_store(database) as store:
        return await funnel_from(store, bundle, since, until)
