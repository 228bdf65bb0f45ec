"""Twenty people walk the flow while the bot is killed (SIGKILL) at random moments, again and again.

Every press must be answered and applied exactly once: a polled update is kept in the bot's inbox before
Telegram is told to forget it (a webhook call is answered only after the commit), so what a kill interrupts
is handled again after the restart and, if it was committed, recognised. A message in flight at the moment of
a kill (sent, its delivery not yet recorded) may arrive twice; nothing else may.

The kill moments and the people's pauses come from one seed, printed on failure; replay with
``KILL_TEST_SEED=<seed> pytest tests/e2e/test_kills.py``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit import FakeBotApi, FakeUser
from tests.e2e.process import (
    BotProcess,
    bot_process,
    clean_environment,
    eventually,
    free_port,
    webhook_arguments,
)

pytestmark = pytest.mark.e2e

PEOPLE = 20
KILLS = 16
STEP_TIMEOUT = 20.0
TICKED = (
    "✅ Phone backed up",
    "✅ Balance checked",
    "✅ Last bill paid",
)

HELP = "I help you stop paying for an eSIM or line"
THANKS = "Thank you for your answer!"

# One round of the flow: the button pressed (or the command sent), then the labels the screen must show next.
# Ticks must stay ticked (a toggle applied twice would untick an item) and each /help brings one new message;
# screens are edited in place, so any other new message is one sent twice. test_intake.py shows an update
# delivered again after a crash is not applied again, deterministically.
ROUND: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Let's start", ("🏠 My carrier back home",)),
    ("/help", ("🏠 My carrier back home",)),
    ("My carrier back home", ("Another country",)),
    ("Another country", ("🇳🇨 In New Caledonia",)),
    ("In New Caledonia", ("✂️ End the line",)),
    ("End the line", ("⬜ Phone backed up",)),
    ("Phone backed up", TICKED[:1]),
    ("/help", TICKED[:1]),
    ("Balance checked", TICKED[:2]),
    ("Last bill paid", TICKED),
    ("Next", ("✅ I've submitted it",)),
    ("⬅️ Back", TICKED),
    ("Next", ("✅ I've submitted it",)),
    ("I've submitted it", ("📬 Got the confirmation",)),
    ("Got the confirmation", ("✅ It's confirmed",)),
    ("It's confirmed", ("iPhone",)),
    ("iPhone", ("✅ Deleted",)),
    ("Deleted", ("👍 Yes", "🔄 Start over")),
)


@dataclass
class Person:
    """One simulated person: what they pressed, and the answers they were owed."""

    user: FakeUser
    pauses: random.Random
    presses: list[str] = field(default_factory=list)
    help_asked: int = 0
    rounds: int = 0

    def shows(self, labels: tuple[str, ...]) -> bool:
        """Tells whether the screen (the latest message with buttons) shows every one of ``labels``."""
        screens = [message for message in self.user.messages if message.button_labels]
        return bool(screens) and all(label in screens[-1].button_labels for label in labels)

    def help_shown(self, api: FakeBotApi) -> int:
        # Counted as sent: the answer to /help carries the step's buttons, so the next press edits it away.
        sent = api.calls_to("sendMessage", self.user.chat_id)
        return sum(call.ok and HELP in str(call.params.get("text", "")) for call in sent)

    async def press(self, api: FakeBotApi, label: str, expected: tuple[str, ...]) -> None:
        await asyncio.sleep(self.pauses.uniform(0.0, 0.15))
        # The answer to this /help, not an earlier one: a help message sent twice around a kill must not
        # let the person press on the screen above before it arrives (that screen is old once it does).
        helps = self.help_shown(api)
        if label.startswith("/"):
            self.help_asked += 1
            await self.user.send(label)
        else:
            self.presses.append(await self.user.click(label))

        def next_screen_shown() -> bool:
            answered = self.help_shown(api) > helps if label.startswith("/") else True
            return answered and self.help_shown(api) >= self.help_asked and self.shows(expected)

        next_screen_shown.__name__ = f"chat {self.user.chat_id} to show {expected} after {label!r}"
        await api.wait_until(next_screen_shown, timeout=STEP_TIMEOUT)

    async def walk(self, api: FakeBotApi, killing: asyncio.Task[None]) -> None:
        """Walks rounds of the flow, starting over each time, until the kills are over; then finishes."""
        await self.user.send("/start")
        await api.wait_until(lambda: self.shows(("Let's start",)), timeout=STEP_TIMEOUT)
        while True:
            for label, expected in ROUND:
                await self.press(api, label, expected)
            self.rounds += 1
            if killing.done():
                break
            await self.press(api, "Start over", ("🔄 Yes, start over",))
            await self.press(api, "Yes, start over", ("Let's start",))
        await self.press(api, "Yes", ())
        await api.wait_until(lambda: any(THANKS in m.text for m in self.user.messages), timeout=STEP_TIMEOUT)


async def kill_repeatedly(bot: BotProcess, kills: int, moments: random.Random, ready: str) -> None:
    """Kills the bot at a random moment after it is ready for updates, and starts it again, ``kills`` times."""
    for _ in range(kills):
        await bot.wait_for_output(ready)
        await asyncio.sleep(moments.uniform(0.0, 0.6))
        await bot.stop(signal.SIGKILL)
        await bot.start()


def messages_sent_twice(api: FakeBotApi, person: Person) -> int:
    """Counts new messages beyond those asked for: the first screen and one per /help (screens are edited)."""
    sent = [call for call in api.calls_to("sendMessage", person.user.chat_id) if call.ok]
    return len(sent) - 1 - person.help_asked


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_every_press_is_answered_and_applied_once_while_the_bot_is_killed_again_and_again(
    mode: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("KILL_TEST_SEED", random.randrange(2**32)))
    print(f"KILL_TEST_SEED={seed}")
    started = time.monotonic()
    async with FakeBotApi() as api:
        env = clean_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            BOT_DATABASE=str(tmp_path / "bot.sqlite3"),
            # The limiter's pacing is tested elsewhere; here it would only slow the walk down.
            BOT_MAX_MESSAGES_PER_SECOND="0",
        )
        if mode == "webhook":
            arguments, ready = webhook_arguments(free_port()), "receiving updates at"
        else:
            arguments, ready = (), "taking updates by long polling"
        async with bot_process(env, *arguments) as bot:
            await bot.start()
            people = [
                Person(api.user(7000 + index, language_code="en"), random.Random(f"{seed}-{index}"))
                for index in range(PEOPLE)
            ]
            killing = asyncio.create_task(kill_repeatedly(bot, KILLS, random.Random(seed), ready))
            try:
                await asyncio.gather(*(person.walk(api, killing) for person in people))
                await killing
            except (TimeoutError, AssertionError) as exc:
                killing.cancel()
                raise AssertionError(
                    f"{exc} (KILL_TEST_SEED={seed}); the bot printed:\n{bot.printed}"
                ) from exc
            await eventually(lambda: api.pending_updates == 0)  # every update confirmed, none dropped
            code = await bot.stop(signal.SIGTERM)
            assert code == 0, f"KILL_TEST_SEED={seed}\n{bot.printed}"

        answered = {
            str(call.params["callback_query_id"]) for call in api.calls_to("answerCallbackQuery") if call.ok
        }
        unanswered = [query for person in people for query in person.presses if query not in answered]
        assert not unanswered, f"presses never answered: {unanswered} (KILL_TEST_SEED={seed})"
        repeated = sum(messages_sent_twice(api, person) for person in people)
        assert repeated <= KILLS, f"{repeated} messages sent twice in {KILLS} kills (KILL_TEST_SEED={seed})"
        # A restarted bot's polls never met a live earlier poll of its own (Telegram would answer 409).
        assert api.conflicts == [], f"KILL_TEST_SEED={seed}"
        print(
            f"{mode}: {KILLS} kills, {len(api.calls_to('sendMessage'))} messages sent, {sum(len(p.presses) for p in people)} presses, {repeated} messages sent twice, "
            f"{time.monotonic() - started:.1f} s"
        )
