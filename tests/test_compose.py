"""The production compose file (deploy/compose.yaml, shown in the README), read and checked against the bot.

No Docker engine runs here: the file is parsed as Compose would, with its variables filled in, and what it
tells the bot is given to the bot's own command line parser and settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.cli import _parser
from bot.settings import Settings
from bot.store import is_postgres_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENVIRONMENT = {
    "BOT_DOMAIN": "bot.example.org",
    "POSTGRES_PASSWORD": "pw",
    "BOT_WEBHOOK_SECRET": "secret",
    "TELEGRAM_BOT_TOKEN": "123:abc",
}


def interpolate(value: Any) -> Any:
    """Fills in ``${NAME}`` and ``${NAME:?message}`` as Compose does; ``$$`` is a literal dollar."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if not isinstance(value, str):
        return value
    filled = re.sub(r"(?<!\$)\$\{(\w+)(?::\?[^}]*)?\}", lambda match: ENVIRONMENT[match.group(1)], value)
    return filled.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))
    return loaded


def bots(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return {name: service for name, service in services.items() if "esim-bot" in str(service.get("command"))}


def test_the_readme_shows_the_compose_file_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{COMPOSE.read_text(encoding='utf-8')}```" in readme


def test_two_instances_of_this_image_run_on_one_postgresql_database(compose: dict[str, Any]) -> None:
    instances = bots(compose)
    assert len(instances) == 2
    databases = set()
    for service in instances.values():
        assert (COMPOSE.parent / service["build"] / "Dockerfile").is_file()
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        settings = Settings(_env_file=None, **service["environment"])
        assert is_postgres_url(settings.database)
        databases.add(settings.database)
        assert settings.webhook_secret is not None
    (database,) = databases
    url = urlsplit(database)
    postgres = compose["services"]["postgres"]
    assert url.hostname == "postgres"
    assert (url.username, url.password, url.path) == (
        postgres["environment"]["POSTGRES_USER"],
        postgres["environment"]["POSTGRES_PASSWORD"],
        "/" + postgres["environment"]["POSTGRES_DB"],
    )
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_the_proxy_terminates_tls_and_shares_the_webhook_between_the_instances(
    compose: dict[str, Any],
) -> None:
    proxy = compose["services"]["proxy"]
    assert "443:443" in proxy["ports"]
    caddyfile = compose["configs"][proxy["configs"][0]["source"]]["content"]
    site, _, body = caddyfile.partition("{\n")
    assert site.strip() == "{$BOT_DOMAIN}"
    assert proxy["environment"]["BOT_DOMAIN"] == ENVIRONMENT["BOT_DOMAIN"]
    upstreams = re.search(r"reverse_proxy (\S+) ((?:\S+:\d+ ?)+)", body)
    assert upstreams is not None
    path, targets = upstreams.group(1), upstreams.group(2).split()
    expected = []
    for name, service in bots(compose).items():
        args = _parser().parse_args(service["command"][1:])
        assert args.command == "run"
        webhook = urlsplit(args.webhook_url)
        assert (webhook.scheme, webhook.hostname, webhook.path) == ("https", ENVIRONMENT["BOT_DOMAIN"], path)
        assert args.listen == "0.0.0.0"
        expected.append(f"{name}:{args.port}")
    assert sorted(targets) == sorted(expected)
