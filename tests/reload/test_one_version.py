"""Two instances' chat services on one store, their flows in folders of their own: the store's release wins.

In process, so that when each instance looks at the store is the test's choice: the window in which one
instance serves a new release and the other has not looked yet is held open on purpose.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import callbacks
from bot.clock import FakeClock
from bot.engine.engine import FlowEngine
from bot.flows.meanings import meanings_of
from bot.runtime.events import ButtonPressed, CommandSent
from bot.runtime.reload import Reloader
from bot.runtime.service import ChatService, Reply
from bot.settings import Settings
from bot.store import SqliteStore, Store
from bot.telegram.app import flow_source, load_default_flow
from tests.reload.conftest import Operator


@dataclass
class Instance:
    """One bot instance without Telegram: its chat service and what keeps its flow version."""

    service: ChatService
    reloader: Reloader

    async def say(self, chat_id: int, command: str) -> Reply:
        """Handles a command from the chat."""
        return await self.service.handle(CommandSent(chat_id, command=command.removeprefix("/")))

    async def press(self, chat_id: int, reply: Reply, button: str) -> Reply:
        """Handles a press of the button whose id is ``button`` on the screen of ``reply``."""
        (data,) = [
            choice.data
            for queued in reply.messages
            for row in queued.message.rows
            for choice in row
            if choice.data and choice.data.endswith(f"|{button}")
        ]
        return await self.service.handle(ButtonPressed(chat_id, data=data))


async def instance(settings: Settings, store: Store, clock: FakeClock) -> Instance:
    """Starts an instance on its own flow folders: it publishes them if new, else serves the store's release."""
    service = ChatService(FlowEngine(load_default_flow(settings)), store, clock)
    reloader = Reloader(service, flow_source(settings), store)
    await reloader.start()
    service.catch_up = reloader.catch_up
    return Instance(service, reloader)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """The store both instances share."""
    async with SqliteStore(settings.database) as opened:
        yield opened


@pytest.fixture
def other_settings(settings: Settings, operator: Operator, tmp_path: Path) -> Settings:
    """The second instance's settings: a copy of the flow folders, which the operator never edits."""
    shutil.copytree(operator.flows, tmp_path / "other" / "flows")
    shutil.copytree(operator.locales, tmp_path / "other" / "locales")
    return settings.model_copy(
        update={"flows_dir": tmp_path / "other" / "flows", "locales_dir": tmp_path / "other" / "locales"}
    )


def versions_drawn(reply: Reply) -> set[str]:
    """Returns the flow versions the buttons of the reply's screens carry."""
    pressed = [
        callbacks.decode(choice.data)
        for queued in reply.messages
        for row in queued.message.rows
        for choice in row
        if choice.data
    ]
    return {press.version for press in pressed if isinstance(press, callbacks.FlowPress)}


async def version_of(store: Store, chat_id: int) -> str:
    """Returns the flow version the chat is stored on."""
    record = await store.load_chat(chat_id)
    assert record is not None
    assert record.conversation is not None
    return record.conversation.flow_version


async def test_an_instance_behind_the_store_catches_up_before_it_could_move_a_chat_back(
    settings: Settings, other_settings: Settings, store: Store, clock: FakeClock, operator: Operator
) -> None:
    first = await instance(settings, store, clock)
    second = await instance(other_settings, store, clock)
    old = first.service.engine.version
    assert second.service.engine.version == old
    welcome = await second.say(1, "start")
    on_second = await second.say(2, "start")

    operator.edit_flow(lambda flow: flow["reminders"]["email"].update(every="2d"))
    assert (await first.reloader.reload("test")).swapped
    new = first.service.engine.version
    assert new != old
    request = await first.press(1, welcome, "airalo")
    assert await version_of(store, 1) == new

    # The second instance has not looked at the store since; the chat's next press comes to it.
    assert second.service.engine.version == old
    waiting = await second.press(1, request, "sent")
    assert await version_of(store, 1) == new, "the chat never goes back to the older version"
    assert second.service.engine.version == new, "the second instance serves the store's release now"
    assert versions_drawn(waiting) == {new}
    # A chat it had started on the old version goes on, on the new one: it moves forward only.
    await second.press(2, on_second, "airalo")
    assert await version_of(store, 2) == new


async def test_an_instance_started_on_files_published_before_serves_the_newer_release(
    settings: Settings, other_settings: Settings, store: Store, clock: FakeClock, operator: Operator
) -> None:
    first = await instance(settings, store, clock)
    operator.edit_texts("en", lambda texts: texts["welcome"].update(text="Second draft. Which eSIM?"))
    assert (await first.reloader.reload("test")).swapped

    # The other folder still holds the first files, published once already: they never come back by themselves.
    second = await instance(other_settings, store, clock)
    reply = await second.say(3, "start")
    assert reply.messages[0].message.text.startswith("Second draft.")
    assert second.reloader.serving == first.reloader.serving


async def test_button_meanings_an_older_bot_wrote_to_data_are_kept_in_the_store(
    settings: Settings, store: Store, clock: FakeClock, operator: Operator, tmp_path: Path
) -> None:
    # What bots before this one wrote beside their database: the meanings of a version served then.
    older = meanings_of(load_default_flow(settings).flow, "0ld0ld00")
    legacy = tmp_path / "data" / "flow-versions"
    legacy.mkdir(parents=True)
    (legacy / "mini-0ld0ld00.json").write_text(older.as_json(), encoding="utf-8")
    (legacy / "mini-broken.json").write_text("{not json", encoding="utf-8")

    service = ChatService(FlowEngine(load_default_flow(settings)), store, clock)
    await Reloader(service, flow_source(settings), store).start(legacy_folder=legacy)

    assert "0ld0ld00" in await store.flow_history("mini")
    assert service.engine.earlier["0ld0ld00"] == older, "its buttons keep working where they mean the same"
    # A bot started later, on any host, finds them in the store, with no data/ folder at all.
    shutil.rmtree(legacy)
    later = ChatService(FlowEngine(load_default_flow(settings)), store, clock)
    await Reloader(later, flow_source(settings), store).start(legacy_folder=legacy)
    assert later.engine.earlier["0ld0ld00"] == older
