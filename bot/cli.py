"""The ``esim-bot`` command: run the bot, validate flows, walk them in a console, draw them, count them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from bot.clock import Clock
from bot.flows import FlowValidationError, Limits, validate_paths
from bot.flows.durations import parse_duration
from bot.redaction import RedactingFormatter, Redactor, redacted_output
from bot.settings import MissingTokenError, Settings
from bot.startup import StartupError, webhook_secret
from bot.store.factory import is_postgres_url, sqlite_path

if TYPE_CHECKING:
    from bot.flows import FlowBundle
    from bot.stats import FunnelReport

__all__ = ["main"]


def configure_logging(
    settings: Settings, stream: TextIO | None = None, redact: Redactor | None = None
) -> None:
    """Logs at INFO to stderr (or ``stream``) through the redaction: never the token, a secret or a password."""
    handler = logging.StreamHandler(stream)
    format_ = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(format_, redact or _redactor(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "aiohttp.access", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _redactor(settings: Settings) -> Redactor:
    """Returns the one redaction for this command: the token, the webhook secret and the database password."""
    try:
        secret = webhook_secret(settings)
    except StartupError:
        # Refused later, in one line; meanwhile whatever was given is still masked.
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return Redactor.of(
        token=settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None,
        webhook_secret=secret,
        database=settings.database,
    )


def _clock(settings: Settings) -> Clock:
    from bot.clock import SystemClock
    from bot.fileclock import FileClock

    if settings.clock_file is None:
        return SystemClock()
    logging.getLogger(__name__).warning(
        "BOT_CLOCK_FILE is set: the bot's clock reads %s (for tests only)", settings.clock_file
    )
    return FileClock(settings.clock_file)


def _limits() -> Limits:
    from bot.telegram.app import TELEGRAM_LIMITS

    return TELEGRAM_LIMITS


def _print_problems(error: FlowValidationError) -> int:
    print(error, file=sys.stderr)
    print("The bot will not start until these are fixed.", file=sys.stderr)
    return 2


def _refuse(problem: StartupError) -> int:
    print(f"esim-bot: {problem}", file=sys.stderr)
    return 2


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the bot with long polling, or behind a webhook."""
    from bot.telegram.app import run

    try:
        settings.token()
    except MissingTokenError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.secret_token is not None:
        # Refused rather than unknown, so that an operator upgrading learns where the secret goes now.
        return _refuse(
            StartupError(
                "--secret-token is shown to every local user (/proc/<pid>/cmdline): "
                "set BOT_WEBHOOK_SECRET or BOT_WEBHOOK_SECRET_FILE instead"
            )
        )
    configure_logging(settings)
    try:
        run(settings, _clock(settings), webhook_url=args.webhook_url, listen=args.listen, port=args.port)
    except FlowValidationError as exc:
        return _print_problems(exc)
    except StartupError as exc:
        return _refuse(exc)
    return 0


def validate_command(args: argparse.Namespace, settings: Settings) -> int:
    """Validates flow files (or folders of them) and prints every problem."""
    from bot.runtime.texts import UI_TEXTS

    paths = [Path(p) for p in args.paths] or [settings.flows_dir]
    problems = []
    for path in paths:
        if args.locales:
            locales = Path(args.locales)
        elif settings.given("locales_dir"):
            locales = settings.locales_dir  # an explicit setting wins over a folder that happens to be there
        else:
            locales = _locales_beside(path, settings.locales_dir)
        problems += validate_paths([path], locales, limits=_limits(), ui_texts=UI_TEXTS)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        return 1
    print(f"ok: {', '.join(map(str, paths))}")
    if args.against:
        return _plan_against(args.against, paths, args, settings)
    return 0


def _plan_against(database: str, paths: Sequence[Path], args: argparse.Namespace, settings: Settings) -> int:
    """Prints what the validated flows would do to the conversations in ``database``, if served now."""
    from bot.flows import load_bundle, load_flows
    from bot.flows.meanings import parsed_history
    from bot.plan import plan
    from bot.runtime.texts import UI_TEXTS
    from bot.startup import opened_store
    from bot.store import Standing

    if not is_postgres_url(database) and not sqlite_path(database).is_file():
        print(f"esim-bot: --against {database}: no such database file", file=sys.stderr)
        return 2
    bundles = []
    for path in paths:
        locales = Path(args.locales) if args.locales else _locales_beside(path, settings.locales_dir)
        if path.is_dir():
            bundles += list(load_flows(path, locales, limits=_limits(), ui_texts=UI_TEXTS).values())
        else:
            bundles.append(load_bundle(path, locales, limits=_limits(), ui_texts=UI_TEXTS))

    async def read() -> tuple[list[Standing], list[dict[str, str]]]:
        # The meanings of the versions the bot served are kept in its store, like the conversations.
        async with opened_store(database) as store:
            return await store.standings(), [await store.flow_history(b.flow.id) for b in bundles]

    try:
        found, histories = asyncio.run(read())
    except StartupError as exc:
        return _refuse(exc)
    shown = _masked(database)
    for bundle, history in zip(bundles, histories, strict=True):
        print(f"\nagainst {shown}, {bundle.path}:")
        print(plan(bundle, found, parsed_history(history)).as_text())
    return 0


