"""The store's backend-neutral interface: the single source of truth for every chat.

One :class:`Commit` is applied in one transaction: settings, conversation, screen message, reminders
cancelled and scheduled, messages to send and funnel events, together with the update id that caused
them, so a crash at any instant leaves either all of it or none of it.

:class:`bot.store.sqlite.SqliteStore` (one process, embedded) and :class:`bot.store.postgres.PostgresStore`
(any number of instances) implement :class:`Store` and pass the same contract suite, ``tests/store``;
:func:`bot.store.open_store` picks one from ``BOT_DATABASE``.

All datetimes are timezone-aware; the store returns them in UTC. Texts that users typed are never
stored, except inside the raw updates the inbox keeps until they are handled. The store knows nothing of
the engine: a conversation crosses into it as :class:`StoredConversation`, plain data.

What a backend promises when several writers share it (tasks of one process, or several processes):

- Every method is atomic: it happens entirely or not at all, and a reader never sees half of a commit.
- ``commit`` with ``update_id``: of two commits of the same update, exactly one succeeds; the other
  raises DuplicateUpdate and changes nothing. This is how a redelivered update is applied once.
- ``commit`` with ``consumed_reminder_id``: of two commits consuming the same reminder, exactly one
  succeeds; the other raises ReminderGone and changes nothing. Consuming is the claim: whoever consumes a
  reminder, and only they, sends it (the messages come back from the same commit).
- Two commits of the same chat are applied one after the other, the later one winning column by column;
  the store does not merge conversations. Inside one process the runtime holds the chat's lock
  (:class:`bot.runtime.locks.ChatLocks`) from ``load_chat`` to the end of delivery. Across processes a
  commit names the chat ``version`` it was computed from (``Commit.expected_version``, read by
  ``load_chat``): when another commit came in between, it raises ChatChanged and changes nothing, and the
  runtime loads the chat again and redoes the update. So one chat's updates are applied one after another
  whichever processes receive them. (PostgreSQL also takes ``pg_advisory_xact_lock(chat_id)`` in every
  commit, so the check and the write are one step.)
- A due reminder is claimed before it is fired: ``claim_due_reminders`` hands each one to a single caller
  for a lease, and hands it out again only once the lease lapsed (the caller died). Consuming it in a
  commit remains the final word: of two commits consuming it, one succeeds.
- The outbox is delivered at least once: ``pending_outbox`` returns a message until ``record_delivery``
  or ``mark_sent`` removes it. A chat's messages are sent by whoever holds its outbox claim
  (``claim_outbox``, a lease with a holder name), in order, one holder at a time across processes; the
  holder gives the claim up with ``release_outbox`` only once nothing is pending, so a message committed
  meanwhile by another process is sent by the holder, never overtaking or overtaken. A holder that dies
  leaves at most the message in flight to be sent again, after its lease lapses.
- ``reserve_send_slot`` spaces every message of every process through one budget (Telegram allows a bot
  about 30 messages a second in all); ``acquire_lease`` elects one holder of a role (the one process that
  polls Telegram) that another takes over when its lease lapses.
- The inbox keeps every polled update from the moment it is fetched until its handlers are done:
  ``inbox_add`` writes a whole batch in one transaction (an update id already there is kept as it is, never
  an error), ``inbox_pending`` returns what is left, oldest update id first, and ``inbox_remove`` forgets
  the ids given (unknown ids are ignored). It is the one place the raw updates, typed texts included, are
  kept, and only until they are handled; what the inbox still holds at a start is handled then, and
  ``commit``'s update id keeps one already committed from being applied twice. One process polls a bot (the
  holder of the polling lease), so the inbox needs no claim; plain ``INSERT ... ON CONFLICT DO NOTHING``, ``SELECT ... ORDER BY ... LIMIT``
  and ``DELETE ... WHERE update_id IN (...)`` implement it on any SQL backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import Enum
from types import MappingProxyType, TracebackType
from typing import ClassVar, Self

from bot.localtime import DEFAULT_TIMEZONE, QuietHours, zone_or_default

__all__ = [
    "ChatRecord",
    "Commit",
    "FlowEvent",
    "FunnelStats",
    "InboxUpdate",
    "Journey",
    "NewReminder",
    "OutboxMessage",
    "Relay",
    "Reminder",
    "Standing",
    "StateCount",
    "Store",
    "StoredConversation",
    "Ticket",
    "TicketCounts",
    "TicketStore",
    "UserSettings",
    "frozen_payload",
    "journeys_from",
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
class Journey:
    """The states one conversation entered over a period, oldest first, and one of its variables now."""

    entered: tuple[tuple[str, datetime], ...]
    value: str | None
    """The variable's value in the conversation stored now: None if unset, or once forgotten or purged."""


