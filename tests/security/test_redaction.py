"""No secret in any output: every failing start-up of `esim-bot run` is one line, with the token, the webhook
secret and the database password masked, whatever case or encoding they come back in."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import configure_logging
from bot.redaction import RedactingStream, Redactor
from bot.settings import Settings
from testkit import FakeBotApi
from tests.e2e.process import ROOT, bot_process, clean_environment, free_port

pytestmark = pytest.mark.e2e

TOKEN = "424242:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
SECRET_HALF = TOKEN.partition(":")[2]
WEBHOOK_SECRET = "Webhook-Secret-0123456789"
PASSWORD = "Hunter2-pg-Password"


def leaked(printed: str) -> list[str]:
    """Returns the secrets found in ``printed``, in any letter case."""
    folded = printed.casefold()
    return [secret for secret in (SECRET_HALF, WEBHOOK_SECRET, PASSWORD) if secret.casefold() in folded]


def run_once(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def webhook_on_loopback() -> tuple[str, ...]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    return "--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)


@pytest.mark.parametrize(
    ("method", "what", "webhook"),
    [
        ("getMe", "connecting", False),
        ("setMyCommands", "Telegram failed while the bot was starting", False),
        ("deleteWebhook", "deleting the webhook", False),
        ("getUpdates", "getting updates", False),
        ("setWebhook", "setting the webhook", True),
    ],
)
async def test_a_refusal_quoting_the_secrets_is_one_line_with_them_masked(
    method: str, what: str, webhook: bool, tmp_path: Path
) -> None:
    # Telegram's description is echoed back capitalised: python-telegram-bot lowercases the token's letters.
    echo = f"Bad Request: refused /bot{TOKEN}/{method} with {WEBHOOK_SECRET}"
    async with FakeBotApi(token=TOKEN) as api:
        api.fail_next(method, 400, echo)
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "bot.sqlite3"),
            BOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        code, printed, error = await asyncio.to_thread(
            run_once, env, *(webhook_on_loopback() if webhook else ())
        )
    assert code == 2, printed + error
    last = error.strip().splitlines()[-1]
    assert last.startswith(f"esim-bot: {what}")
    assert last.endswith(f"/bot<token>/{method.lower()} with <webhook secret>")
    assert "Traceback" not in printed + error
    assert leaked(printed + error) == []


async def test_a_failure_it_retries_is_logged_with_the_token_masked(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN) as api:
        api.fail_next("getMe", 502, f"Bad Gateway: upstream https://api.telegram.org/bot{TOKEN}/getMe")
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url, BOT_DATABASE=str(tmp_path / "b.sqlite3")
        )
        async with bot_process(env) as bot:
            await bot.start()
            await bot.wait_for_output("taking updates by long polling")
            assert await bot.stop(signal.SIGTERM) == 0
    assert "https://api.telegram.org/bot<token>/getMe" in bot.printed
    assert leaked(bot.printed) == []


@pytest.mark.parametrize(
    ("database", "problem"),
    [
        (f"postgresql://bob:{PASSWORD}%zz@127.0.0.1/esim", "a '%' is not followed by two hex digits"),
        (f"postgresql://bob:{PASSWORD}@x@127.0.0.1/esim", "the password holds a '@': write it as %40"),
        (f"postgresql://bob:{PASSWORD[:5]}/{PASSWORD[5:]}@127.0.0.1/esim", "the password holds a '/'"),
        (f"postgresql://bob:{PASSWORD}@127.0.0.1:5432:1/esim", "the port '5432:1' is not a number"),
        (f"postgres://bob:{PASSWORD}@127.0.0.1/esim?sslmod=require", 'invalid URI query parameter: "sslmod"'),
    ],
)
def test_a_malformed_postgresql_url_is_one_line_naming_the_mistake_password_masked(
    database: str, problem: str
) -> None:
    env = clean_environment(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}", BOT_DATABASE=database
    )
    code, printed, error = run_once(env)
    assert code == 2
    assert error.count("\n") == 1, error
    assert error.startswith("esim-bot: cannot use BOT_DATABASE postgres")
    assert "://bob:***@" in error
    assert problem in error
    assert leaked(printed + error) == []
    assert PASSWORD[:5] not in printed + error


def test_a_library_logging_the_database_url_shows_no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DATABASE", f"postgresql://bob:{PASSWORD}@db.example/esim")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    configure_logging(Settings(), stream)
    try:
        logging.getLogger("psycopg.pool").warning(
            "error connecting to postgresql://bob:%s@db.example/esim (password=%s)",
            PASSWORD,
            PASSWORD.upper(),
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "postgresql://bob:***@db.example/esim (password=***)" in stream.getvalue()


def test_secrets_are_masked_in_any_case_and_percent_encoded() -> None:
    redact = Redactor.of(token=TOKEN, webhook_secret="a b/c:d", database=None)
    assert redact(f"/bot{TOKEN.lower()}/getMe") == "/bot<token>/getMe"
    assert redact(f"/bot424242%3A{SECRET_HALF}/getMe") == "/bot<token>/getMe"
    assert redact(f"half={SECRET_HALF.upper()}") == "half=<token>"
    assert redact("secret=a%20b%2Fc%3Ad and a b/c:d") == "secret=<webhook secret> and <webhook secret>"


def test_a_secret_with_letters_outside_ascii_is_masked_in_any_case() -> None:
    redact = Redactor.of(token=None, webhook_secret=None, database="postgresql://bob:Straße-Ölberg@db/esim")
    assert redact("password Straße-Ölberg, STRAßE-ÖLBERG or straße-ölberg") == "password ***, *** or ***"


def test_a_secret_written_in_pieces_is_masked_once_its_line_is_whole() -> None:
    target = io.StringIO()
    stream = RedactingStream(target, Redactor.of(token=TOKEN, webhook_secret=None, database=None))
    stream.write(f"calling /bot{TOKEN[:10]}")
    stream.write(f"{TOKEN[10:]}/getMe\nand then")
    assert target.getvalue() == "calling /bot<token>/getMe\n"
    stream.flush()
    assert target.getvalue() == "calling /bot<token>/getMe\nand then"
