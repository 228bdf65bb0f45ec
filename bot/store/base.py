"""The store's backend-neutral interface: the single source of truth for every chat.

One :class:`Commit` is applied in one transaction: settings, conversation, screen message, reminders
cancelled and scheduled, messages to send and funnel events, together with the update id that caused
them, so a crash at any instant leaves either all of it or none of it.

The interface comes in roles, each a few methods, so that a caller names what it uses: :class:`ChatStore`,
:class:`Outbox`, :class:`ReminderQueue`, :class:`Inbox`, :class:`Coordination`, :class:`Reports` and
:class:`FlowReleases` (and the tickets'); :class:`Store` is all of them with opening and closing. Each role is
a protocol, so a caller that needs two names their intersection (``class _Needs(ChatStore, Outbox, Protocol)``),
which every store satisfies; only the store's own modules, its factory and the wiring name the whole
:class:`Store` (``tests/store/test_store_shape.py``). What they exchange are the
frozen records of ``bot/store/records.py``; the chats table's columns are described once in
``bot/store/columns.py``. :class:`bot.store.sqlite.SqliteStore` (one process, embedded) and
:class:`bot.store.postgres.PostgresStore` (any number of instances) implement :class:`Store` and pass the same
contract suite, ``tests/store``; :func:`bot.store.open_store` picks one from ``BOT_DATABASE``.

All datetimes are timezone-aware; the store returns them in UTC. Texts that users typed are never
stored, not even in the inbox (its updates are kept without them), with one exception that people agree
to: a question to the operators (:class:`TicketRelays`), kept only until it is posted in the support chat
(and, in the inbox, a message to an open question only until it is handled). The store knows nothing of
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
  removes it. A chat's messages are sent by whoever holds its outbox claim (``claim_outbox``, or
  ``commit_and_claim`` in the commit's own trip; a lease with a holder name), in order, one holder at a
  time across processes; the holder gives the claim up with ``release_outbox`` (or ``record_delivery_and_claim``, which records a
  delivery and claims again in one trip) only once nothing is pending, so a message committed meanwhile by
  another process is sent by the holder, never overtaking or overtaken. A holder that dies
  leaves at most the message in flight to be sent again, after its lease lapses.
- ``reserve_send_slot`` spaces every message of every process through one budget (Telegram allows a bot
  about 30 messages a second in all); ``acquire_lease`` elects one holder of a role (the one process that
  polls Telegram) that another takes over when its lease lapses.
- The inbox keeps every polled update from the moment it is fetched until its handlers are done:
  ``inbox_add`` writes a whole batch in one transaction (an update id already there is kept as it is, never
  an error), ``inbox_pending`` returns what is left, oldest update id first, and ``inbox_remove`` forgets
  the ids given (unknown ids are ignored). It keeps the updates without what people typed (the caller
  strips it), and only until they are handled; what the inbox still holds at a start is handled then, and
  ``commit``'s update id keeps one already committed from being applied twice. One process polls a bot (the
  holder of the polling lease), so the inbox needs no claim; plain ``INSERT ... ON CONFLICT DO NOTHING``, ``SELECT ... ORDER BY ... LIMIT``
  and ``DELETE ... WHERE update_id IN (...)`` implement it on any SQL backend.
- The flow version served is the store's too: ``publish_release`` makes a release current in one
  transaction (two instances publishing at once: one after the other, the second seeing the first's),
  numbered in publication order, and keeps its button meanings; ``release_head`` tells every instance which
  one is current (``bot/runtime/reload.py`` follows it). No process keeps a version only for itself.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import ClassVar, Protocol, Self

from bot.store.records import (
    KEPT_RELEASES,
    ChatRecord,
    ClaimedCommit,
    Commit,
    FlowEvent,
    FlowRelease,
    FunnelStats,
    InboxUpdate,
    Journey,
    NewReminder,
    Notice,
    OutboxMessage,
    PendingQuestion,
    Relay,
    ReleaseHead,
    Reminder,
    Standing,
    StateCount,
    StoredConversation,
    SupportNotice,
    Ticket,
    TicketCounts,
    UserSettings,
    frozen_payload,
    journeys_from,
    publishes,
    require_aware,
)

__all__ = [
    "KEPT_RELEASES",
    "ChatRecord",
    "ChatStore",
    "ClaimedCommit",
    "Commit",
    "Coordination",
    "FlowEvent",
    "FlowRelease",
    "FlowReleases",
    "FunnelStats",
    "Inbox",
    "InboxUpdate",
    "Journey",
    "NewReminder",
    "Notice",
    "Outbox",
    "OutboxMessage",
    "PendingQuestion",
    "Relay",
    "ReleaseHead",
    "Reminder",
    "ReminderQueue",
    "Reports",
    "Standing",
    "StateCount",
    "Store",
    "StoredConversation",
    "SupportNotice",
    "SupportNotices",
    "Ticket",
    "TicketCounts",
    "TicketRelays",
    "Tickets",
    "UserSettings",
    "frozen_payload",
    "journeys_from",
    "publishes",
    "require_aware",
]


class ChatStore(Protocol):
    """Chats: each chat's settings, conversation and screen, changed one commit at a time."""

    @abstractmethod
    async def load_chat(self, chat_id: int) -> ChatRecord | None:
        """Returns everything stored about a chat, or None for a chat never seen (or forgotten)."""

    @abstractmethod
    async def commit(self, commit: Commit, now: datetime) -> list[OutboxMessage]:
        """Applies ``commit`` in one transaction and returns its outbox messages, ready to send."""

    @abstractmethod
    async def set_blocked(self, chat_id: int, blocked: bool) -> None:
        """Records that the user blocked (or unblocked) the bot; blocking drops reminders and unsent messages."""

    @abstractmethod
    async def forget(self, chat_id: int) -> None:
        """Deletes every row about the chat at once: settings, conversation, reminders, outbox, events, tickets;
        an open ticket leaves the support chat's notice that it is gone (``Notice.FORGOTTEN``)."""

    @abstractmethod
    async def purge_idle(self, before: datetime) -> int:
        """Deletes chats not updated since ``before``, with their reminders and outbox; returns how many."""

    @abstractmethod
    async def expire_updates(self, before: datetime) -> int:
        """Forgets update ids processed before ``before``; returns how many."""


