"""PostgreSQL and several instances: per-update cost against SQLite, one instance against two, and a
backlog of due reminders sent by two instances together under Telegram's limit.

    .venv/bin/python -m bench.several_instances                      # 10,000 reminders: about 6 minutes
    .venv/bin/python -m bench.several_instances --reminders 1000     # a quicker run

It starts its own throwaway PostgreSQL server (testkit.postgres) and a fake Bot API that answers 429
beyond Telegram's limits (30 messages a second overall, 1 a second per chat). Results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.seed import REMINDER
from bot.callbacks import FlowPress
from bot.clock import SystemClock
from bot.engine.engine import FlowEngine
from bot.flows import load_flows
from bot.runtime.commit import stored
from bot.runtime.events import ButtonPressed, CommandSent
from bot.runtime.service import ChatService
from bot.runtime.texts import UI_TEXTS
from bot.settings import Settings
from bot.store import SqliteStore, Store
from bot.store.codec import conversation_data
from bot.store.postgres import PostgresStore
from bot.telegram.app import TELEGRAM_LIMITS, build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 5_000_000_000
# Button ids of one walk: /start, then from "start" towards "waiting".
WALK = ("go", "travel", "klook", "active", "sent")


def _waiting(engine: FlowEngine) -> dict[str, object]:
    """Returns, stored, a conversation waiting for the provider's email (found by walking the buttons)."""
    start = engine.start("en").conversation
    frontier, seen = [start], {start.state}
    while frontier:
        conversation = frontier.pop(0)
        if conversation.state == "waiting":
            return conversation_data(stored(conversation))
        for row in engine.renderer.render(conversation).rows:
            for button in row:
                if not isinstance(button.press, FlowPress):
                    continue
                following = engine.press(conversation, button.press).conversation
                if following.state not in seen:
                    seen.add(following.state)
                    frontier.append(following)
    raise RuntimeError("no way from the start to the waiting state")


async def _seed(url: str, engine: FlowEngine, count: int) -> None:
    """Stores ``count`` chats waiting for the email, each with its reminder due now, quiet hours off."""
    async with PostgresStore(url, max_connections=1):
        pass  # the schema
    conversation = json.dumps(_waiting(engine))
    now = datetime.now(UTC)
    chats = range(FIRST_CHAT, FIRST_CHAT + count)
    async with await psycopg.AsyncConnection.connect(url) as connection:
        async with connection.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO chats (chat_id, language, conversation, screen_message_id, updated_at, quiet_start,"
                " quiet_end) VALUES (%s, 'en', %s::jsonb, 1, %s, '00:00', '00:00')",
                [(chat, conversation, now) for chat in chats],
            )
            await cursor.executemany(
                "INSERT INTO reminders (chat_id, name, due_at, sequence) VALUES (%s, %s, %s, 1)",
                [(chat, REMINDER, now) for chat in chats],
            )
        await connection.commit()


def _engine() -> FlowEngine:
    bundles = load_flows(ROOT / "flows", ROOT / "locales", limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    return FlowEngine(bundles["cancel_esim"])


async def _walk(service: ChatService, chat_id: int, update_ids: Counter[str]) -> int:
    """Walks one chat from /start to "waiting" through the core; returns how many updates it took."""
    update_ids["next"] += 1
    reply = await service.handle(CommandSent(chat_id, update_id=update_ids["next"], command="start"))
    handled = 1
    for wanted in WALK:
        data = next(
            (
                button.data
                for queued in reply.messages
                for row in queued.message.rows
                for button in row
                if button.data is not None and button.data.rsplit("|", 1)[-1] == wanted
            ),
            None,
        )
        if data is None:
            break
        update_ids["next"] += 1
        incoming = ButtonPressed(chat_id, update_id=update_ids["next"], data=data, message_id=1)
        reply = await service.handle(incoming)
        for queued in reply.messages:
            await service.outbox.delivered(queued, 1)
        handled += 1
    return handled


async def per_update(stores: Sequence[Store], chats: int, concurrency: int = 1) -> tuple[float, float]:
    """Walks ``chats`` chats through one ChatService per store (one per "instance"), ``concurrency`` at
    once; returns (updates a second, CPU milliseconds per update) of this process."""
    engine = _engine()
    clock = SystemClock()
    services = [ChatService(engine, store, clock) for store in stores]
    update_ids: Counter[str] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for chat_id in range(1, chats + 1):
        queue.put_nowait(chat_id)
    handled = 0

    async def worker(service: ChatService) -> None:
        nonlocal handled
        while not queue.empty():
            chat_id = queue.get_nowait()
            async with service.locks.hold(chat_id):
                handled += await _walk(service, chat_id, update_ids)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(services[index % len(services)]) for index in range(concurrency)))
    took, cpu_took = time.perf_counter() - began, time.process_time() - cpu
    return handled / took, cpu_took / handled * 1000


