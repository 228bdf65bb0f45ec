"""What the store keeps and hands out, as plain frozen records: the same for every backend and every role."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import Enum
from types import MappingProxyType

from bot.localtime import DEFAULT_TIMEZONE, QuietHours, zone_or_default

__all__ = [
    "KEPT_RELEASES",
    "ChatRecord",
    "ClaimedCommit",
    "Commit",
    "FlowEvent",
    "FlowRelease",
    "FunnelStats",
    "InboxUpdate",
    "Journey",
    "NewReminder",
    "OutboxMessage",
    "PendingQuestion",
    "Relay",
    "ReleaseHead",
    "Reminder",
    "Standing",
    "StateCount",
    "StoredConversation",
    "Ticket",
    "TicketCounts",
    "UserSettings",
    "frozen_payload",
    "journeys_from",
    "publishes",
    "require_aware",
]


def require_aware(moment: datetime, what: str) -> None:
    """Raises ValueError when ``moment`` has no time zone: naive datetimes are bugs here."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What a chat chose: language, time zone, quiet hours, and whether reminders may be sent.

    ``timezone_asked_at`` is when the chat was last asked to type its time zone (None: not asked), so
    the answer is understood by whichever process receives it, after a restart too. ``timezone_chosen``
    tells a zone the person picked from one the bot assumed (asked again until they pick).
    """

    chat_id: int
    language: str | None
    timezone: str = DEFAULT_TIMEZONE
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    reminders_stopped: bool = False
    blocked: bool = False
    timezone_asked_at: datetime | None = None
    timezone_chosen: bool = False

    def __post_init__(self) -> None:
        if self.timezone_asked_at is not None:
            require_aware(self.timezone_asked_at, "UserSettings.timezone_asked_at")

    def sendable_from(self, moment: datetime) -> datetime:
        """Returns ``moment`` in UTC, or the end of the chat's quiet hours when it falls inside them.

        The one place quiet hours move a reminder: scheduling, snoozing, a late reminder, a retry.
        """
        zone = zone_or_default(self.timezone)
        return QuietHours(self.quiet_start, self.quiet_end).shift(moment, zone)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """Where a chat stands in a flow, as the store keeps it: plain data the engine's conversation maps to."""

    flow_id: str
    flow_version: str
    state: str
    language: str
    step: int = 0
    variables: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))
    checklist: frozenset[str] = frozenset()
    finished: bool = False
    asking: str | None = None
    """The confirmation the chat's newest screen asks for, if any (opaque to the store)."""


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """Everything stored about one chat, as loaded before handling its update.

    ``screen_message_id`` is the Telegram message currently showing the conversation's screen;
    ``reminder_message_id`` the latest reminder sent, the only one whose buttons still count;
    ``version`` counts the chat's commits, for :attr:`Commit.expected_version`.
    """

    settings: UserSettings
    conversation: StoredConversation | None
    screen_message_id: int | None
    updated_at: datetime
    reminder_message_id: int | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class NewReminder:
    """A reminder to schedule; it replaces any pending reminder of the same name in the chat."""

    name: str
    due_at: datetime
    sequence: int

    def __post_init__(self) -> None:
        require_aware(self.due_at, "NewReminder.due_at")


@dataclass(frozen=True, slots=True)
class Reminder:
    """A pending reminder; ``attempts`` counts failed sends."""

    id: int
    chat_id: int
    name: str
    due_at: datetime
    sequence: int
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message committed but not yet sent; the payload is opaque to the store."""

    id: int
    chat_id: int
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ClaimedCommit:
    """A commit applied together with the first claim of the chat's outbox (``Outbox.commit_and_claim``).

    ``queued`` holds the commit's messages in order, as ``commit`` returns them; ``pending`` every message of
    the chat still to send under the claim, oldest first (the commit's among them), or None while another
    holder's claim runs (that holder sends the commit's messages too).
    """

    queued: list[OutboxMessage]
    pending: list[OutboxMessage] | None


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    """An update fetched from Telegram and not yet handled: its id and its JSON object, as received."""

    update_id: int
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class FlowEvent:
    """A conversation entered ``state``: one row of the operators' funnel."""

    chat_id: int
    flow_id: str
    flow_version: str
    state: str
    at: datetime

    def __post_init__(self) -> None:
        require_aware(self.at, "FlowEvent.at")


@dataclass(frozen=True, slots=True)
class Commit:
    """Everything one update (or one fired reminder) changes about a chat, applied atomically.

    Inside the transaction: the update id is recorded (a repeat raises DuplicateUpdate), the consumed
    reminder is deleted (a missing one raises ReminderGone), then reminders are cancelled, then scheduled,
    so cancelling and scheduling the same name reschedules it. ``cancel_reminders=None`` cancels all of
    the chat's reminders; the empty set cancels none. ``delete_conversation`` also forgets the screen message.
    ``expected_version`` is the :attr:`ChatRecord.version` the commit was computed from (0: the chat was
    never seen); a chat at another version raises ChatChanged. None commits whatever the version.
    """

    chat_id: int
    update_id: int | None = None
    settings: UserSettings | None = None
    conversation: StoredConversation | None = None
    delete_conversation: bool = False
    screen_message_id: int | None = None
    cancel_reminders: frozenset[str] | None = frozenset()
    schedule: Sequence[NewReminder] = ()
    outbox: Sequence[Mapping[str, object]] = ()
    events: Sequence[FlowEvent] = ()
    consumed_reminder_id: int | None = None
    expected_version: int | None = None

    def __post_init__(self) -> None:
        if self.settings is not None and self.settings.chat_id != self.chat_id:
            raise ValueError(f"settings of chat {self.settings.chat_id} committed for chat {self.chat_id}")
        if self.conversation is not None and self.delete_conversation:
            raise ValueError("a commit cannot both save and delete the conversation")
        strangers = {event.chat_id for event in self.events} - {self.chat_id}
        if strangers:
            raise ValueError(f"events of chats {sorted(strangers)} committed for chat {self.chat_id}")


