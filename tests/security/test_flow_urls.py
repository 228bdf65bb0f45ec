"""`esim-bot validate` refuses an address people must not be sent: only https:// and tg:// reach a phone.

Each case under flow_cases/ is the mini flow of tests/flows/cases/valid plus a few changes (tests/flows/broken.py
says how). The runtime texts every locale needs come from the shipped locales, in place of the base's own, below
the case's texts, so the line numbers in a case's expected lines stay the case's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.flows.urls import href_addresses, why_not_allowed
from tests.flows.broken import BrokenCase, broken_case

CASES = Path(__file__).parent / "flow_cases"
ROOT = Path(__file__).resolve().parents[2]


def validate(case: BrokenCase) -> tuple[int, list[str]]:
    """Runs `esim-bot validate` on ``case``; returns its exit code and the lines it printed, paths relative."""
    for locale in case.locales.glob("*.yaml"):
        shipped = yaml.safe_load((ROOT / "locales" / locale.name).read_text(encoding="utf-8"))
        texts = locale.read_text(encoding="utf-8").split("\nui:\n", 1)[0] + "\n"
        runtime = yaml.safe_dump({"ui": shipped["ui"]}, allow_unicode=True, sort_keys=False)
        locale.write_text(texts + runtime, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BOT_", "TELEGRAM_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(case.flow), "--locales", str(case.locales)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.stderr == ""
    return done.returncode, done.stdout.replace(f"{case.folder}/", "").splitlines()


@pytest.mark.parametrize("name", ["button_url_scheme", "button_url_host", "text_link_scheme"])
def test_a_forbidden_address_is_reported_at_its_line_and_column(name: str, tmp_path: Path) -> None:
    case = broken_case(name, tmp_path, cases=CASES)
    assert validate(case) == (1, case.expected)


def test_https_and_tg_addresses_pass(tmp_path: Path) -> None:
    code, lines = validate(broken_case("allowed_addresses", tmp_path, cases=CASES))
    assert (code, len(lines)) == (0, 1)
    assert lines[0].startswith("ok: ")


def test_the_shipped_flows_send_only_allowed_addresses() -> None:
    texts = [
        text
        for path in (ROOT / "locales").glob("*.yaml")
        if not path.name.endswith(".meta.yaml")
        for text in _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    ]
    links = [address for text in texts for address in href_addresses(text)]
    refused = {address: why_not_allowed(address) for address in links if why_not_allowed(address)}
    assert refused == {}


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for child in value.values() for text in _strings(child)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("javascript:alert(1)", "scheme 'javascript:' is not allowed"),
        ("JavaScript:alert(1)", "scheme 'javascript:' is not allowed"),
        ("data:text/html,<script>", "scheme 'data:' is not allowed"),
        ("file:///etc/passwd", "scheme 'file:' is not allowed"),
        ("http://example.org", "scheme 'http:' is not allowed"),
        ("//example.org/help", "it has no scheme"),
        ("{javascript:alert(1)}", "it has no scheme"),
        ("https:example.org", "'https:' must be followed by // and a host"),
        ("https:///path", "'https:' must be followed by // and a host"),
        (" https://example.org", "it contains a space or an invisible character"),
        ("https://example.org/\x00", "it contains a space or an invisible character"),
        ("https://[::1", "it is not a web address"),
    ],
)
def test_why_an_address_is_refused(address: str, reason: str) -> None:
    assert why_not_allowed(address) == reason


@pytest.mark.parametrize(
    "address", ["https://example.org/a?b=c#d", "HTTPS://EXAMPLE.ORG", "tg://resolve?domain=x"]
)
def test_allowed_addresses(address: str) -> None:
    assert why_not_allowed(address) is None


def test_a_link_hidden_behind_character_references_is_read_as_telegram_reads_it() -> None:
    assert href_addresses('<a href="jav&#x61;script&colon;x">a</a> <b>b</b>') == ["javascript:x"]
