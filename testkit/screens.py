"""What a person sees of one bot message: its text, its links and its buttons, frozen at one moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import callbacks

__all__ = ["Button", "ButtonMatcher", "Screen", "button_id", "by_id"]


def button_id(data: str) -> str:
    """Returns the stable id a flow button carries in its callback data, read with the bot's own codec.

    Any other button (a reminder answer, a menu choice) is known by its whole data.
    """
    decoded = callbacks.decode(data)
    return decoded.button if isinstance(decoded, callbacks.FlowPress) else data


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: a callback button has ``data``, a link button a ``url``."""

    label: str
    data: str | None = None
    url: str | None = None

    @property
    def id(self) -> str | None:
        """The flow's stable id for this button (None for a link button)."""
        return None if self.data is None else button_id(self.data)


ButtonMatcher = str | Callable[[Button], bool]
"""A button's label (exactly, or a unique part of it in any case), its id, or a predicate."""


def by_id(wanted: str) -> Callable[[Button], bool]:
    """Returns a matcher of the button whose id is ``wanted``, and of no other, whatever its label says."""

    def matches(button: Button) -> bool:
        return button.id == wanted

    return matches


@dataclass(frozen=True, slots=True)
class Screen:
    """A bot message as the chat shows it at one moment."""

    message_id: int
    text: str
    rows: tuple[tuple[Button, ...], ...] = ()
    links: tuple[str, ...] = ()
    """The URLs of the links in the text."""

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button, in reading order."""
        return tuple(button for row in self.rows for button in row)

    @property
    def button_labels(self) -> list[str]:
        """Every button's label, in reading order."""
        return [button.label for button in self.buttons]

    def button(self, matcher: ButtonMatcher) -> Button:
        """Returns the one button ``matcher`` names: an exact label, then an id, then a unique part of a label."""
        found = self._matching(matcher)
        wanted = "matching" if callable(matcher) else repr(matcher)
        if len(found) == 1:
            return found[0]
        if found:
            raise LookupError(
                f"{wanted} matches several buttons of message {self.message_id}: {[b.label for b in found]}"
            )
        raise LookupError(
            f"no button {wanted} in message {self.message_id} ({self.text[:60]!r}); "
            f"buttons: {self.button_labels}"
        )

    def has_button(self, matcher: ButtonMatcher) -> bool:
        """Tells whether any button matches, as :meth:`button` matches them."""
        return bool(self._matching(matcher))

    def _matching(self, matcher: ButtonMatcher) -> list[Button]:
        if callable(matcher):
            return [button for button in self.buttons if matcher(button)]
        for exact in (
            [button for button in self.buttons if button.label == matcher],
            [button for button in self.buttons if button.id == matcher],
        ):
            if exact:
                return exact
        folded = matcher.casefold()
        return [button for button in self.buttons if folded in button.label.casefold()]
