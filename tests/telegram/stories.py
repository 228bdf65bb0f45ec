"""Walks people share across the issue-10 stories: to "I've submitted it", by the flow's stable button ids."""

from __future__ import annotations

from testkit import FakeUser, Screen, by_id


async def submit(user: FakeUser, deep_link: str = "", where: str = "home", country: str = "other") -> Screen:
    """Walks to "I've submitted it" ending a home carrier's line (daily reminders); returns the waiting screen.

    ``where`` is the id of the answer to "where are you now?": ``home`` (back home), ``here`` (in New
    Caledonia, which settles the reminders' zone) or ``abroad`` (somewhere else). ``country`` is the home
    country's button id: ``other`` names no place, ``france`` places someone back home in Paris time.
    """
    await user.say(f"/start {deep_link}".strip())
    await user.tap(by_id("go"))
    if not deep_link:  # the ?start=home link has already answered who the carrier is
        await user.tap(by_id("home"))
        await user.tap(by_id(country))
    await user.tap(by_id(where))
    await user.tap(by_id("end"))
    await user.tap(by_id("next"))
    screen = await user.tap(by_id("sent"))
    if where != "here":  # "in New Caledonia" settles the zone; otherwise the question follows at once
        await asked_where(user, screen)
    return screen


async def asked_where(user: FakeUser, screen: Screen) -> Screen:
    """Returns "where are you now?", which the bot sends as a message of its own right after ``screen``."""
    index = [message.message_id for message in user.messages].index(screen.message_id)
    return (await user.wait_for_messages(index + 2))[index + 1]


def buttons_of(screen: Screen) -> set[str | None]:
    """Returns the ids of a screen's buttons (flow buttons by their stable id, others by their data)."""
    return {button.id for button in screen.buttons}