class Outbox(Protocol):
    """Messages committed and not yet sent: delivered at least once, a chat's by one holder at a time."""

    serves_several_processes: ClassVar[bool] = False
    """Whether several bot processes may share this backend, so that delivering a chat's messages needs
    its outbox claim; one process does without."""

    @abstractmethod
    async def pending_outbox(self, limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        """Returns up to ``limit`` committed but unsent messages (of one chat, when given), oldest first."""

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
    async def claim_outbox(
        self, chat_id: int, holder: str, now: datetime, lease: timedelta
    ) -> list[OutboxMessage] | None:
        """Claims the chat's outbox for ``holder`` until ``now + lease`` (renewing its own claim) and returns
        the pending messages, oldest first; None while another holder's claim runs."""

    @abstractmethod
    async def commit_and_claim(
        self, commit: Commit, now: datetime, *, holder: str, lease: timedelta
    ) -> ClaimedCommit:
        """Applies ``commit`` as ``commit`` does and, in the same transaction, claims the chat's outbox for
        ``holder`` as ``claim_outbox`` does: the process that commits messages sends them next, and this is
        one trip to the store where it took two. Raises as ``commit`` does, and then claims nothing; a commit
        without messages is refused (ValueError): it has nothing to claim for."""

    @abstractmethod
    async def record_delivery_and_claim(
        self,
        outbox_id: int,
        chat_id: int,
        screen_message_id: int | None,
        reminder_message_id: int | None,
        *,
        holder: str,
        now: datetime,
        lease: timedelta,
    ) -> list[OutboxMessage] | None:
        """Does ``record_delivery``, then what ``holder`` does next with the chat's outbox, at once: claims it
        again (as ``claim_outbox``) and returns the messages still pending, or, when none is, gives the claim
        up (as ``release_outbox(unless_pending=True)``) and returns []; None when another holder's claim runs
        (or the chat is gone). One trip to the store where a holder took three."""

    @abstractmethod
    async def release_outbox(self, chat_id: int, holder: str, *, unless_pending: bool) -> bool:
        """Gives up ``holder``'s claim on the chat's outbox; with ``unless_pending``, only if no message is
        pending (False then: the claim is kept, to send what came in)."""


class ReminderQueue(Protocol):
    """Pending reminders, by due time: claimed before they are fired, postponed when sending failed."""

    @abstractmethod
    async def next_due_at(self) -> datetime | None:
        """Returns when the earliest reminder falls due, ignoring chats that stopped or blocked reminders."""

    @abstractmethod
    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Returns up to ``limit`` reminders due at ``now``, oldest due first, with the same filter."""

    @abstractmethod
    async def claim_due_reminders(self, now: datetime, limit: int, lease: timedelta) -> list[Reminder]:
        """Returns up to ``limit`` reminders due at ``now``, oldest due first, that no other caller holds,
        and holds them until ``now + lease``; ``next_due_at`` counts a held reminder due when its lease ends."""

    @abstractmethod
    async def reminders_of(self, chat_id: int) -> list[Reminder]:
        """Returns the chat's pending reminders, soonest first, whether or not they may be sent."""

    @abstractmethod
    async def postpone_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Moves a reminder whose sending failed to ``due_at`` and counts the attempt; False if it is gone."""


class Inbox(Protocol):
    """Updates fetched from Telegram, kept (without typed text) until their handlers are done."""

    @abstractmethod
    async def inbox_add(self, updates: Sequence[InboxUpdate], now: datetime) -> None:
        """Keeps fetched updates in one transaction until removed; an id already kept stays as it is.

        The caller keeps only what the handlers need (``bot.telegram.kept.InboxCopy``): the store keeps no
        typed text, names or places, not even for the milliseconds an update waits in the inbox.
        """

    @abstractmethod
    async def inbox_pending(self, limit: int, after_update_id: int | None = None) -> list[InboxUpdate]:
        """Returns up to ``limit`` kept updates (with an id above ``after_update_id``), oldest id first."""

    @abstractmethod
    async def inbox_remove(self, update_ids: Collection[int]) -> None:
        """Forgets the kept updates of these ids, in one transaction; ids not kept are ignored."""


class Coordination(Protocol):
    """What instances sharing the store coordinate through: named leases and one send budget."""

    serves_several_processes: ClassVar[bool] = False
    """Whether several bot processes may share this backend, so that they need one send budget and one
    elected poller; one process does without."""

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


class Reports(Protocol):
    """What operators count: the funnel, the conversations stored, where they stand."""

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

    async def standings(self) -> list[Standing]:
        """Returns where unfinished conversations stand, by flow version and state, with their reminders.

        Not abstract so that a backend without it still runs the bot; ``esim-bot validate --against``
        and the report logged at reload then say they cannot count.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot list where conversations stand")


class FlowReleases(Protocol):
    """The flow version every instance serves, and the button meanings of the versions served."""

    @abstractmethod
    async def publish_release(self, release: FlowRelease, now: datetime, *, again: bool) -> ReleaseHead:
        """Makes ``release`` the current one and keeps its meanings, in one transaction, unless its digest
        is the current release's, or (without ``again``) any earlier release's; returns the current head.

        Without ``again`` an instance started on files already published once (an older image) never
        takes the store back to them; ``esim-bot reload`` publishes ``again``: the operator means it.
        """

    @abstractmethod
    async def release_head(self) -> ReleaseHead | None:
        """Returns the current release's head, None before any: one small row, read every few seconds."""

    @abstractmethod
    async def current_release(self) -> FlowRelease | None:
        """Returns the current release with its files, None before any."""

    @abstractmethod
    async def flow_history(self, flow_id: str) -> dict[str, str]:
        """Returns the meanings of the flow's versions served, by version (the last :data:`KEPT_RELEASES`)."""

    @abstractmethod
    async def record_meanings(self, flow_id: str, version: str, meanings: str, served_at: datetime) -> None:
        """Keeps a version's meanings, served at ``served_at``, unless they are kept already."""


class Tickets(Protocol):
    """People's questions to the operators: one open ticket per person, gone with the person's chat."""

    @abstractmethod
    async def open_ticket(self, chat_id: int, language: str, now: datetime) -> Ticket:
        """Returns the chat's open ticket, opening one if it has none."""

    @abstractmethod
    async def open_ticket_of(self, chat_id: int) -> Ticket | None:
        """Returns the chat's open ticket, if any."""

    @abstractmethod
    async def close_ticket(self, ticket_id: int, now: datetime, notice: Notice | None = None) -> bool:
        """Closes the ticket; False if it was closed already. With ``notice``, records in the same transaction
        the line the support chat is owed about it (once: ``pending_notices`` lists it until it is said)."""

    @abstractmethod
    async def open_tickets(self) -> list[Ticket]:
        """Returns every open ticket, oldest first."""

    @abstractmethod
    async def ticket_counts(self, since: datetime, until: datetime) -> TicketCounts:
        """Counts the tickets opened in ``[since, until)``: all, answered, closed."""


class TicketRelays(Protocol):
    """The messages relayed between a person and the support chat for a ticket, each recorded once.

    Recording a message before it is relayed is the claim: of two instances handling the same message, only
    the one ``relay`` answers True for commits what follows from it. A person's question is recorded with its
    text and kept, text and all, until ``relayed`` says it was posted (whoever posts it: the instance that
    recorded it, or another after a crash; ``pending_questions`` lists what is left). An operator's answer
    needs no text here: it waits in the person's outbox, committed with the operator's update.
    """

    @abstractmethod
    async def record_topic(self, ticket_id: int, topic_id: int) -> None:
        """Records the forum topic opened for the ticket in the support chat."""

    @abstractmethod
    async def ticket_for_reply(self, support_message_id: int) -> Ticket | None:
        """Returns the open ticket whose post, or a question relayed for it, is this support chat message."""

    @abstractmethod
    async def ticket_in_topic(self, topic_id: int) -> Ticket | None:
        """Returns the open ticket whose forum topic this is, in a support chat that is a forum."""

    @abstractmethod
    async def relay(
        self, ticket_id: int, direction: Relay, source_message_id: int, now: datetime, text: str | None = None
    ) -> bool:
        """Records a message to relay, with ``text`` when it waits here to be posted (a person's question);
        False if it was recorded before (relayed, or waiting to be, once)."""

    @abstractmethod
    async def pending_questions(self, limit: int) -> list[PendingQuestion]:
        """Returns up to ``limit`` questions recorded with their text and not yet posted, oldest first."""

    @abstractmethod
    async def relayed(
        self, ticket_id: int, direction: Relay, source_message_id: int, copy_id: int | None
    ) -> None:
        """Records the id of a relayed message's copy in the other chat (None: given up) and forgets its text;
        a question's first copy becomes the ticket's post, which operators reply to."""


class SupportNotices(Protocol):
    """The bot's lines owed to the support chat about tickets (solved, closed, forgotten): recorded by the store
    in the same transaction as the change they report, and kept until they are said there, so that a crash
    in between loses none and a change handled twice owes one line."""

    @abstractmethod
    async def pending_notices(self, limit: int) -> list[SupportNotice]:
        """Returns up to ``limit`` lines owed to the support chat (``close_ticket``, ``forget``), oldest first."""

    @abstractmethod
    async def notice_said(self, notice_id: int) -> None:
        """Forgets a line owed to the support chat, once said there (or given up)."""


class Store(
    ChatStore,
    Outbox,
    ReminderQueue,
    Inbox,
    Coordination,
    Reports,
    FlowReleases,
    Tickets,
    TicketRelays,
    SupportNotices,
):
    """Every role at once, with opening and closing: what a backend implements and the bot opens.

    A caller that needs one role names that role (``ReminderQueue``, ``Inbox``...), not the whole store.
    """

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
