"""A seeded fuzz of hostile updates against both intakes of the real `esim-bot run`.

Polling takes them from the fake Bot API; the webhook takes them over HTTP on 127.0.0.1, with the right
secret. Meanwhile people send well-formed updates. Whatever the hostile ones hold, the bot does not crash or
stall, prints no secret and none of the typed words, keeps its memory bounded, and answers every person.
Set HOSTILE_SEED to replay another draw.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import ClientSession, ClientTimeout

from testkit import FakeBotApi, FakeUser
from tests.e2e.process import BotProcess, bot_process, clean_environment, eventually, free_port
from tests.security.hostile import CANARY, Hostile, WebhookBody

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("HOSTILE_SEED", "19"))
TOKEN = "515151:ZZyyXXwwVVuuTTssRRqqPPooNNmmLLkkJJ"
WEBHOOK_SECRET = "Fuzz-Webhook-Secret-42"
PEOPLE = tuple(range(300, 306))
HOSTILE_CHATS = tuple(range(7000, 7040))
ROUNDS = 4
PER_ROUND = 60
GROWTH_MB = 40
"""What the second half of the fuzz may add to the bot's resident memory: none of what it took is kept."""
# What a webhook call may be answered: handled (200), refused as no update (400), too large (413); a JSON
# update whose handlers failed is answered 500, so that Telegram posts it again.
REFUSALS = {400, 413}
UPDATE_ANSWERS = {200, 500} | REFUSALS


def resident_mb(bot: BotProcess) -> float:
    """Returns the bot process's resident memory in MB."""
    assert bot.process is not None
    status = Path(f"/proc/{bot.process.pid}/status").read_text(encoding="utf-8")
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def assert_nothing_leaked(printed: str) -> None:
    folded = printed.casefold()
    for secret in (TOKEN.partition(":")[2], WEBHOOK_SECRET):
        assert secret.casefold() not in folded
    assert CANARY not in printed, "a typed text reached the output"


async def everyone_answered(bot: BotProcess, people: list[FakeUser], command: str) -> None:
    """Each person sends ``command``; returns once every one of them has had an answer."""
    for person in people:
        await person.send(command)
    for person in people:
        try:
            await person.wait_for_reply(timeout=45)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; the bot's last lines:\n{bot.printed[-3000:]}") from None


async def stop_alive(bot: BotProcess) -> None:
    """Stops the bot, which must still be running, and checks it ends cleanly."""
    assert bot.process is not None
    assert bot.process.returncode is None, "the bot died during the fuzz"
    assert await bot.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("lone_surrogates", [False, True], ids=["utf8", "lone_surrogates"])
async def test_polling_takes_hostile_updates_without_crash_stall_or_leak(
    lone_surrogates: bool, tmp_path: Path
) -> None:
    hostile = Hostile(SEED, HOSTILE_CHATS, lone_surrogates=lone_surrogates)
    async with FakeBotApi(token=TOKEN, accept_any_chat=True) as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url, BOT_DATABASE=str(tmp_path / "b.sqlite3")
        )
        async with bot_process(env) as bot:
            await bot.start()
            await bot.wait_for_output("taking updates by long polling")
            people = [api.user(chat_id, language_code="en") for chat_id in PEOPLE]
            await everyone_answered(bot, people, "/start")
            memory: list[float] = []
            for _ in range(ROUNDS):
                for _ in range(PER_ROUND):
                    update = hostile.update()
                    api.queue_update(update.kind, update.payload)
                await everyone_answered(bot, people, "/help")
                memory.append(resident_mb(bot))
            # Not stalled: every update, hostile or not, is confirmed to Telegram.
            await eventually(lambda: api.pending_updates == 0, timeout=60)
            await stop_alive(bot)
    assert memory[-1] - memory[ROUNDS // 2 - 1] < GROWTH_MB, (memory, hostile.bytes_drawn)
    assert_nothing_leaked(bot.printed)


async def post_all(url: str, bodies: list[WebhookBody], headers: dict[str, str]) -> Counter[tuple[bool, int]]:
    """Posts the bodies ten at a time; counts the answers by (is a JSON object, status)."""
    answers: Counter[tuple[bool, int]] = Counter()
    limit = asyncio.Semaphore(10)
    async with ClientSession(timeout=ClientTimeout(total=60)) as session:

        async def post(drawn: WebhookBody) -> None:
            async with limit, session.post(url, data=io.BytesIO(drawn.body), headers=headers) as response:
                answers[drawn.json_object, response.status] += 1

        await asyncio.gather(*(post(drawn) for drawn in bodies))
    return answers


@pytest.mark.parametrize(
    "beyond_parser_depth",
    [False, True],
    ids=["parser_depth", "beyond_parser_depth"],
)
async def test_the_webhook_takes_hostile_bodies_without_crash_stall_or_leak(
    beyond_parser_depth: bool, tmp_path: Path
) -> None:
    hostile = Hostile(SEED, HOSTILE_CHATS, lone_surrogates=True, beyond_parser_depth=beyond_parser_depth)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with FakeBotApi(token=TOKEN, accept_any_chat=True) as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "b.sqlite3"),
            BOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        args = ("--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port))
        async with bot_process(env, *args) as bot:
            await bot.start()
            await bot.wait_for_output("receiving updates at")
            people = [api.user(chat_id, language_code="en") for chat_id in PEOPLE]
            await everyone_answered(bot, people, "/start")
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            answers: Counter[tuple[bool, int]] = Counter()
            memory: list[float] = []
            for round_number in range(ROUNDS):
                first = 900_000_000 + round_number * PER_ROUND
                bodies = [hostile.webhook_body(first + n) for n in range(PER_ROUND)]
                posting = asyncio.create_task(post_all(url, bodies, headers))
                await everyone_answered(bot, people, "/help")
                answers += await posting
                memory.append(resident_mb(bot))
            forged = await post_all(
                url, [hostile.webhook_body(1)] * 5, {"X-Telegram-Bot-Api-Secret-Token": "no"}
            )
            await stop_alive(bot)
    assert {status for _, status in forged} == {403}
    assert {status for json_object, status in answers if not json_object} <= REFUSALS, answers
    assert {status for json_object, status in answers if json_object} <= UPDATE_ANSWERS, answers
    assert memory[-1] - memory[ROUNDS // 2 - 1] < GROWTH_MB, (memory, hostile.bytes_drawn)
    assert_nothing_leaked(bot.printed)
