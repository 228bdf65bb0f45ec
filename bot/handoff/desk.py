"""The operators' side of asking a person: the support chat's open questions, and answers relayed back.

A person's question is recorded in the store with its text, the person's update committed with the line
telling them it is sent; the question is then posted in the support chat from the store
(bot/telegram/relays.py), and its text forgotten once it is. An operator answers a person by replying, in
the support chat, to the question's post (or to a follow-up the bot relayed there). The answer reaches the
person through their chat's outbox, committed with the operator's update id. Either way a redelivered
update, a restart or a second instance never relays a message twice, and a crash before it is sent leaves
it in the store, sent once the bot is back (twice only if the crash falls between Telegram's answer and its
record, as for every message).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.callbacks import AskPerson, encode
from bot.engine.screens import ScreenButton
from bot.flows.model import Flow
from bot.handoff.screening import looks_like_a_code
from bot.runtime.messages import OutgoingMessage, QueuedMessage, payloads
from bot.runtime.service import ChatService
from bot.runtime.typed import TIMEZONE_ANSWER_WINDOW
from bot.screen_titles import screen_title
from bot.stats import age_text
from bot.store import (
    ChatStore,
    Commit,
    Coordination,
    DuplicateUpdate,
    Notice,
    PendingQuestion,
    Relay,
    SupportNotice,
    SupportNotices,
    Ticket,
    TicketRelays,
    Tickets,
)

__all__ = ["DeskReply", "Question", "SupportChat", "SupportDesk"]


@dataclass(frozen=True, slots=True)
class SupportChat:
    """The operators' Telegram group, who in it may answer, and the language the bot speaks there."""

    chat_id: int
    operators: frozenset[int]
    language: str
    longest_message: int
    """The most characters a message may have (Telegram's limit, as the edge knows it)."""


@dataclass(frozen=True, slots=True)
class Question:
    """What a person's message to their open question leads to: a question recorded for the support chat, and
    what the person reads (told at once when held back as a code; from their outbox when sent)."""

    held: OutgoingMessage | None = None
    to_person: tuple[QueuedMessage, ...] = ()
    recorded: bool = False
    """Whether a question waits in the store to be posted (this message's, or one from before a restart)."""


@dataclass(frozen=True, slots=True)
class DeskReply:
    """What an operator's message leads to: a line in the support chat, and messages to a person."""

    to_support: str | None = None
    to_person: tuple[QueuedMessage, ...] = ()
    noticed: bool = False
    """Whether a line owed to the support chat was recorded with the change (the relays say it from the store)."""


def _answers(flow: Flow, variables: Mapping[str, str | None]) -> str:
    """Returns the person's answers in the flow, a provider by its name: "provider: Airalo · status: active"."""
    shown = []
    for name, value in variables.items():
        if value is None:
            continue
        provider = (
            flow.providers.get(value) if flow.variables.get(name) and flow.variables[name].table else None
        )
        shown.append(f"{name}: {provider.name if provider else value}")
    return " · ".join(shown)


class DeskStore(ChatStore, Tickets, TicketRelays, SupportNotices, Coordination, Protocol):
    """What the desk reads and writes: the chats (a relayed answer is committed to the person's chat), their
    tickets, each message relayed for them, the lines owed to the support chat, and the lease by which one
    instance at a time posts people's questions and those lines in the support chat (bot.telegram.relays)."""