@dataclass(frozen=True, slots=True)
class Standing:
    """How many unfinished conversations sit in one state of one flow version, and their pending reminders."""

    flow_id: str
    flow_version: str
    state: str
    chats: int
    reminders: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Pending reminders of these chats, by name."""


class Relay(Enum):
    """Which way a message of a ticket went: the person's question out, or an operator's answer back."""

    QUESTION = "question"
    ANSWER = "answer"


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
class TicketCounts:
    """How many tickets were opened over a period, and how many of those got an answer or were closed."""

    opened: int
    answered: int
    closed: int


class TicketStore(ABC):
    """Tickets and the messages relayed for them: one open ticket per person, each message relayed once.

    A chat's tickets go with the chat (``forget`` and ``purge_idle``). Recording a message before it is
    relayed is the claim: of two instances handling the same message, only the one ``relay`` answers True
    for sends it.
    """

    @abstractmethod
    async def open_ticket(self, chat_id: int, language: str, now: datetime) -> Ticket:
        """Returns the chat's open ticket, opening one if it has none."""

    @abstractmethod
    async def open_ticket_of(self, chat_id: int) -> Ticket | None:
        """Returns the chat's open ticket, if any."""

    @abstractmethod
    async def ticket_for_reply(self, support_message_id: int) -> Ticket | None:
        """Returns the open ticket whose post, or a question relayed for it, is this support chat message."""

    @abstractmethod
    async def post_ticket(self, ticket_id: int, support_message_id: int, topic_id: int | None) -> None:
        """Records where the ticket was posted in the support chat."""

    @abstractmethod
    async def relay(self, ticket_id: int, direction: Relay, source_message_id: int, now: datetime) -> bool:
        """Records a message to relay; False if it was recorded before (relayed, or being relayed, once)."""

    @abstractmethod
    async def relayed(self, ticket_id: int, direction: Relay, source_message_id: int, copy_id: int) -> None:
        """Records the id of a relayed message's copy in the other chat."""

    @abstractmethod
    async def close_ticket(self, ticket_id: int, now: datetime) -> bool:
        """Closes the ticket; False if it was closed already."""

    @abstractmethod
    async def open_tickets(self) -> list[Ticket]:
        """Returns every open ticket, oldest first."""

    @abstractmethod
    async def ticket_counts(self, since: datetime, until: datetime) -> TicketCounts:
        """Counts the tickets opened in ``[since, until)``: all, answered, closed."""


def journeys_from(rows: Iterable[tuple[int, str, datetime, str | None]]) -> list[Journey]:
    """Groups ``(chat_id, state, at, value)`` rows, ordered by chat then time, into journeys."""
    grouped: dict[int, tuple[list[tuple[str, datetime]], str | None]] = {}
    for chat_id, state, at, value in rows:
        grouped.setdefault(chat_id, ([], value))[0].append((state, at))
    return [Journey(tuple(entered), value) for entered, value in grouped.values()]


def frozen_payload(payload: Mapping[str, object]) -> Mapping[str, object]:
    """Returns a read-only copy of an outbox payload."""
    return MappingProxyType(dict(payload))


