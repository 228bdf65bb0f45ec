"""People ask a person and operators answer in the support chat while the bot is killed (SIGKILL) at random
moments, and with two instances on one PostgreSQL database: every question reaches the support chat once,
and every answer its person once.

What may come twice is what comes twice for every message (tests/e2e/test_kills.py): one sent at the moment
of a kill, between Telegram's answer and the bot's record of it. So a message is allowed a second copy only
when a kill fell right after the first one went out, and nothing is allowed a third. An operator whose reply
went to such a first copy (the bot never learnt its id) replies to the newest one.

The kill moments and the people's pauses come from one seed, printed on failure; replay with
``KILL_TEST_SEED=<seed> pytest tests/e2e/test_asking_a_person_killed.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testkit import FakeBotApi, FakeUser
from testkit.postgres import PostgresServer
from testkit.screens import Screen
from tests.e2e.process import (
    BotProcess,
    bot_process,
    clean_environment,
    eventually,
    free_port,
    update_chat,
    webhook_arguments,
    webhook_proxy,
)

pytestmark = pytest.mark.e2e

SUPPORT_CHAT = -1001234567890
OPERATOR = 900
PEOPLE = 5
KILLS = 10
STEP_TIMEOUT = 30.0
IN_FLIGHT_SECONDS = 1.0
"""A second copy is allowed only when a kill fell this close to the moment the first went out."""
READY = {"polling": "taking updates by long polling", "webhook": "receiving updates at"}

ASK = "🙋 Ask a person"
WARNING = "Never send a code, a password or your eSIM's QR code"
FORWARDED = "✅ Sent to a person."
SENT = "✅ Sent to the person."


def question_text(person: int, number: int) -> str:
    return f"Question {number} of person {person}: how do I close my OPT line from France?"


def answer_text(person: int, number: int) -> str:
    return f"Answer {number} for person {person}: use Helia's online form."


@dataclass
class Kills:
    """When the bot was killed (``time.monotonic()``, the fake Bot API's clock too)."""

    moments: list[float] = field(default_factory=list)

    def explain(self, first: float, second: float) -> bool:
        """Tells whether a kill fell as a first copy went out (its call may reach Telegram just after the
        signal is sent), and before the second."""
        return any(abs(kill - first) < IN_FLIGHT_SECONDS and kill < second for kill in self.moments)


@dataclass
class Person:
    """Someone who asks questions, one after the other, until told to stop."""

    index: int
    user: FakeUser
    pauses: random.Random
    asked: int = 0

    def newest_screen(self) -> Screen | None:
        screens = [message for message in self.user.messages if message.button_labels]
        return screens[-1] if screens else None

    async def press_until(self, api: FakeBotApi, label: str, shown: Callable[[], bool]) -> None:
        await asyncio.sleep(self.pauses.uniform(0.0, 0.15))
        await self.user.press(label)
        await api.wait_until(shown, timeout=STEP_TIMEOUT)

    def shows(self, part: str) -> Callable[[], bool]:
        def shown() -> bool:
            # A label, a unique part of one, or a button's id, as the person presses it.
            screen = self.newest_screen()
            try:
                return screen is not None and screen.button(part) is not None
            except LookupError:
                return False

        shown.__name__ = f"chat {self.user.chat_id} to show {part!r}"
        return shown

    def told(self, text: str) -> int:
        return sum(text in message.text for message in self.user.messages)

    async def ask(self, api: FakeBotApi, until: asyncio.Event) -> None:
        """Walks to closing an OPT line from abroad, asks a person, and asks again until ``until`` is set."""
        await self.user.send("/start opt")
        await api.wait_until(self.shows("go"), timeout=STEP_TIMEOUT)
        await self.press_until(api, "go", self.shows("forfait"))
        await self.press_until(api, "forfait", self.shows("abroad"))
        await self.press_until(api, "abroad", self.shows(ASK))

        def warned() -> bool:
            return self.told(WARNING) > 0

        warned.__name__ = f"chat {self.user.chat_id} to be warned before asking"
        await self.press_until(api, ASK, warned)
        while self.asked < 2 or not until.is_set():
            self.asked += 1
            await asyncio.sleep(self.pauses.uniform(0.0, 0.3))
            await self.user.send(question_text(self.index, self.asked))

            def forwarded(number: int = self.asked) -> bool:
                return self.told(FORWARDED) >= number

            forwarded.__name__ = f"chat {self.user.chat_id} told question {self.asked} is sent"
            await api.wait_until(forwarded, timeout=STEP_TIMEOUT)


@dataclass
class Operator:
    """An operator who answers every question by replying to its post, and to the newest post if it came
    twice (the first copy may be one the bot never learnt: a kill fell as it went out)."""

    member: FakeUser
    people: dict[int, Person]
    replied_to: dict[tuple[int, int], int] = field(default_factory=dict)
    replies: int = 0

    def posts(self, person: int, number: int) -> list[int]:
        return [m.message_id for m in self.member.messages if question_text(person, number) in m.text]

    def answered(self, person: int, number: int) -> bool:
        return self.people[person].told(answer_text(person, number)) > 0

    async def answer(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for person in self.people.values():
                for number in range(1, person.asked + 1):
                    await self._answer(person.index, number)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    async def _answer(self, person: int, number: int) -> None:
        posts = self.posts(person, number)
        if not posts or self.answered(person, number) or self.replied_to.get((person, number)) == posts[-1]:
            return
        await self.member.reply(posts[-1], answer_text(person, number))
        self.replied_to[(person, number)] = posts[-1]
        self.replies += 1


def copies(api: FakeBotApi, chat_id: int, text: str) -> list[float]:
    """Returns when each message holding ``text`` was sent to the chat (Telegram accepted it)."""
    return [
        call.time
        for call in api.calls_to("sendMessage", chat_id)
        if call.ok and text in str(call.params.get("text", ""))
    ]


def sent_once(api: FakeBotApi, chat_id: int, text: str, kills: Kills) -> str | None:
    """Returns what is wrong with how often ``text`` reached the chat, None when it came once (or twice
    around a kill)."""
    times = copies(api, chat_id, text)
    if not times:
        return f"{text!r} never reached chat {chat_id}"
    if len(times) == 2 and kills.explain(*times):
        return None
    if len(times) == 1:
        return None
    near = [round(kill - times[0], 3) for kill in kills.moments if abs(kill - times[0]) < 5]
    return f"{text!r} reached chat {chat_id} {len(times)} times, {times[1] - times[0]:.3f} s apart (kills {near})"


async def crossing(
    api: FakeBotApi,
    seed: int,
    kill: Callable[[Kills], Coroutine[Any, Any, None]],
    ready: Callable[[], Awaitable[None]],
) -> tuple[Kills, list[Person], Operator]:
    """People ask and an operator answers while ``kill`` runs; returns when every answer has arrived."""
    operators = api.group(SUPPORT_CHAT, user_id=OPERATOR, title="Support")
    people = {
        index: Person(index, api.user(7100 + index, language_code="en"), random.Random(f"{seed}-{index}"))
        for index in range(1, PEOPLE + 1)
    }
    operator = Operator(operators, people)
    kills = Kills()
    await ready()
    killing = asyncio.create_task(kill(kills))
    done_killing = asyncio.Event()
    killing.add_done_callback(lambda _: done_killing.set())
    stop = asyncio.Event()
    answering = asyncio.create_task(operator.answer(stop))
    try:
        await asyncio.gather(*(person.ask(api, done_killing) for person in people.values()))
        await killing

        def all_answered() -> bool:
            return all(operator.answered(p.index, n) for p in people.values() for n in range(1, p.asked + 1))

        await api.wait_until(all_answered, timeout=STEP_TIMEOUT)
    except (TimeoutError, AssertionError) as exc:
        seen = {p.user.chat_id: [m.text[:60] for m in p.user.messages[-3:]] for p in people.values()}
        raise AssertionError(f"{exc} (KILL_TEST_SEED={seed}); people see {seen}") from exc
    finally:
        killing.cancel()
        stop.set()
        await answering
    return kills, list(people.values()), operator


def check_every_message_crossed_once(
    api: FakeBotApi, kills: Kills, people: list[Person], operator: Operator, seed: int
) -> None:
    """Every question reached the support chat once and every answer its person once (see the docstring)."""
    wrong = []
    for person in people:
        for number in range(1, person.asked + 1):
            wrong.append(sent_once(api, SUPPORT_CHAT, question_text(person.index, number), kills))
            wrong.append(sent_once(api, person.user.chat_id, answer_text(person.index, number), kills))
        # "Sent to a person" names no question: each one beyond the questions needs a kill next to it.
        told = copies(api, person.user.chat_id, FORWARDED)
        explained = sum(kills.explain(*pair) for pair in itertools.pairwise(told))
        if not person.asked <= len(told) <= person.asked + explained:
            wrong.append(
                f"chat {person.user.chat_id} was told {len(told)} times its {person.asked} were sent"
            )
    problems = [problem for problem in wrong if problem is not None]
    assert not problems, f"{problems} (KILL_TEST_SEED={seed})"
    asked = sum(person.asked for person in people)
    posted_twice = sum(
        len(copies(api, SUPPORT_CHAT, question_text(person.index, number))) - 1
        for person in people
        for number in range(1, person.asked + 1)
    )
    assert asked <= operator.replies <= asked + posted_twice, "replied again only to a question posted twice"


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_every_question_and_answer_crosses_once_while_the_bot_is_killed_again_and_again(
    mode: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("KILL_TEST_SEED", random.randrange(2**32)))
    print(f"KILL_TEST_SEED={seed}")
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "bot.sqlite3"),
            BOT_MAX_MESSAGES_PER_SECOND="0",
            BOT_SUPPORT_CHAT_ID=str(SUPPORT_CHAT),
            BOT_SUPPORT_OPERATOR_IDS=str(OPERATOR),
            BOT_SUPPORT_LANGUAGE="en",
        )
        arguments = webhook_arguments(free_port()) if mode == "webhook" else ()
        async with bot_process(env, *arguments) as bot:
            moments = random.Random(seed)

            async def kill(kills: Kills) -> None:
                for _ in range(KILLS):
                    await bot.wait_for_output(READY[mode])
                    await asyncio.sleep(moments.uniform(0.0, 0.6))
                    kills.moments.append(time.monotonic())
                    await bot.stop(signal.SIGKILL)
                    await bot.start()

            async def ready() -> None:
                await bot.wait_for_output(READY[mode])

            await bot.start()
            try:
                kills, people, operator = await crossing(api, seed, kill, ready)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the bot printed:\n{bot.printed}") from exc
            await eventually(lambda: api.pending_updates == 0)
            assert await bot.stop(signal.SIGTERM) == 0, bot.printed

    try:
        check_every_message_crossed_once(api, kills, people, operator, seed)
    except AssertionError as exc:
        complaints = [line for line in bot.output if " INFO " not in line]
        raise AssertionError(f"{exc}; the bot complained:\n{''.join(complaints)}") from exc


