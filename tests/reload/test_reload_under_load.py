"""Thirty people press buttons while the operator replaces the flow three times: valid, invalid, renamed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.runtime.reload import Reloader
from bot.settings import Settings
from bot.store import SqliteStore
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi, FakeUser
from testkit.application import polling
from tests.reload.conftest import Operator, break_flow, rename_waiting

PEOPLE = 30
TOGGLES = 4
STRAY_MESSAGES = 4


def slower_reminders(flow: dict[str, Any]) -> None:
    """A structural edit that changes no button's meaning: the reminder comes every two days."""
    flow["reminders"]["email"]["every"] = "2d"


class Progress:
    """Counts the answers people got, so that the operator's edits land in the middle of their taps."""

    def __init__(self) -> None:
        self.answered = 0
        self._changed = asyncio.Condition()

    async def one_more(self) -> None:
        """Counts one more answer."""
        async with self._changed:
            self.answered += 1
            self._changed.notify_all()

    async def reached(self, count: int) -> None:
        """Waits until ``count`` answers came."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.answered >= count)


async def walk_to_waiting(user: FakeUser, progress: Progress) -> list[str]:
    """Starts, picks Airalo, ticks the checklist item back and forth, says the request is sent; returns toasts."""
    toasts: list[str] = []
    screen = await user.say("/start")
    await progress.one_more()
    screen = await user.tap("Airalo", on=screen)
    await progress.one_more()
    for _ in range(TOGGLES):
        toasts.append(await user.tap_for_toast("Back up photos", on=screen))
        screen = await user.wait_for_reply()
        await progress.one_more()
    toasts.append(await user.tap_for_toast("I've sent it", on=screen))
    await user.wait_for_reply()
    await progress.one_more()
    return toasts


async def ask_where_i_am(user: FakeUser, progress: Progress) -> list[str]:
    """Writes a few stray messages; returns the first line of each answer (the current step)."""
    lines = []
    for index in range(STRAY_MESSAGES):
        answer = await user.say(f"hello? {index}")
        await progress.one_more()
        lines.append(answer.text)
    return lines


async def test_thirty_people_keep_going_while_the_flow_is_replaced_three_times(
    api: FakeBotApi, settings: Settings, clock: FakeClock, operator: Operator
) -> None:
    people = [api.user(1000 + index) for index in range(PEOPLE)]
    admin = api.user(900)
    built = build_bot(settings, load_default_flow(settings), clock)
    application, runtime = built.application, built.runtime
    reloader: Reloader = runtime.reloader
    first = runtime.service.engine.version
    progress = Progress()
    versions: list[str] = []

    async def operator_edits_while_people_tap() -> None:
        taps_to_waiting = PEOPLE * (3 + TOGGLES)
        await progress.reached(taps_to_waiting // 3)
        operator.edit_flow(slower_reminders)
        versions.append((await reloader.reload("test: valid")).version)
        await progress.reached(2 * taps_to_waiting // 3)
        operator.edit_flow(break_flow)
        operator.edit_texts("en", lambda texts: texts["waiting"].update(text="INVALID VERSION SERVING"))
        refused = await reloader.reload("test: invalid")
        assert not refused.swapped
        assert any("unknown target 'dnoe'" in str(problem) for problem in refused.problems)
        versions.append(refused.version)

    async with polling(application):
        results = await asyncio.gather(
            operator_edits_while_people_tap(), *(walk_to_waiting(user, progress) for user in people)
        )
        toasts = [toast for walked in results[1:] if walked for toast in walked]
        # Everyone is now waiting; the third edit renames that state while they keep writing.
        # The invalid edit is still on disk: the operator repairs it, and renames the state.
        operator.edit_texts("en", lambda texts: texts["waiting"].update(text="Waiting for the email."))
        operator.edit_flow(lambda flow: flow["states"]["waiting"]["buttons"][0][0].update(to="done"))
        operator.edit_flow(rename_waiting)
        talk = Progress()

        async def rename_midway() -> None:
            await talk.reached(PEOPLE * STRAY_MESSAGES // 2)
            versions.append((await reloader.reload("test: renamed")).version)

        answers = await asyncio.gather(rename_midway(), *(ask_where_i_am(user, talk) for user in people))
        finals = [await user.tap("I got it") for user in people]
        notice = await admin.wait_for_reply()

    # The valid edit served, the invalid one did not, the renamed one did.
    assert versions[0] != first
    assert versions[1] == versions[0], "the invalid version never replaced the running one"
    assert versions[2] not in (first, versions[0])
    assert "unknown target 'dnoe'" in notice.text, "the operator is told what is wrong, with file:line:col"
    assert "mini.yaml:" in notice.text
    # Every tap was answered once, and kindly: no button stopped working, since none changed meaning.
    answers_to_taps = api.calls_to("answerCallbackQuery")
    query_ids = [call.params["callback_query_id"] for call in answers_to_taps]
    assert len(query_ids) == len(set(query_ids)) == PEOPLE * (2 + TOGGLES + 1)
    assert not any("updated" in toast for toast in toasts)
    # No message said anything of the invalid version, and every stray message got one answer.
    for user in people:
        assert not any("INVALID" in message.text for message in user.messages)
    for lines in answers[1:]:
        assert lines is not None
        assert len(lines) == STRAY_MESSAGES
        assert all("Waiting for the email." in line for line in lines)
    # People in the renamed state landed where it was declared, and its button still led on.
    assert all(screen.text.startswith("Done. Helpful?") for screen in finals)
    async with SqliteStore(settings.database) as store:
        for user in people:
            record = await store.load_chat(user.chat_id)
            assert record is not None
            assert record.conversation is not None
            assert record.conversation.state == "done"


async def test_a_pending_reminder_follows_its_renamed_state_and_name(
    api: FakeBotApi, settings: Settings, clock: FakeClock, operator: Operator
) -> None:
    user = api.user(7)
    built = build_bot(settings, load_default_flow(settings), clock)
    application, runtime = built.application, built.runtime
    async with polling(application):
        screen = await user.tap("Airalo", on=await user.say("/start"))
        await user.tap("I've sent it", on=screen)
        operator.edit_flow(rename_waiting)
        assert (await runtime.reloader.reload("test")).swapped
        shown = len(user.messages)
        clock.advance(timedelta(days=1, minutes=1))
        await user.wait_for_messages(shown + 1)
        reminder = user.screen
        assert reminder.text.startswith("Did Airalo answer?")
        done = await user.tap("I got the confirmation", on=reminder)
    assert done.text.startswith("Done. Helpful?")
    async with SqliteStore(settings.database) as store:
        assert await store.reminders_of(user.chat_id) == []