async def reminders(server: PostgresServer, count: int, folder: Path) -> dict[str, float]:
    """Two instances send ``count`` reminders due at once; returns the rate, 429s, lost and duplicated."""
    url = server.new_database("reminders")
    await _seed(url, _engine(), count)
    async with FakeBotApi(enforce_limits=True, accept_any_chat=True) as api:
        settings = Settings(
            _env_file=None,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=url,
            BOT_FLOWS_DIR=ROOT / "flows",
            BOT_LOCALES_DIR=ROOT / "locales",
        )
        bundle = load_default_flow(settings)
        instances = [build_bot(settings, bundle, SystemClock()).application for _ in range(2)]
        began = time.perf_counter()
        for application in instances:
            await application.initialize()
            assert application.post_init is not None
            await application.post_init(application)
        # Done once every seeded first reminder is consumed (each schedules the next, days later) and sent.
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 60 + count / 10
            while time.monotonic() < deadline:
                cursor = await watcher.execute(
                    "SELECT (SELECT count(*) FROM reminders WHERE sequence = 1) + (SELECT count(*) FROM outbox)"
                )
                row = await cursor.fetchone()
                if row is not None and row[0] == 0:
                    break
                await asyncio.sleep(1)
        for application in instances:
            with contextlib.suppress(Exception):
                assert application.post_stop is not None
                assert application.post_shutdown is not None
                await application.post_stop(application)
                await application.shutdown()
                await application.post_shutdown(application)
        took = time.perf_counter() - began
        sent = [call for call in api.calls_to("sendMessage") if call.chat_id is not None]
        delivered = Counter(call.chat_id for call in sent if call.status == 200)
        times = sorted(call.time for call in sent if call.status == 200)
        seeded = set(range(FIRST_CHAT, FIRST_CHAT + count))
        return {
            "sent": len(delivered),
            "messages per second": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
            "answered 429": sum(call.status == 429 for call in sent),
            "lost": len(seeded - set(delivered)),
            "sent twice": sum(1 for chat in delivered if delivered[chat] > 1),
            "seconds in all": took,
        }


async def _one_instance_round(server: PostgresServer, folder: Path, number: int, chats: int) -> None:
    """Walks ``chats`` chats on SQLite, then on PostgreSQL, one instance each; prints both and their ratio."""
    async with SqliteStore(folder / f"updates{number}.sqlite3") as sqlite:
        sqlite_rate, sqlite_cpu = await per_update([sqlite], chats)
    print(f"SQLite, one instance:      {sqlite_rate:7.0f} updates/s, {sqlite_cpu:.2f} ms CPU per update")
    async with PostgresStore(server.new_database(f"updates{number}")) as postgres:
        rate, cpu = await per_update([postgres], chats)
    print(
        f"PostgreSQL, one instance:  {rate:7.0f} updates/s, {cpu:.2f} ms CPU per update"
        f" ({cpu / sqlite_cpu:.2f}x SQLite's)"
    )


async def main(arguments: Sequence[str] | None = None) -> None:
    """Runs the three measurements and prints their results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=300, help="chats walked for the per-update cost")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of SQLite then PostgreSQL, one instance (ratios per round)",
    )
    parser.add_argument(
        "--per-update-only", action="store_true", help="only the per-update cost, one instance (no reminders)"
    )
    options = parser.parse_args(arguments)
    with PostgresServer() as server, tempfile.TemporaryDirectory() as folder:
        for round_number in range(1, options.rounds + 1):
            await _one_instance_round(server, Path(folder), round_number, options.chats)
        if options.per_update_only:
            return
        url = server.new_database("updates_two")
        async with PostgresStore(url) as first, PostgresStore(url) as second:
            rate, cpu = await per_update([first, second], options.chats, concurrency=2)
            print(
                f"PostgreSQL, two instances: {rate:7.0f} updates/s, {cpu:.2f} ms CPU per update (one process, one chat each at a time)"
            )
        result = await reminders(server, options.reminders, Path(folder))
        print(f"{options.reminders} reminders due at once, two instances: " + ", ".join(
            f"{name} {value:.1f}" if isinstance(value, float) else f"{name} {value}"
            for name, value in result.items()
        ))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
