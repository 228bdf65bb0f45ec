"""The operators' side of asking a person: the support chat's open questions, and answers relayed back.

An operator answers a person by replying, in the support chat, to the question's post (or to a follow-up the
bot relayed there). The answer reaches the person through their chat's outbox, committed with the operator's
update id: a redelivered update, a restart or a second instance never sends it twice, and a crash before it
is sent leaves it in the outbox, sent once the bot is back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.flows.model import Flow
from bot.runtime.messages import OutgoingMessage, QueuedMessage, payloads
from bot.runtime.service import ChatService
from bot.screen_titles import screen_title
from bot.stats import age_text
from bot.store import Commit, DuplicateUpdate, Relay, Store, Ticket

__all__ = ["DeskReply", "SupportChat", "SupportDesk"]


@dataclass(frozen=True, slots=True)
class SupportChat:
    """The operators' Telegram group, who in it may answer, and the language the bot speaks there."""

    chat_id: int
    operators: frozenset[int]
    language: str


@dataclass(frozen=True, slots=True)
class DeskReply:
    """What an operator's message leads to: a line in the support chat, and messages to a person."""

    to_support: str | None = None
    to_person: tuple[QueuedMessage, ...] = ()


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


class SupportDesk:
    """Answers the support chat: open questions on /tickets, operators' replies relayed to the person."""

    def __init__(self, support: SupportChat, service: ChatService) -> None:
        self.support = support
        self.service = service
        self.store: Store = service.store
        self.clock = service.clock

    def _text(self, key: str, values: dict[str, str] | None = None) -> str:
        return self.service.engine.screens.plain(self.support.language, f"ui.handoff.{key}", values)

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

    async def ticket_post(self, ticket: Ticket, question: str) -> OutgoingMessage:
        """Returns the ticket's post for the support chat, in the operators' language: the question, the step
        the person is at and their answers in the flow (nothing else: the bot never has their phone number)."""
        engine = self.service.engine
        record = await self.store.load_chat(ticket.chat_id)
        conversation = record.conversation if record is not None else None
        step, answers = "-", "-"
        if conversation is not None and conversation.state in engine.bundle.flow.states:
            step = screen_title(engine.bundle, self.support.language, conversation.state)
            answers = _answers(engine.bundle.flow, conversation.variables) or "-"
        values = {
            "ticket": str(ticket.id),
            "language": ticket.language,
            "step": step,
            "answers": answers,
            "question": question,
        }
        return OutgoingMessage(self.support.chat_id, self._text("ticket", values))

    async def operator_reply(
        self, user_id: int | None, reply_to: int, message_id: int, text: str, update_id: int
    ) -> DeskReply:
        """Relays an operator's reply to a question to its person, once; refuses one not allowed."""
        ticket = await self.store.ticket_for_reply(reply_to)
        if ticket is None:
            return DeskReply()  # the operators talking among themselves
        if not self.allowed(user_id):
            return DeskReply(self._text("not_allowed"))
        now = self.clock.now()
        answer = OutgoingMessage(
            ticket.chat_id,
            self.service.engine.screens.plain(ticket.language, "ui.handoff.answer", {"text": text}),
        )
        try:
            stored = await self.store.commit(
                Commit(chat_id=ticket.chat_id, update_id=update_id, outbox=payloads((answer,))), now
            )
        except DuplicateUpdate:
            return DeskReply()  # relayed when this update was handled before
        await self.store.relay(ticket.id, Relay.ANSWER, message_id, now)
        queued = tuple(QueuedMessage(row.id, answer) for row in stored)
        return DeskReply(self._text("sent"), queued)
