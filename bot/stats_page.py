"""`esim-bot stats --html`: the funnel as one self-contained page an operator can open or mail.

Everything is inline (the picture as SVG, the style): the page loads nothing, so it reads the same offline,
attached to a mail, or behind a strict content security policy, which the page also declares. Its words are
the locales' ``ui.report.*`` texts, in the operator's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bot.diagram import funnel_drawing
from bot.engine.screens import Markup
from bot.flows import FlowBundle
from bot.screen_titles import flow_title, report_duration, report_text, screen_title
from bot.stats import FunnelReport, Outcome

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


@dataclass(frozen=True, slots=True)
class _Words:
    """The report's words in one language."""

    bundle: FlowBundle
    language: str

    def __call__(self, key: str, **values: str | int) -> str:
        return report_text(self.bundle, self.language, key, **values)

    def head(self, *columns: str) -> str:
        """Returns a table's head row; a column named ``#...`` holds numbers (right-aligned)."""
        cells = [
            f'<th class="n">{self("column." + c[1:])}</th>'
            if c[:1] == "#"
            else f"<th>{self('column.' + c)}</th>"
            for c in columns
        ]
        return "<tr>" + "".join(cells) + "</tr>"


def _cell(value: object, number: bool = False) -> str:
    return f'<td class="n">{escape(str(value))}</td>' if number else f"<td>{escape(str(value))}</td>"


def _row(*cells: str) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _funnel_table(words: _Words, report: FunnelReport) -> str:
    started = report.stats.started or 1
    counts = {count.state: count for count in report.stats.states}
    rows = [
        _row(
            _cell(screen_title(words.bundle, words.language, name)),
            _cell(name),
            _cell(counts[name].reached, number=True),
            _cell(f"{counts[name].reached / started:.0%}", number=True),
            _cell(counts[name].dropped_off, number=True),
        )
        for name in report.order
        if name in counts
    ]
    head = words.head("screen", "state", "#reached", "#of_started", "#stopped_here")
    return f'<table id="funnel">{head}{"".join(rows)}</table>'


def _stops_table(words: _Words, report: FunnelReport) -> str:
    rows = [
        _row(
            _cell(screen_title(words.bundle, words.language, str(stop["state"]))),
            _cell(stop["state"]),
            _cell(stop["stopped_here"], number=True),
            _cell(f"{float(str(stop['of_reached'])):.0%}", number=True),
        )
        for stop in report.stops()
    ]
    head = words.head("screen", "state", "#stopped_here", "#of_reached")
    return f'<table id="stops">{head}{"".join(rows)}</table>' if rows else f"<p>{words('nobody_stopped')}</p>"


def _outcome_row(words: _Words, outcome: Outcome) -> str:
    return _row(
        _cell(outcome.name),
        _cell(outcome.requested, number=True),
        _cell(outcome.confirmed, number=True),
        _cell(outcome.waiting, number=True),
        _cell(outcome.given_up, number=True),
        _cell(report_duration(words.bundle, words.language, outcome.median()), number=True),
        _cell(report_duration(words.bundle, words.language, outcome.percentile_90()), number=True),
    )


def _outcomes_table(words: _Words, report: FunnelReport) -> str:
    if not report.outcomes:
        return f"<p>{words('no_requests')}</p>"
    head = words.head(
        "provider", "#requests", "#confirmed", "#still_waiting", "#given_up", "#median", "#within_90"
    )
    rows = "".join(_outcome_row(words, outcome) for outcome in report.outcomes)
    return f'<table id="outcomes">{head}{rows}</table>'


def _tickets_section(words: _Words, report: FunnelReport) -> str:
    counts = report.tickets
    summary = words(
        "questions_summary",
        opened=Markup(f'<b id="tickets-opened">{counts.opened}</b>'),
        answered=Markup(f'<b id="tickets-answered">{counts.answered}</b>'),
        closed=Markup(f'<b id="tickets-closed">{counts.closed}</b>'),
        open=Markup(f'<b id="tickets-open">{len(report.open_tickets)}</b>'),
    )
    if not report.open_tickets:
        return f'<p id="tickets">{summary}</p>'
    rows = "".join(
        _row(
            _cell(f"#{ticket.id}"),
            _cell(ticket.language),
            _cell(report_duration(words.bundle, words.language, report.stats.until - ticket.opened_at), True),
            f"<td>{words('yes') if ticket.answered_at else words('not_yet')}</td>",
        )
        for ticket in report.open_tickets
    )
    head = words.head("ticket", "language", "#open_for", "answered")
    return f'<p id="tickets">{summary}</p><table id="open-tickets">{head}{rows}</table>'


def funnel_page(bundle: FlowBundle, report: FunnelReport, language: str | None = None) -> str:
    """Returns the report as one HTML page: period, picture, funnel, stops, outcomes per provider."""
    words = _Words(bundle, language or bundle.languages.default)
    stats = report.stats
    period = words("period", since=f"{stats.since:%Y-%m-%d %H:%M}", until=f"{stats.until:%Y-%m-%d %H:%M}")
    summary = words(
        "summary",
        period=Markup(period),
        started=Markup(f'<b id="started">{stats.started}</b>'),
        confirmed=Markup(f'<b id="confirmed">{stats.confirmed}</b>'),
    )
    svg = funnel_drawing(bundle, report, "svg", words.language).decode("utf-8")
    # The SVG's own XML prologue and doctype may not stand inside an HTML body.
    picture = svg[svg.index("<svg") :]
    return f"""<!DOCTYPE html>
<html lang="{escape(words.language)}">
<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>{escape(flow_title(bundle, words.language))}: {period}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(flow_title(bundle, words.language))}</h1>
<p id="period">{summary}</p>
<figure id="picture">{picture}</figure>
<h2 id="stops-heading">{words("stops")}</h2>
{_stops_table(words, report)}
<h2 id="outcomes-heading">{words("outcomes")}</h2>
<p class="muted">{words("outcomes_note")}</p>
{_outcomes_table(words, report)}
<h2 id="questions-heading">{words("questions")}</h2>
{_tickets_section(words, report)}
<h2 id="screens-heading">{words("screens")}</h2>
{_funnel_table(words, report)}
</body>
</html>
"""