def _masked(database: str) -> str:
    """Returns the database setting without its password, to print."""
    if not is_postgres_url(database):
        return database
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database)
    if parts.password is None:
        return database
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def reload_command(args: argparse.Namespace, settings: Settings) -> int:
    """Checks the flows and texts, then publishes them in the store: every running instance serves them."""
    from bot.control import publish
    from bot.telegram.app import flow_source

    try:
        published = asyncio.run(publish(settings.database, flow_source(settings), datetime.now(UTC)))
    except FlowValidationError as exc:
        print(exc, file=sys.stderr)
        print("Not reloaded: the running bot keeps its current version.", file=sys.stderr)
        return 1
    except StartupError as exc:
        return _refuse(exc)
    print(published.as_text())
    return 0


def _locales_beside(path: Path, default: Path) -> Path:
    """Finds the locales folder of a flow: beside it, one level up (flows/ and locales/ side by side), or the default."""
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / "locales", folder.parent / "locales"):
        if candidate.is_dir():
            return candidate
    return default


def flow_tests_command(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the flow tests on the real engine with a fake clock; prints each failure where it is written."""
    from bot.flows import load_flows
    from bot.flowtests import flow_test_schema_text, load_test_files, run_case_files
    from bot.runtime.texts import UI_TEXTS

    if args.schema:
        Path(args.schema).write_text(flow_test_schema_text(), encoding="utf-8")
        print(f"wrote {args.schema}")
        return 0
    try:
        bundles = load_flows(settings.flows_dir, settings.locales_dir, limits=_limits(), ui_texts=UI_TEXTS)
    except FlowValidationError as exc:
        return _print_problems(exc)
    files, problems = load_test_files(
        [Path(p) for p in args.paths] or [settings.flows_dir / "tests"], bundles
    )
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        return 1
    report = asyncio.run(run_case_files(files))
    print(report.as_text())
    return 1 if report.failed else 0


def _bundle(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.telegram.app import load_default_flow

    return load_default_flow(settings)


def console_command(args: argparse.Namespace, settings: Settings) -> int:
    """Talks to the bot in the terminal, as a person would in Telegram (no Telegram needed)."""
    from bot.console import Console
    from bot.engine.engine import FlowEngine

    try:
        bundle = _bundle(settings)
    except FlowValidationError as exc:
        return _print_problems(exc)

    def read() -> str | None:
        try:
            return input("> ")
        except (EOFError, KeyboardInterrupt):
            print()  # Ctrl-D or Ctrl-C ends the conversation like quit, on a line of its own
            return None

    language = args.lang or bundle.languages.default
    if language not in bundle.texts.languages:
        print(
            f"--lang: one of {', '.join(bundle.texts.languages)} (a locales/<language>.yaml)", file=sys.stderr
        )
        return 2
    return asyncio.run(Console(FlowEngine(bundle), language, sys.stdout, read).run())


def diagram_command(args: argparse.Namespace, settings: Settings) -> int:
    """Writes the flow as Mermaid, or as an image where Graphviz is installed."""
    from bot.diagram import graphviz_available, mermaid, render_image

    try:
        bundle = _bundle(settings)
    except FlowValidationError as exc:
        return _print_problems(exc)
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix in (".svg", ".png"):
        if not graphviz_available():
            print(
                "Graphviz is not installed here (apt install graphviz; pip install graphviz).",
                file=sys.stderr,
            )
            print("Writing Mermaid instead: `esim-bot diagram -o flow.mmd`.", file=sys.stderr)
            return 1
        render_image(bundle, output, args.lang)
        print(f"wrote {output}")
        return 0
    text = mermaid(bundle, args.lang)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {output}")
    return 0


def schema_command(args: argparse.Namespace, settings: Settings) -> int:
    """Writes the JSON Schema of the flow format, for operators' editors."""
    from bot.flows.schema import flow_schema_text

    text = flow_schema_text()
    if args.output == "-":
        print(text, end="")
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def facts_command(args: argparse.Namespace, settings: Settings) -> int:
    """Prints, per claim of the flow's facts file, the screens and languages that state it."""
    from bot.flows.claims import facts_path
    from bot.flows.facts import load_facts
    from bot.flows.factsreport import facts_report

    try:
        bundle = _bundle(settings)
    except FlowValidationError as exc:
        return _print_problems(exc)
    path = facts_path(bundle.flow, bundle.path)
    if path is None:
        print(f"esim-bot: {bundle.path} names no facts file (facts:)", file=sys.stderr)
        return 1
    facts, _problems = load_facts(path)
    if facts is None:
        print(f"esim-bot: cannot read {path}", file=sys.stderr)
        return 1
    if args.report:
        print(facts_report(bundle, facts))
        return 0
    counts = Counter(claim.confidence.value for claim in facts.claims.values())
    print(
        f"{path}: version {facts.version}, {len(facts.claims)} claims ({', '.join(f'{n} {word}' for word, n in counts.items())})"
    )
    print("`esim-bot facts --report` lists where each claim is said.")
    return 0


def _moment(text: str, now: datetime) -> datetime:
    try:
        return now - parse_duration(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the funnel: how many conversations reached each state, where people stop, how many confirmed."""
    from bot.stats import funnel_report

    now = datetime.now(UTC)
    try:
        since = _moment(args.since, now)
        until = _moment(args.until, now) if args.until else now + timedelta(seconds=1)
    except ValueError:
        print("--since/--until take a duration like 30d or a date like 2026-11-01", file=sys.stderr)
        return 2
    try:
        bundle = _bundle(settings)
    except FlowValidationError as exc:
        return _print_problems(exc)
    # The operators' language: the one they answer people in, unless told another.
    args.lang = args.lang or settings.support_language
    if args.lang is not None and args.lang not in bundle.texts.by_language:
        given = "--lang" if args.lang != settings.support_language else "BOT_SUPPORT_LANGUAGE"
        print(
            f"{given}: no texts in '{args.lang}' (locales has {', '.join(bundle.texts.by_language)})",
            file=sys.stderr,
        )
        return 2
    database: str | Path | None = settings.database
    if not is_postgres_url(settings.database) and not sqlite_path(settings.database).exists():
        database = None
        print(f"(no database at {settings.database} yet: nothing to count)", file=sys.stderr)
    try:
        report = asyncio.run(funnel_report(database, bundle, since, until))
    except StartupError as exc:
        return _refuse(exc)
    print(json.dumps(report.as_json(), indent=2, ensure_ascii=False) if args.json else report.as_text())
    return _write_report_files(args, bundle, report)


def _write_report_files(args: argparse.Namespace, bundle: FlowBundle, report: FunnelReport) -> int:
    """Draws the funnel (--draw) and writes its page (--html), each in the operator's language (--lang)."""
    from bot.diagram import graphviz_available, render_funnel
    from bot.stats_page import funnel_page

    drawing = Path(args.draw) if args.draw else None
    if drawing is not None and drawing.suffix not in (".svg", ".png"):
        print(f"--draw writes an image: name it .svg or .png, not {drawing.name}", file=sys.stderr)
        return 2
    if (drawing or args.html) and not graphviz_available():
        print("Graphviz is not installed here (apt install graphviz).", file=sys.stderr)
        return 1
    if drawing is not None:
        render_funnel(bundle, report, drawing, args.lang)
        print(f"wrote {drawing}", file=sys.stderr)
    if args.html:
        Path(args.html).write_text(funnel_page(bundle, report, args.lang), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def migrate_store_command(args: argparse.Namespace, settings: Settings) -> int:
    """Copies a bot's SQLite file into an empty PostgreSQL database."""
    from bot.store import StoreError
    from bot.store.transfer import copy_sqlite_to_postgres

    if not is_postgres_url(args.target):
        print("--to takes a PostgreSQL URL: postgresql://user@host/database", file=sys.stderr)
        return 2
    source = sqlite_path(args.source)
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(source, args.target, overwrite=args.overwrite))
    except StoreError as exc:
        print(f"nothing was copied: {exc}", file=sys.stderr)
        return 1
    print(f"copied {copied} from {source}")
    print(f"now run the bot with BOT_DATABASE={args.target}")
    return 0


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--webhook-url", help="public HTTPS URL Telegram should post updates to")
    run.add_argument("--listen", default="0.0.0.0", help="address the webhook server listens on")
    run.add_argument("--port", type=int, default=8443, help="port the webhook server listens on")
    run.add_argument("--secret-token", help=argparse.SUPPRESS)  # refused: BOT_WEBHOOK_SECRET(_FILE) instead


def _validate_arguments(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("paths", nargs="*", help="flow files or folders (default: the flows folder)")
    validate.add_argument(
        "--locales", help="the locales folder (default: beside the flows, or BOT_LOCALES_DIR)"
    )
    validate.add_argument(
        "--against",
        metavar="DATABASE",
        help="also report what the flows would do to the conversations in this database: an SQLite file or a PostgreSQL URL (e.g. the live one)",
    )


def _no_arguments(command: argparse.ArgumentParser) -> None:
    pass


def _flow_tests_arguments(flow_tests: argparse.ArgumentParser) -> None:
    flow_tests.add_argument(
        "paths", nargs="*", help="test files or folders (default: the tests folder of the flows)"
    )
    flow_tests.add_argument(
        "--schema", metavar="FILE", help="write the test format's JSON Schema to FILE instead"
    )


def _console_arguments(console: argparse.ArgumentParser) -> None:
    console.add_argument("--lang", help="a language of locales/ (default: the default language)")


def _diagram_arguments(diagram: argparse.ArgumentParser) -> None:
    diagram.add_argument("-o", "--output", help="file to write: .mmd/.md for Mermaid, .svg/.png for images")
    diagram.add_argument("--lang", help="a language of locales/ (default: the default language)")


def _schema_arguments(schema: argparse.ArgumentParser) -> None:
    schema.add_argument("-o", "--output", default="flows/flow.schema.json")


def _facts_arguments(facts: argparse.ArgumentParser) -> None:
    facts.add_argument(
        "--report",
        action="store_true",
        help="per claim: the screens and languages that state it; unused claims",
    )


def _stats_arguments(stats: argparse.ArgumentParser) -> None:
    stats.add_argument("--since", default="30d", help="a duration back from now (30d) or a date")
    stats.add_argument("--until", help="a duration back from now or a date (default: now)")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.add_argument(
        "--draw", metavar="FILE", help="also draw the flow with the funnel on it (FILE.svg or FILE.png)"
    )
    stats.add_argument("--html", metavar="FILE", help="also write the report as one self-contained page")
    stats.add_argument(
        "--lang",
        help="the operators' language for the picture and the page (default: BOT_SUPPORT_LANGUAGE, else the "
        "flow's default)",
    )


def _migrate_arguments(migrate: argparse.ArgumentParser) -> None:
    migrate.add_argument("--from", dest="source", required=True, help="the SQLite file (BOT_DATABASE so far)")
    migrate.add_argument("--to", dest="target", required=True, help="postgresql://user@host/database")
    migrate.add_argument(
        "--overwrite", action="store_true", help="replace whatever the PostgreSQL database already holds"
    )


Command = Callable[[argparse.Namespace, Settings], int]

_SUBCOMMANDS: tuple[tuple[str, str, Callable[[argparse.ArgumentParser], None], Command], ...] = (
    ("run", "run the Telegram bot (long polling, or --webhook-url)", _run_arguments, run_command),
    ("validate", "check flow files; exits non-zero on any problem", _validate_arguments, validate_command),
    (
        "reload",
        "check the flows and texts, then have every running instance serve them (no restart)",
        _no_arguments,
        reload_command,
    ),
    (
        "test",
        "run the flow tests (flows/tests/*.yaml); exits non-zero on any failure",
        _flow_tests_arguments,
        flow_tests_command,
    ),
    ("console", "walk the flow in this terminal, no Telegram needed", _console_arguments, console_command),
    ("diagram", "draw the flow (Mermaid; SVG/PNG with Graphviz)", _diagram_arguments, diagram_command),
    ("schema", "write the flow format's JSON Schema", _schema_arguments, schema_command),
    ("facts", "the flow's facts file: its claims, and where each is said", _facts_arguments, facts_command),
    ("stats", "print the operators' funnel statistics", _stats_arguments, stats_command),
    (
        "migrate-store",
        "copy a stopped bot's SQLite file into an empty PostgreSQL database",
        _migrate_arguments,
        migrate_store_command,
    ),
)
"""Every subcommand as (name, help, its arguments, what runs it), in the order ``esim-bot --help`` lists them."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="esim-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text, arguments, handler in _SUBCOMMANDS:
        command = commands.add_parser(name, help=help_text)
        arguments(command)
        command.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the esim-bot command."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = " ".join(str(part) for part in error["loc"])
            # Only a single named, non-secret value is echoed: a model-wide error's input holds the token.
            shown = name and not any(secret in name for secret in ("TOKEN", "SECRET"))
            got = f" (got {error['input']!r})" if shown else ""
            print(f"esim-bot: {name or 'settings'}: {error['msg']}{got}", file=sys.stderr)
        return 2
    with redacted_output(_redactor(settings)):
        try:
            status: int = args.handler(args, settings)
        except BrokenPipeError:
            # The reader went away (`esim-bot diagram | head`): nothing left to say.
            sys.stderr.close()
            return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