@dataclass(frozen=True, slots=True)
class StateCount:
    """How many conversations entered a state, and how many of them stopped there."""

    state: str
    reached: int
    dropped_off: int


@dataclass(frozen=True, slots=True)
class FunnelStats:
    """One flow's funnel over ``[since, until)``, counted in distinct chats, busiest state first."""

    flow_id: str
    since: datetime
    until: datetime
    started: int
    confirmed: int
    states: tuple[StateCount, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Standing:
    """How many unfinished conversations sit in one state of one flow version, and their pending reminders."""

    flow_id: str
    flow_version: str
    state: str
    chats: int
    reminders: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Pending reminders of these chats, by name."""


KEPT_RELEASES = 20
"""How many releases keep their files, and how many flow versions their meanings: far more than screens
people still have open. Older releases keep only their digest, so that their files are never taken for new."""


@dataclass(frozen=True, slots=True)
class ReleaseHead:
    """Which release is current: its number in publication order, its flow version and its files' digest."""

    number: int
    flow_id: str
    version: str
    digest: str


@dataclass(frozen=True, slots=True)
class FlowRelease:
    """A flow and its texts as published for every instance to serve, and what its buttons mean.

    ``files`` maps each file's path (relative to the folder of flows or of locales, prefixed ``flows/`` or
    ``locales/``) to its text; ``digest`` names that content; ``meanings`` is a JSON document opaque to
    the store (``bot.flows.meanings``). ``number`` is 0 until the store publishes it.
    """

    flow_id: str
    version: str
    digest: str
    files: Mapping[str, str]
    meanings: str
    number: int = 0

    @property
    def head(self) -> ReleaseHead:
        """Returns the release's head."""
        return ReleaseHead(self.number, self.flow_id, self.version, self.digest)


def publishes(current: ReleaseHead | None, digest: str, *, again: bool, seen: bool) -> bool:
    """Tells whether a release of ``digest`` becomes current (:meth:`Store.publish_release`), given the current
    release and whether ``digest`` was ever published."""
    if current is not None and current.digest == digest:
        return False
    return again or not seen


@dataclass(frozen=True, slots=True)
class Journey:
    """The states one conversation entered over a period, oldest first, and one of its variables now."""

    entered: tuple[tuple[str, datetime], ...]
    value: str | None
    """The variable's value in the conversation stored now: None if unset, or once forgotten or purged."""


def journeys_from(rows: Iterable[tuple[int, str, datetime, str | None]]) -> list[Journey]:
    """Groups ``(chat_id, state, at, value)`` rows, ordered by chat then time, into journeys."""
    grouped: dict[int, tuple[list[tuple[str, datetime]], str | None]] = {}
    for chat_id, state, at, value in rows:
        grouped.setdefault(chat_id, ([], value))[0].append((state, at))
    return [Journey(tuple(entered), value) for entered, value in grouped.values()]


class Relay(Enum):
    """Which way a message of a ticket went: the person's question out, or an operator's answer back."""

    QUESTION = "question"
    ANSWER = "answer"


class Notice(Enum):
    """A line the bot owes the support chat about a ticket; its value names the line's text (ui.handoff.*)."""

    SOLVED = "solved_support"
    CLOSED = "closed_support"
    FORGOTTEN = "forgotten"


@dataclass(frozen=True, slots=True)
class SupportNotice:
    """A line for the support chat, recorded with the change it reports and kept until it is said there."""

    id: int
    ticket_id: int
    notice: Notice
    topic_id: int | None
    """The ticket's forum topic, kept here: a forgotten person's ticket is gone when the line is said."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A person's question to the operators, from the moment it is asked until it is closed."""

    id: int
    chat_id: int
    language: str
    opened_at: datetime
    support_message_id: int | None = None
    """The ticket's message in the support chat, which operators answer by replying to."""
    topic_id: int | None = None
    """The person's topic when the support chat is a forum."""
    answered_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingQuestion:
    """A person's message for the support chat, kept with its text from the moment it is recorded until it is
    posted there: what the person agreed to share, kept no longer than it takes to relay it."""

    ticket: Ticket
    source_message_id: int
    """The person's message, in their chat."""
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TicketCounts:
    """How many tickets were opened over a period, and how many of those got an answer or were closed."""

    opened: int
    answered: int
    closed: int


def frozen_payload(payload: Mapping[str, object]) -> Mapping[str, object]:
    """Returns a read-only copy of an outbox payload."""
    return MappingProxyType(dict(payload))
