"""Walks people share across the issue-10 stories: to "I've submitted it", by the flow's stable button ids."""

from __future__ import annotations

from testkit import FakeUser, Screen, by_id


async def submit(user: FakeUser, deep_link: str = "") -> Screen:
    """Walks to "I've submitted it" ending a home carrier's line (daily reminders); returns the waiting screen."""
    await user.say(f"/start {deep_link}".strip())
    await user.tap(by_id("go"))
    if not deep_link:  # the ?start=home link has already answered who the carrier is
        await user.tap(by_id("home"))
        await user.tap(by_id("other"))
    await user.tap(by_id("end"))
    await user.tap(by_id("next"))
    return await user.tap(by_id("sent"))


def buttons_of(screen: Screen) -> set[str | None]:
    """Returns the ids of a screen's buttons (flow buttons by their stable id, others by their data)."""
    return {button.id for button in screen.buttons}
