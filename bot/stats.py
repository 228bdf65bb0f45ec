"""The operators' funnel: how many conversations reached each state, where people stopped, who confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.flows import FlowBundle
from bot.startup import opened_store
from bot.store import FunnelStats, Store

__all__ = ["FunnelReport", "funnel_from", "funnel_report"]


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """A funnel in the flow's own state order, ready to print."""

    stats: FunnelStats
    order: tuple[str, ...]

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
        return "\n".join(lines)


async def funnel_from(store: Store, bundle: FlowBundle, since: datetime, until: datetime) -> FunnelReport:
    """Reads the funnel of ``bundle``'s flow from an open store."""
    confirmed = frozenset(reminder.confirmed for reminder in bundle.flow.reminders.values())
    stats = await store.funnel(bundle.flow.id, since, until, confirmed)
    return FunnelReport(stats, tuple(bundle.flow.states))


async def funnel_report(
    database: str | Path | None, bundle: FlowBundle, since: datetime, until: datetime
) -> FunnelReport:
    """Reads the funnel of ``bundle``'s flow from the database (None: there is none yet, nothing to count)."""
    # An empty in-memory store gives the empty report without creating a file where none was.
    async with opened_store(database or Path(":memory:")) as store:
        return await funnel_from(store, bundle, since, until)
