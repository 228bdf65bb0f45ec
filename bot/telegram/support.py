"""Asking a person, at the edge: the button and questions in private chats, and the operators' support chat,
the one group the bot serves (issue 18).

An operator lists the open questions with /tickets, answers one by replying to it and closes it with /close;
in a forum group each question gets its own topic, where operators may simply write. The desk
(bot.handoff.desk) decides; these callbacks read the update and deliver what it returns.
"""

from __future__ import annotations

import asyncio

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.callbacks import AskPerson, encode
from bot.handoff.desk import DeskReply, SupportDesk
from bot.runtime.service import choose_language
from bot.telegram.delivery import Delivery
from bot.telegram.handlers import ChatHandlers, answer_query
from bot.telegram.relays import QuestionRelay

__all__ = ["SupportHandlers"]

Context = ContextTypes.DEFAULT_TYPE


def _to_bot(message: Message, context: Context) -> bool:
    """Tells whether the message replies to one the bot wrote (not the service line opening a forum topic)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.forum_topic_created is not None:
        return False
    return replied.from_user.id == context.bot.id


class SupportHandlers:
    """The support chat's callbacks, bound to one desk and one delivery."""

    def __init__(self, desk: SupportDesk, delivery: Delivery, flow: ChatHandlers) -> None:
        self.desk = desk
        self.delivery = delivery
        self.flow = flow
        """The private chats' own callbacks, for what is not a question to a person."""
        self.relays = QuestionRelay(desk, delivery.bot, delivery.holder)

    async def ask_button(self, update: Update, context: Context) -> None:
        """Opens a person's question and tells them what will be shared, and never to send codes; or, under
        an answer, closes it as solved and tells the support chat."""
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None:
            return
        languages = self.desk.service.engine.bundle.languages
        language = choose_language(user.language_code if user else None, languages)
        record = await self.desk.store.load_chat(chat.id)
        if record is not None and record.settings.language is not None:
            language = record.settings.language
        if query.data == encode(AskPerson(solved=True)):
            to_person, noticed = await self.desk.solved(chat.id, language)
            await asyncio.gather(answer_query(query), self.delivery.deliver_direct((to_person,)))
            if noticed:
                await self.relays.post_pending()
            return
        prompt = await self.desk.ask(chat.id, language)
        await asyncio.gather(answer_query(query), self.delivery.deliver_direct((prompt,)))

    async def forget_button(self, update: Update, context: Context) -> None:
        """Deletes everything about the person (the flow's own /forget), then tells the support chat (the store
        records the line owed to it with the deletion)."""
        chat = update.effective_chat
        ticket = await self.desk.store.open_ticket_of(chat.id) if chat is not None else None
        await self.flow.choice_button(update, context)
        if ticket is not None:
            await self.relays.post_pending()

    async def close_command(self, update: Update, context: Context) -> None:
        """Closes the question an operator's /close replies to, and tells the person."""
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or message is None:
            return
        replied = message.reply_to_message.message_id if message.reply_to_message else None
        topic = message.message_thread_id if message.is_topic_message else None
        await self.relays.settled()  # the question replied to may be a post whose id is being recorded
        reply = await self.desk.close(
            user.id if user else None, replied, update.update_id, topic, to_bot=_to_bot(message, context)
        )
        await self._send(reply, topic)

    async def person_message(self, update: Update, context: Context) -> None:
        """Relays what a person with an open question types to the support chat; otherwise the flow has it."""
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or not message.text:
            return
        question = await self.desk.person_message(chat.id, message.message_id, message.text, update.update_id)
        if question is None:
            await self.flow.stray_message(update, context)
            return
        if question.recorded:
            await self.relays.post_pending()
        if question.held is not None:
            await self.delivery.deliver_direct((question.held,))
        # This chat's lock is held by the update processor, as delivery requires.
        await self.delivery.deliver(question.to_person)

    async def tickets_command(self, update: Update, context: Context) -> None:
        """Lists the open questions with their age, to an operator allowed to answer them."""
        user, message = update.effective_user, update.effective_message
        topic = message.message_thread_id if message is not None and message.is_topic_message else None
        await self.relays.say(await self.desk.open_tickets(user.id if user else None), topic)

    async def operator_reply(self, update: Update, context: Context) -> None:
        """Relays an operator's reply to a question to the person who asked it."""
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or message is None or message.reply_to_message is None or not message.text:
            return
        topic = message.message_thread_id if message.is_topic_message else None
        await self.relays.settled()  # the question replied to may be a post whose id is being recorded
        reply = await self.desk.operator_reply(
            user.id if user else None,
            message.reply_to_message.message_id,
            message.message_id,
            message.text,
            update.update_id,
            topic,
            to_bot=_to_bot(message, context),
        )
        await self._send(reply, topic)

    async def _send(self, reply: DeskReply, topic: int | None) -> None:
        """Delivers what the desk decided: the person's messages, then the line in the support chat."""
        if reply.to_person:
            # Whoever delivers a chat's messages holds its lock (bot.telegram.delivery): here, the person's.
            async with self.delivery.service.locks.hold(reply.to_person[0].message.chat_id):
                await self.delivery.deliver(reply.to_person)
        if reply.noticed:
            await self.relays.post_pending()
        if reply.to_support is not None:
            await self.relays.say(reply.to_support, topic)
