"""`esim-bot stats --html`: the funnel as one self-contained page an operator can open or mail.

Everything is inline (the picture as SVG, the style): the page loads nothing, so it reads the same offline,
attached to a mail, or behind a strict content security policy, which the page also declares.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from bot.diagram import funnel_drawing
from bot.flows import FlowBundle
from bot.screen_titles import screen_title
from bot.stats import FunnelReport, Outcome, age_text

__all__ = ["funnel_page"]

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 80em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #ddd; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0; overflow: auto; } figure svg { max-width: 100%; height: auto; }
.muted { color: #666; }
"""
# No network, no script: what a mailed report needs, and what the test in a real browser checks.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _cell(value: object, number: bool = False) -> str:
    return f'<td class="n">{escape(str(value))}</td>' if number else f"<td>{escape(str(value))}</td>"


def _row(*cells: str) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _head(*names: str) -> str:
    return (
        "<tr>"
        + "".join(
            f'<th class="n">{escape(n)}</th>' if n[:1] == "#" else f"<th>{escape(n)}</th>" for n in names
        )
        + "</tr>"
    )


def _duration(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    hours = round(duration / timedelta(hours=1))
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


def _funnel_table(bundle: FlowBundle, report: FunnelReport, language: str) -> str:
    started = report.stats.started or 1
    counts = {count.state: count for count in report.stats.states}
    rows = [
        _row(
            _cell(screen_title(bundle, language, name)),
            _cell(name),
            _cell(counts[name].reached, number=True),
            _cell(f"{counts[name].reached / started:.0%}", number=True),
            _cell(counts[name].dropped_off, number=True),
        )
        for name in report.order
        if name in counts
    ]
    head = _head("screen", "state", "#reached", "#of started", "#stopped here")
    return f'<table id="funnel">{head}{"".join(rows)}</table>'


def _stops_table(bundle: FlowBundle, report: FunnelReport, language: str) -> str:
    rows = [
        _row(
            _cell(screen_title(bundle, language, str(stop["state"]))),
            _cell(stop["state"]),
            _cell(stop["stopped_here"], number=True),
            _cell(f"{float(str(stop['of_reached'])):.0%}", number=True),
        )
        for stop in report.stops()
    ]
    head = _head("screen", "state", "#stopped here", "#of those who reached it")
    return f'<table id="stops">{head}{"".join(rows)}</table>' if rows else "<p>Nobody stopped yet.</p>"


def _outcome_row(outcome: Outcome) -> str:
    return _row(
        _cell(outcome.name),
        _cell(outcome.requested, number=True),
        _cell(outcome.confirmed, number=True),
        _cell(outcome.waiting, number=True),
        _cell(outcome.given_up, number=True),
        _cell(_duration(outcome.median()), number=True),
        _cell(_duration(outcome.percentile_90()), number=True),
    )


def _outcomes_table(report: FunnelReport) -> str:
    if not report.outcomes:
        return "<p>No request was sent to a provider in this period.</p>"
    head = _head(
        "provider",
        "#requests",
        "#confirmed",
        "#still waiting",
        "#given up",
        "#median to confirm",
        "#90% within",
    )
    rows = "".join(_outcome_row(outcome) for outcome in report.outcomes)
    return f'<table id="outcomes">{head}{rows}</table>'


def _tickets_section(report: FunnelReport) -> str:
    counts = report.tickets
    summary = (
        f'<p id="tickets"><b id="tickets-opened">{counts.opened}</b> asked in this period, '
        f'<b id="tickets-answered">{counts.answered}</b> answered, <b id="tickets-closed">{counts.closed}</b> '
        f'closed; <b id="tickets-open">{len(report.open_tickets)}</b> open now.</p>'
    )
    if not report.open_tickets:
        return summary
    rows = "".join(
        _row(
            _cell(f"#{ticket.id}"),
            _cell(ticket.language),
            _cell(age_text(report.stats.until - ticket.opened_at), number=True),
            _cell("yes" if ticket.answered_at else "not yet"),
        )
        for ticket in report.open_tickets
    )
    return f'{summary}<table id="open-tickets">{_head("ticket", "language", "#open for", "answered")}{rows}</table>'


def funnel_page(bundle: FlowBundle, report: FunnelReport, language: str | None = None) -> str:
    """Returns the report as one HTML page: period, picture, funnel, stops, outcomes per provider."""
    language = language or bundle.languages.default
    stats = report.stats
    period = f"{stats.since:%Y-%m-%d %H:%M} to {stats.until:%Y-%m-%d %H:%M} UTC"
    svg = funnel_drawing(bundle, report, "svg", language).decode("utf-8")
    # The SVG's own XML prologue and doctype may not stand inside an HTML body.
    picture = svg[svg.index("<svg") :]
    title = escape(f"{bundle.flow.title}: {period}")
    return f"""<!DOCTYPE html>
<html lang="{escape(language)}">
<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>{title}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(bundle.flow.title)}</h1>
<p id="period">{escape(period)}: <b id="started">{stats.started}</b> conversations started,
<b id="confirmed">{stats.confirmed}</b> confirmed by the provider.</p>
<figure id="picture">{picture}</figure>
<h2>Where people stop most</h2>
{_stops_table(bundle, report, language)}
<h2>Requests per provider</h2>
<p class="muted">From the first waiting screen to the provider's confirmation; "still waiting": on a waiting
screen at the end of the period; "given up": went elsewhere without a confirmation.</p>
{_outcomes_table(report)}
<h2>Questions to a person</h2>
{_tickets_section(report)}
<h2>Every screen</h2>
{_funnel_table(bundle, report, language)}
</body>
</html>
"""