class Store(ABC):
    """Durable chats, reminders, processed updates, outbox and funnel events."""

    serves_several_processes: ClassVar[bool] = False
    """Whether several bot processes may share this backend, so that delivering a chat's messages needs
    its outbox claim and messages need the shared send budget; one process does without both."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Connects, and upgrades the schema to the current version."""

    @abstractmethod
    async def close(self) -> None:
        """Closes the connection; closing twice is harmless."""

    @abstractmethod
    async def load_chat(self, chat_id: int) -> ChatRecord | None:
        """Returns everything stored about a chat, or None for a chat never seen (or forgotten)."""

    @abstractmethod
    async def commit(self, commit: Commit, now: datetime) -> list[OutboxMessage]:
        """Applies ``commit`` in one transaction and returns its outbox messages, ready to send."""

    @abstractmethod
    async def mark_sent(self, ids: Collection[int]) -> None:
        """Removes sent messages from the outbox."""

    @abstractmethod
    async def pending_outbox(self, limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        """Returns up to ``limit`` committed but unsent messages (of one chat, when given), oldest first."""

    @abstractmethod
    async def next_due_at(self) -> datetime | None:
        """Returns when the earliest reminder falls due, ignoring chats that stopped or blocked reminders."""

    @abstractmethod
    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Returns up to ``limit`` reminders due at ``now``, oldest due first, with the same filter."""

    @abstractmethod
    async def record_delivery(
        self,
        outbox_id: int,
        chat_id: int,
        screen_message_id: int | None,
        reminder_message_id: int | None = None,
    ) -> None:
        """Removes a sent message from the outbox and, when given, records the message now showing the
        chat's screen, or its latest reminder; a chat deleted meanwhile (``forget``) is not brought back."""

    @abstractmethod
    async def reminders_of(self, chat_id: int) -> list[Reminder]:
        """Returns the chat's pending reminders, soonest first, whether or not they may be sent."""

    @abstractmethod
    async def postpone_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Moves a reminder whose sending failed to ``due_at`` and counts the attempt; False if it is gone."""

    @abstractmethod
    async def set_blocked(self, chat_id: int, blocked: bool) -> None:
        """Records that the user blocked (or unblocked) the bot; blocking drops reminders and unsent messages."""

    @abstractmethod
    async def forget(self, chat_id: int) -> None:
        """Deletes every row about the chat at once: settings, conversation, reminders, outbox, events."""

    @abstractmethod
    async def purge_idle(self, before: datetime) -> int:
        """Deletes chats not updated since ``before``, with their reminders and outbox; returns how many."""

    @abstractmethod
    async def expire_updates(self, before: datetime) -> int:
        """Forgets update ids processed before ``before``; returns how many."""

    @abstractmethod
    async def funnel(
        self, flow_id: str, since: datetime, until: datetime, confirmed_states: Collection[str]
    ) -> FunnelStats:
        """Counts, from the events in ``[since, until)``, how far conversations of a flow got."""

    @abstractmethod
    async def journeys(self, flow_id: str, since: datetime, until: datetime, variable: str) -> list[Journey]:
        """Returns, per conversation of a flow, the states it entered in ``[since, until)`` (no chat ids)."""

    @abstractmethod
    async def count_conversations(self) -> int:
        """Returns how many chats have a conversation stored."""

    # -- what several processes sharing the store coordinate through --------------------------------

    @abstractmethod
    async def claim_due_reminders(self, now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
        """Returns up to ``limit`` reminders due at ``now``, oldest due first, that no other caller holds,
        and holds them until ``now + lease``; ``next_due_at`` counts a held reminder due when its lease ends."""

    @abstractmethod
    async def claim_outbox(
        self, chat_id: int, holder: str, now: datetime, lease: timedelta
    ) -> list[OutboxMessage] | None:
        """Claims the chat's outbox for ``holder`` until ``now + lease`` (renewing its own claim) and returns
        the pending messages, oldest first; None while another holder's claim runs."""

    @abstractmethod
    async def release_outbox(self, chat_id: int, holder: str, *, unless_pending: bool) -> bool:
        """Gives up ``holder``'s claim on the chat's outbox; with ``unless_pending``, only if no message is
        pending (False then: the claim is kept, to send what came in)."""

    @abstractmethod
    async def acquire_lease(self, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
        """Makes ``holder`` the holder of ``name`` until ``now + lease`` (renewing its own lease); False
        while another holder's lease runs."""

    @abstractmethod
    async def release_lease(self, name: str, holder: str) -> None:
        """Gives up ``holder``'s lease of ``name``, so another can take it at once."""

    @abstractmethod
    async def reserve_send_slot(self, interval: timedelta, pause: timedelta = timedelta(0)) -> timedelta:
        """Reserves the next moment a message may be sent, ``interval`` after the one reserved before (by
        any process), and not before ``pause`` from now; returns how long to wait for it.

        The store's own clock decides (PostgreSQL's, not each host's), so hosts whose clocks disagree
        still space their messages."""

    async def standings(self) -> list[Standing]:
        """Returns where unfinished conversations stand, by flow version and state, with their reminders.

        Not abstract so that a backend without it still runs the bot; ``esim-bot validate --against``
        and the report logged at reload then say they cannot count.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot list where conversations stand")

    @abstractmethod
    async def inbox_add(self, updates: Sequence[InboxUpdate], now: datetime) -> None:
        """Keeps fetched updates in one transaction until removed; an id already kept stays as it is.

        The caller leaves out what people typed (``bot.telegram.intake.without_typed_text``): the store
        keeps no typed text, not even for the milliseconds an update waits in the inbox.
        """

    @abstractmethod
    async def inbox_pending(self, limit: int, after_update_id: int | None = None) -> list[InboxUpdate]:
        """Returns up to ``limit`` kept updates (with an id above ``after_update_id``), oldest id first."""

    @abstractmethod
    async def inbox_remove(self, update_ids: Collection[int]) -> None:
        """Forgets the kept updates of these ids, in one transaction; ids not kept are ignored."""