class SupportDesk:
    """Answers the support chat: open questions on /tickets, operators' replies relayed to the person."""

    def __init__(self, support: SupportChat, service: ChatService, store: DeskStore) -> None:
        self.support = support
        self.service = service
        self.store = store
        self.clock = service.clock

    def _text(self, key: str, values: dict[str, str] | None = None) -> str:
        return self.service.engine.renderer.plain(self.support.language, f"ui.handoff.{key}", values)

    def allowed(self, user_id: int | None) -> bool:
        """Tells whether this member of the support chat may answer people."""
        return user_id is not None and user_id in self.support.operators

    async def open_tickets(self, user_id: int | None) -> str:
        """Returns the open questions, oldest first, each with its age (refused to those not allowed)."""
        if not self.allowed(user_id):
            return self._text("not_allowed")
        tickets = await self.store.open_tickets()
        if not tickets:
            return self._text("no_tickets")
        now = self.clock.now()
        lines = [self._text("tickets", {"count": str(len(tickets))})]
        lines += [self._ticket_line(ticket, now - ticket.opened_at) for ticket in tickets]
        return "\n".join(lines)

    def _ticket_line(self, ticket: Ticket, age: timedelta) -> str:
        mark = "✅" if ticket.answered_at is not None else "⏳"
        return f"{mark} #{ticket.id} · {ticket.language} · {age_text(age)}"

    async def _where(self, chat_id: int, language: str) -> tuple[str, str]:
        """Returns the step the person is at (its title in ``language``) and their answers in the flow."""
        engine = self.service.engine
        record = await self.store.load_chat(chat_id)
        conversation = record.conversation if record is not None else None
        if conversation is None or conversation.state not in engine.bundle.flow.states:
            return "-", "-"
        step = screen_title(engine.bundle, language, conversation.state)
        return step, _answers(engine.bundle.flow, conversation.variables) or "-"

    async def post_of(self, question: PendingQuestion) -> OutgoingMessage:
        """Returns what the support chat reads of a question: the ticket's post, in the operators' language,
        with the step the person is at and their answers in the flow (nothing else: the bot never has their
        phone number); once the ticket is posted, a follow-up."""
        ticket = question.ticket
        if ticket.support_message_id is not None:
            values = {"ticket": str(ticket.id), "question": question.text}
            return self._fitting("follow_up", values)
        step, answers = await self._where(ticket.chat_id, self.support.language)
        values = {
            "ticket": str(ticket.id),
            "language": ticket.language,
            "step": step,
            "answers": answers,
            "question": question.text,
        }
        return self._fitting("ticket", values)

    def _fitting(self, key: str, values: dict[str, str]) -> OutgoingMessage:
        """Returns the support chat's message, the question cut short ("…") when it would not fit in one."""
        text = self._text(key, values)
        excess = len(text) - self.support.longest_message
        if excess > 0:
            text = self._text(key, {**values, "question": values["question"][: -excess - 1] + "…"})
        return OutgoingMessage(self.support.chat_id, text)

    async def ask(self, chat_id: int, language: str) -> OutgoingMessage:
        """Opens the person's question and returns what they read before typing it: what will be shared
        with the operators, and never to send a code."""
        await self.store.open_ticket(chat_id, language, self.clock.now())
        step, answers = await self._where(chat_id, language)
        prompt = self.service.engine.renderer.plain(
            language, "ui.handoff.ask_prompt", {"step": step, "answers": answers}
        )
        return OutgoingMessage(chat_id, prompt)

    async def _answers_where(self, chat_id: int) -> bool:
        """Tells whether the person was just asked where they are: their message answers that, not the question."""
        record = await self.store.load_chat(chat_id)
        asked = record.settings.timezone_asked_at if record is not None else None
        return asked is not None and self.clock.now() - asked <= TIMEZONE_ANSWER_WINDOW

    async def person_message(
        self, chat_id: int, message_id: int, text: str, update_id: int
    ) -> Question | None:
        """Returns what a person's message to their open question leads to; None without one (the flow
        handles the message). A message that looks like a code is held back; any other is recorded, with its
        text, to be posted once, and the person told with their update's commit (once too)."""
        ticket = await self.store.open_ticket_of(chat_id)
        if ticket is None or await self._answers_where(chat_id):
            return None
        plain = self.service.engine.renderer.plain
        if looks_like_a_code(text):
            return Question(held=OutgoingMessage(chat_id, plain(ticket.language, "ui.handoff.code_held")))
        # Recorded before the commit: a crash in between leaves the question to post, and the update (handled
        # again) commits the line telling the person.
        await self.store.relay(ticket.id, Relay.QUESTION, message_id, self.clock.now(), text)
        forwarded = OutgoingMessage(chat_id, plain(ticket.language, "ui.handoff.forwarded"))
        return Question(to_person=await self._to_person(ticket, forwarded, update_id) or (), recorded=True)

    async def _ticket_answered(self, reply_to: int | None, topic_id: int | None) -> Ticket | None:
        """Returns the open question an operator's message is about: the one replied to, or the topic's."""
        ticket = await self.store.ticket_for_reply(reply_to) if reply_to is not None else None
        if ticket is None and topic_id is not None:
            ticket = await self.store.ticket_in_topic(topic_id)
        return ticket

    async def operator_reply(
        self,
        user_id: int | None,
        reply_to: int,
        message_id: int,
        text: str,
        update_id: int,
        topic_id: int | None = None,
        *,
        to_bot: bool = False,
    ) -> DeskReply:
        """Relays an operator's reply to a question (or message in its forum topic) to its person, once;
        refuses one not allowed. A reply to another of the bot's messages (``to_bot``), such as a question's
        older copy, is answered with how to reach the question instead."""
        ticket = await self._ticket_answered(reply_to, topic_id)
        if ticket is None:
            if to_bot and self.allowed(user_id):
                return DeskReply(self._text("unknown_post"))
            return DeskReply()  # the operators talking among themselves
        if not self.allowed(user_id):
            return DeskReply(self._text("not_allowed"))
        now = self.clock.now()
        plain = self.service.engine.renderer.plain
        solved = ScreenButton(
            plain(ticket.language, "ui.handoff.solved_button"), data=encode(AskPerson(solved=True))
        )
        answer = OutgoingMessage(
            ticket.chat_id, plain(ticket.language, "ui.handoff.answer", {"text": text}), ((solved,),)
        )
        queued = await self._to_person(ticket, answer, update_id)
        # Recorded after the commit, and again when the update is handled again (after a crash): the answer
        # counts, and the operators are told it is on its way, twice rather than never.
        await self.store.relay(ticket.id, Relay.ANSWER, message_id, now)
        return DeskReply(self._text("sent"), queued or ())

    async def _to_person(
        self, ticket: Ticket, message: OutgoingMessage, update_id: int
    ) -> tuple[QueuedMessage, ...] | None:
        """Commits a message to the person's outbox with the operator's update id; None if handled before."""
        commit = Commit(chat_id=ticket.chat_id, update_id=update_id, outbox=payloads((message,)))
        try:
            stored = await self.store.commit(commit, self.clock.now())
        except DuplicateUpdate:
            return None
        return tuple(QueuedMessage(row.id, message) for row in stored)

    async def close(
        self,
        user_id: int | None,
        reply_to: int | None,
        update_id: int,
        topic_id: int | None = None,
        *,
        to_bot: bool = False,
    ) -> DeskReply:
        """Closes the question an operator's /close replies to (or is written in the topic of), and tells
        the person."""
        if not self.allowed(user_id):
            return DeskReply(self._text("not_allowed"))
        ticket = await self._ticket_answered(reply_to, topic_id)
        if ticket is None:
            return DeskReply(self._text("unknown_post" if to_bot else "close_how"))
        plain = self.service.engine.renderer.plain
        closed = OutgoingMessage(ticket.chat_id, plain(ticket.language, "ui.handoff.closed"))
        queued = await self._to_person(ticket, closed, update_id)
        # Closed even when the update was handled before: a crash may have fallen between the person's commit
        # and this. The support chat's line is recorded with the closing, once.
        noticed = await self.store.close_ticket(ticket.id, self.clock.now(), Notice.CLOSED)
        return DeskReply(to_person=queued or (), noticed=noticed)

    def notice_text(self, notice: SupportNotice) -> str:
        """Returns the line owed to the support chat (solved, closed, forgotten), in the operators' language."""
        return self._text(notice.notice.value, {"ticket": str(notice.ticket_id)})

    async def solved(self, chat_id: int, language: str) -> tuple[OutgoingMessage, bool]:
        """Closes the person's question as solved: what they read, and whether the support chat is owed the
        line saying so (recorded with the closing)."""
        plain = self.service.engine.renderer.plain
        ticket = await self.store.open_ticket_of(chat_id)
        if ticket is None or not await self.store.close_ticket(ticket.id, self.clock.now(), Notice.SOLVED):
            return OutgoingMessage(chat_id, plain(language, "ui.handoff.solved")), False
        return OutgoingMessage(chat_id, plain(ticket.language, "ui.handoff.solved")), True
