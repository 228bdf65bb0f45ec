"""Telegram callbacks: read the update, call the chat service, deliver what it returns.

Each runs under its chat's lock, held by bot.telegram.processor for the whole update.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta

from telegram import CallbackQuery, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.runtime.events import ButtonPressed, CommandSent, Incoming, MessageSent
from bot.runtime.messages import OutgoingMessage
from bot.runtime.service import ChatService
from bot.stats import FunnelSource, funnel_from
from bot.telegram.delivery import Delivery

__all__ = ["ChatHandlers", "answer_query"]

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
STATS_PERIOD = timedelta(days=30)


def _language_code(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


class ChatHandlers:
    """Every callback the bot registers, bound to one chat service and one delivery."""

    def __init__(self, service: ChatService, delivery: Delivery, reports: FunnelSource) -> None:
        self.service = service
        self.delivery = delivery
        self.reports = reports
        """Where /stats reads the funnel from."""

    async def _run(self, incoming: Incoming) -> None:
        reply = await self.service.handle(incoming)
        await self.delivery.deliver(reply.messages, reply.claimed)
        await self.delivery.deliver_direct(reply.direct)

    async def command(self, update: Update, context: Context) -> None:
        """Handles any menu command in a private chat: /start, /help, /restart, /language, /timezone..."""
        message = update.effective_message
        if message is None or not message.text:
            return
        name = message.text.split(maxsplit=1)[0].lstrip("/").split("@", 1)[0].lower()
        argument = " ".join(context.args or ())
        chat = update.effective_chat
        if chat is None:
            return
        code = _language_code(update)
        await self._run(CommandSent(chat.id, name, argument, update_id=update.update_id, language_code=code))

    async def choice_button(self, update: Update, context: Context) -> None:
        """Applies an inline-button press in a private chat, answers it at once and edits the screen in place."""
        query = update.callback_query
        if query is None:
            return
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            # The bot shows buttons in private chats only: a press anywhere else is forged, or inline.
            await answer_query(query, None)
            return
        message = query.message
        pressed = ButtonPressed(
            chat.id,
            query.data or "",
            message.message_id if message else None,
            update_id=update.update_id,
            language_code=_language_code(update),
        )
        reply = await self.service.handle(pressed)
        await asyncio.gather(
            answer_query(query, reply.toast),
            self.delivery.deliver(reply.messages, reply.claimed),
            self.delivery.deliver_direct(reply.direct),
        )

    async def stray_message(self, update: Update, context: Context) -> None:
        """Answers text, stickers or photos sent where buttons are expected, and shows the screen again."""
        message = update.effective_message
        text = message.text if message is not None else None
        chat = update.effective_chat
        if chat is None:
            return
        code = _language_code(update)
        await self._run(MessageSent(chat.id, text, update_id=update.update_id, language_code=code))

    async def stats_command(self, update: Update, context: Context) -> None:
        """Shows an operator the funnel of the last 30 days (only for BOT_ADMIN_IDS)."""
        chat = update.effective_chat
        if chat is None:
            return
        now = self.service.clock.now()
        until = now + timedelta(seconds=1)  # the period is [since, until): include this very moment
        report = await funnel_from(self.reports, self.service.engine.bundle, now - STATS_PERIOD, until)
        text = f"<pre>{html.escape(report.as_text())}</pre>"
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)

    async def group_message(self, update: Update, context: Context) -> None:
        """Answers a command in a group with a link to a private chat; no flow state is kept for groups."""
        chat = update.effective_chat
        user = update.effective_user
        if chat is None:
            return
        link = f"https://t.me/{context.bot.username}?start=group"
        text = self.service.group_text(user.language_code if user else None, link)
        try:
            await self.delivery.bot.show(OutgoingMessage(chat.id, text))
        except Forbidden:
            logger.info("removed from group %s", chat.id)


async def answer_query(query: CallbackQuery, toast: str | None = None) -> None:
    """Answers a press; one handled after Telegram's 15-second window (kept across a restart) is let go."""
    try:
        await query.answer(text=toast)
    except BadRequest as exc:
        # A press handled after Telegram's 15-second window can no longer be answered; nothing is lost.
        if "query is too old" not in exc.message.lower() and "query id is invalid" not in exc.message.lower():
            raise
