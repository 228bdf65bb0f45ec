"""A bot on a small flow in a folder the test edits, as an operator edits flows/ and locales/ in place."""

# Chinese texts are written as people read them, full-width punctuation included.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.settings import Settings
from testkit import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "flows" / "cases" / "valid"
NOON_IN_NOUMEA = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Returns ``base`` with ``over`` laid on top, nested mappings merged key by key."""
    result = dict(base)
    for key, value in over.items():
        below = result.get(key)
        result[key] = merged(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return result


def mini_texts(language: str) -> dict[str, Any]:
    """Returns the small flow's texts in ``language``, with the bot's own (ui.*) texts from the shipped locales."""
    shipped = yaml.safe_load((ROOT / "locales" / f"{language}.yaml").read_text(encoding="utf-8"))
    mini = yaml.safe_load((MINI / "locales" / f"{language}.yaml").read_text(encoding="utf-8"))
    return merged({"ui": shipped["ui"]}, mini)


MINI_CHINESE: dict[str, Any] = {
    "welcome": {"text": "<b>你好。</b>哪一张 eSIM？", "airalo": "Airalo"},
    "request": {"text": "请向 {provider.name} 申请退款：{provider.how_to}", "sent": "我已发送"},
    "waiting": {"text": "等待邮件。", "got_it": "我收到了"},
    "support": {"text": "请联系客服。", "done": "完成"},
    "done": {"text": "完成。有帮助吗？", "yes": "有"},
    "thanks": {"text": "谢谢！"},
    "checklist": {"backup": "备份照片"},
    "reminder": {"text": "{provider.name} 回复了吗？", "help": "请联系客服。"},
    "links": {"refund": "退款政策"},
    "providers": {"airalo": {"how_to": "在应用里，我的 eSIM"}},
}
"""The small flow's texts in Chinese: a third language beside the test case's English and French."""


SMALL_FLOWS_LINKS = ("airalo",)
"""The deep links of the small flow: the shipped words keep only theirs."""


def shipped_meta(language: str) -> dict[str, Any]:
    """Returns a shipped meta file with the words for the small flow's deep links only (the others'
    targets do not exist there)."""
    path = ROOT / "locales" / f"{language}.meta.yaml"
    meta: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    words = meta["words"]
    words["targets"] = {name: words["targets"][name] for name in SMALL_FLOWS_LINKS}
    words["wins"] = {word: name for word, name in words.get("wins", {}).items() if name in SMALL_FLOWS_LINKS}
    return meta


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    """Writes ``data`` as YAML, as an operator saves a file."""
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


class Operator:
    """Edits the flow and texts of a bot in place."""

    def __init__(self, root: Path) -> None:
        self.flows = root / "flows"
        self.locales = root / "locales"
        self.flows.mkdir(parents=True)
        self.locales.mkdir(parents=True)
        self.flow_file = self.flows / "mini.yaml"
        self.flow_file.write_text((MINI / "flow.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        for language in ("en", "fr"):
            write_yaml(self.locales / f"{language}.yaml", mini_texts(language))
            write_yaml(self.locales / f"{language}.meta.yaml", shipped_meta(language))

    def add_chinese(self) -> None:
        """Adds Simplified Chinese, with the shipped meta file."""
        shipped = yaml.safe_load((ROOT / "locales" / "zh-Hans.yaml").read_text(encoding="utf-8"))
        write_yaml(self.locales / "zh-Hans.yaml", merged({"ui": shipped["ui"]}, MINI_CHINESE))
        write_yaml(self.locales / "zh-Hans.meta.yaml", shipped_meta("zh-Hans"))

    def flow(self) -> dict[str, Any]:
        """Returns the flow as it is now."""
        data: dict[str, Any] = yaml.safe_load(self.flow_file.read_text(encoding="utf-8"))
        return data

    def edit_flow(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Applies ``change`` to the flow file."""
        data = self.flow()
        change(data)
        write_yaml(self.flow_file, data)

    def edit_texts(self, language: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Applies ``change`` to a locale file."""
        path = self.locales / f"{language}.yaml"
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        write_yaml(path, data)


def rename_waiting(flow: dict[str, Any]) -> None:
    """Renames the state 'waiting' to 'awaiting' (declared with moved_from) and the reminder 'email' to 'nudge'."""
    states = flow["states"]
    states["awaiting"] = {**states.pop("waiting"), "moved_from": ["waiting"]}
    states["request"]["buttons"][2][0]["to"] = "awaiting"
    reminder = flow["reminders"].pop("email")
    flow["reminders"]["nudge"] = {**reminder, "active_in": ["awaiting"], "moved_from": ["email"]}
    states["awaiting"]["on_enter"] = [{"schedule": "nudge"}]


def break_flow(flow: dict[str, Any]) -> None:
    """Points a button at a state that does not exist: the validator refuses the flow."""
    flow["states"]["waiting"]["buttons"][0][0]["to"] = "dnoe"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on loopback."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    """The bot's clock, moved only by the test."""
    return FakeClock(NOON_IN_NOUMEA)


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    """The small flow and its texts, in a folder of their own."""
    return Operator(tmp_path / "bot")


@pytest.fixture
def settings(api: FakeBotApi, operator: Operator, tmp_path: Path) -> Settings:
    """Settings pointing at the fake API, the operator's folders and a fresh database; reloads asked for."""
    (tmp_path / "data").mkdir()
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.base_url,
        BOT_DATABASE=tmp_path / "data" / "bot.sqlite3",
        BOT_FLOWS_DIR=operator.flows,
        BOT_LOCALES_DIR=operator.locales,
        BOT_ADMIN_IDS="900",
        BOT_WATCH_FILES=False,
        BOT_MAX_MESSAGES_PER_SECOND=0,  # no pacing: thirty people at once, in a test of a few seconds
    )
