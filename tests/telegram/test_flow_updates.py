"""An operator changes the flow and restarts the bot: buttons on messages sent before are answered kindly."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.clock import FakeClock
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling


def changed_flow(settings: Settings, folder: Path) -> Settings:
    """Returns the settings of a bot whose flow an operator changed (reminders every two days)."""
    shutil.copytree(settings.flows_dir, folder)
    flow = folder / "cancel_esim.yaml"
    source = flow.read_text(encoding="utf-8")
    assert "    every: 24h\n" in source
    flow.write_text(source.replace("    every: 24h\n", "    every: 48h\n", 1), encoding="utf-8")
    return settings.model_copy(update={"flows_dir": folder})


async def test_a_button_whose_meaning_did_not_change_keeps_working_after_a_flow_change(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    user = api.user(5)
    async with polling(build_bot(settings, load_default_flow(settings), clock).application):
        before = await user.say("/start")

    # Only the reminders' pace changed: "Let's start" leads where it did (issue 11, point 2).
    updated = changed_flow(settings, tmp_path / "flows")
    async with polling(build_bot(updated, load_default_flow(updated), clock).application):
        screen = await user.tap("Let's start", on=before)
    assert screen.has_button("travel eSIM"), "the button from before the change works"