@contextlib.asynccontextmanager
async def proxy_by_chat(port: int, people_side: int, support_side: int) -> AsyncIterator[dict[int, set[int]]]:
    """A load balancer that sends people's updates to one instance and the support chat's to the other (or
    to the one left when that one is down); yields, per instance port, the chats whose updates it took."""

    def order(update: Mapping[str, Any]) -> list[int]:
        support = update_chat(update) == SUPPORT_CHAT
        return [support_side, people_side] if support else [people_side, support_side]

    async with webhook_proxy(port, order) as taken:
        yield taken


@pytest.mark.parametrize("instance_kills", [0, 6], ids=["both-up", "killed"])
async def test_questions_asked_through_one_instance_are_answered_through_the_other(
    postgres_server: PostgresServer, instance_kills: int
) -> None:
    seed = int(os.environ.get("KILL_TEST_SEED", random.randrange(2**32)))
    print(f"KILL_TEST_SEED={seed}")
    proxy_port, ports = free_port(), [free_port(), free_port()]
    async with FakeBotApi() as api, AsyncExitStack() as stack:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=postgres_server.new_database(),
            BOT_MAX_MESSAGES_PER_SECOND="0",
            BOT_SUPPORT_CHAT_ID=str(SUPPORT_CHAT),
            BOT_SUPPORT_OPERATOR_IDS=str(OPERATOR),
            BOT_SUPPORT_LANGUAGE="en",
            BOT_WEBHOOK_SECRET="s3cret",
        )
        taken = await stack.enter_async_context(proxy_by_chat(proxy_port, *ports))
        url = f"http://127.0.0.1:{proxy_port}/telegram"
        bots: list[BotProcess] = []
        for port in ports:
            arguments = ("--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port))
            bots.append(await stack.enter_async_context(bot_process(env, *arguments)))
        await asyncio.gather(*(bot.start() for bot in bots))
        moments = random.Random(seed)

        async def ready() -> None:
            await asyncio.gather(*(bot.wait_for_output(READY["webhook"], timeout=30) for bot in bots))

        async def kill_one_at_a_time(kills: Kills) -> None:
            """Kills a random instance at a random moment and starts it again; the other takes its chats."""
            for _ in range(instance_kills):
                await ready()
                await asyncio.sleep(moments.uniform(0.1, 0.8))
                victim = moments.choice(bots)
                kills.moments.append(time.monotonic())
                await victim.stop(signal.SIGKILL)
                await victim.start()

        try:
            kills, people, operator = await crossing(api, seed, kill_one_at_a_time, ready)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the bots printed:\n{[bot.printed for bot in bots]}") from exc
        await ready()  # the one started last, too: stopped before it is up, it could not stop cleanly
        for bot in bots:
            assert await bot.stop(signal.SIGTERM) == 0, bot.printed

    check_every_message_crossed_once(api, kills, people, operator, seed)
    people_side, support_side = (taken.get(port, set()) for port in ports)
    assert {person.user.chat_id for person in people} <= people_side, "questions asked through the first"
    assert SUPPORT_CHAT in support_side, "answered through the second"
    if not instance_kills:
        assert (people_side, support_side) == ({p.user.chat_id for p in people}, {SUPPORT_CHAT})
        assert operator.replies == sum(person.asked for person in people), "no reply went astray"
