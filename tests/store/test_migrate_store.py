"""An operator moves a running bot from its SQLite file to PostgreSQL with ``esim-bot migrate-store``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import (
    ChatRecord,
    Commit,
    DuplicateUpdate,
    FlowEvent,
    FlowRelease,
    FunnelStats,
    InboxUpdate,
    NewReminder,
    Notice,
    OutboxMessage,
    PendingQuestion,
    Relay,
    Reminder,
    SqliteStore,
    Store,
    StoredConversation,
    SupportNotice,
    Ticket,
    UserSettings,
)
from bot.store.postgres import PostgresStore
from testkit.postgres import PostgresServer

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
WAITING = StoredConversation(
    flow_id="cancel_esim",
    flow_version="3",
    state="waiting",
    language="zh-Hans",
    step=4,
    variables={"provider": "airalo", "phone": None},
    checklist=frozenset({"backup"}),
)

Snapshot = tuple[
    list[ChatRecord | None],
    list[list[Reminder]],
    list[OutboxMessage],
    FunnelStats,
    int,
    list[InboxUpdate],
    FlowRelease | None,
    dict[str, str],
    list[Ticket],
    Ticket | None,
    list[PendingQuestion],
    list[SupportNotice],
]
FILES = {"flows/cancel_esim.yaml": "states: {}", "locales/zh-Hans.yaml": "welcome: 你好"}


async def seed(path: Path) -> None:
    """A bot that has run for a while: two chats, reminders, an unsent message, funnel events."""
    async with SqliteStore(path) as store:
        settings = UserSettings(
            chat_id=1,
            language="zh-Hans",
            timezone="Asia/Shanghai",
            quiet_start=time(22, 0),
            quiet_end=time(7, 30),
            timezone_asked_at=START,
            timezone_chosen=True,
        )
        await store.commit(
            Commit(
                chat_id=1,
                update_id=500,
                settings=settings,
                conversation=WAITING,
                screen_message_id=91,
                schedule=[NewReminder("confirm_email", START + timedelta(days=2), 3)],
                events=[FlowEvent(1, "cancel_esim", "3", state, START) for state in ("start", "waiting")],
                outbox=[{"text": "还在等确认邮件吗", "buttons": [["a", "b"]]}],
            ),
            START,
        )
        await store.commit(
            Commit(
                chat_id=2,
                update_id=501,
                settings=UserSettings(chat_id=2, language="fr", reminders_stopped=True),
                events=[FlowEvent(2, "cancel_esim", "3", "start", START)],
                schedule=[NewReminder("nudge", START + timedelta(hours=1), 1)],
            ),
            START,
        )
        # A reminder that went out: its buttons are the only ones that still count.
        (sent,) = await store.commit(Commit(chat_id=1, outbox=[{"reminder": "confirm_email"}]), START)
        await store.record_delivery(sent.id, 1, None, reminder_message_id=93)
        # A reminder scheduled then cancelled: SQLite never gives its id again, nor must PostgreSQL.
        await store.commit(Commit(chat_id=2, schedule=[NewReminder("extra", START, 1)]), START)
        await store.commit(Commit(chat_id=2, cancel_reminders=frozenset({"extra"})), START)
        # An open question to the operators, posted with a follow-up; a second follow-up not posted yet.
        ticket = await store.open_ticket(1, "zh-Hans", START)
        await store.record_topic(ticket.id, 5)
        for message_id, copy_id in ((94, 80), (95, 81)):
            await store.relay(ticket.id, Relay.QUESTION, message_id, START, "怎么注销")
            await store.relayed(ticket.id, Relay.QUESTION, message_id, copy_id=copy_id)
        await store.relay(ticket.id, Relay.QUESTION, 96, START + timedelta(minutes=1), "还有一个问题")
        # Another person's question, solved: the support chat is still owed the line saying so.
        solved = await store.open_ticket(2, "fr", START)
        await store.close_ticket(solved.id, START, Notice.SOLVED)
        # Two flow versions served, and an update fetched from Telegram but not handled yet.
        for number in (2, 3):
            meanings = f'{{"version": "{number}"}}'
            release = FlowRelease("cancel_esim", str(number), f"digest-{number}", FILES, meanings)
            await store.publish_release(release, START, again=False)
        await store.inbox_add([InboxUpdate(502, {"update_id": 502, "message": {"text": "/start"}})], START)


async def snapshot(store: Store) -> Snapshot:
    return (
        [await store.load_chat(chat_id) for chat_id in (1, 2, 3)],
        [await store.reminders_of(chat_id) for chat_id in (1, 2)],
        await store.pending_outbox(10),
        await store.funnel("cancel_esim", START, START + timedelta(days=1), {"waiting"}),
        await store.count_conversations(),
        await store.inbox_pending(10),
        await store.current_release(),
        await store.flow_history("cancel_esim"),
        await store.open_tickets(),
        await store.ticket_for_reply(81),
        await store.pending_questions(10),
        await store.pending_notices(10),
    )


async def sqlite_snapshot(path: Path) -> Snapshot:
    async with SqliteStore(path) as store:
        return await snapshot(store)


async def postgres_snapshot(url: str) -> Snapshot:
    async with PostgresStore(url) as store:
        return await snapshot(store)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "esim-bot.sqlite3"
    asyncio.run(seed(path))
    return path


def test_every_chat_reminder_message_and_statistic_arrives(
    sqlite_file: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.new_database()

    assert main(["migrate-store", "--from", str(sqlite_file), "--to", url]) == 0

    out = capsys.readouterr().out
    assert (
        "2 chats (1 conversations), 2 reminders, 1 unsent messages, 3 funnel events, 2 update ids, "
        "1 updates in the inbox, 2 flow releases"
    ) in out
    moved = asyncio.run(postgres_snapshot(url))
    assert moved == asyncio.run(sqlite_snapshot(sqlite_file))
    chat = moved[0][0]
    assert chat is not None
    assert (chat.settings.timezone_chosen, chat.reminder_message_id) == (True, 93)
    inbox, release, history, _tickets, replied, pending, owed = moved[5:]
    assert [update.update_id for update in inbox] == [502]
    assert release is not None
    assert (release.version, dict(release.files)) == ("3", FILES)
    assert sorted(history) == ["2", "3"], "buttons of both versions keep their meaning on PostgreSQL"
    assert replied is not None, "an operator's reply to the relayed follow-up still finds its ticket"
    assert (replied.topic_id, replied.support_message_id) == (5, 80)
    assert [(question.source_message_id, question.text) for question in pending] == [(96, "还有一个问题")], (
        "the follow-up not posted yet is posted from PostgreSQL"
    )
    assert [(notice.ticket_id, notice.notice) for notice in owed] == [(2, Notice.SOLVED)], (
        "the line owed to the support chat is said from PostgreSQL"
    )


def test_the_moved_bot_carries_on_where_it_stopped(
    sqlite_file: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    assert main(["migrate-store", "--from", f"sqlite:///{sqlite_file}", "--to", url]) == 0

    async def carry_on() -> None:
        async with PostgresStore(url) as store:
            # An update Telegram delivers again after the move is still applied once.
            with pytest.raises(DuplicateUpdate):
                await store.commit(Commit(chat_id=1, update_id=500), START)
            copied = {r.id for chat_id in (1, 2) for r in await store.reminders_of(chat_id)}
            [message] = await store.pending_outbox(10)
            [added] = await store.commit(
                Commit(chat_id=3, schedule=[NewReminder("x", START, 1)], outbox=[{"text": "hi"}]), START
            )
            [new_reminder] = await store.reminders_of(3)
            assert new_reminder.id > max(copied) + 1  # past the id SQLite gave the cancelled one
            assert added.id > message.id
            # The next release is numbered after the copied ones: it becomes current.
            copied_head = await store.release_head()
            newer = FlowRelease("cancel_esim", "4", "digest-4", FILES, "{}")
            head = await store.publish_release(newer, START, again=False)
            assert copied_head is not None
            assert head.number > copied_head.number
            assert await store.release_head() == head

    asyncio.run(carry_on())


def test_a_non_empty_target_is_refused_unless_told(
    sqlite_file: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.new_database()

    async def someone_else_is_there() -> None:
        async with PostgresStore(url) as store:
            await store.commit(Commit(chat_id=77, conversation=WAITING), START)

    asyncio.run(someone_else_is_there())

    assert main(["migrate-store", "--from", str(sqlite_file), "--to", url]) == 1
    assert "--overwrite" in capsys.readouterr().err
    chats, *_ = asyncio.run(postgres_snapshot(url))
    assert chats == [None, None, None]

    assert main(["migrate-store", "--from", str(sqlite_file), "--to", url, "--overwrite"]) == 0
    assert asyncio.run(postgres_snapshot(url)) == asyncio.run(sqlite_snapshot(sqlite_file))


def test_a_missing_file_or_a_wrong_url_copies_nothing(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.sqlite3"
    assert main(["migrate-store", "--from", str(missing), "--to", postgres_server.new_database()]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()
    assert main(["migrate-store", "--from", str(missing), "--to", str(tmp_path / "other.sqlite3")]) == 2
