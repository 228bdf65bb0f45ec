"""What the inbox keeps of an update while it is in hand: only what its handler needs to answer it again.

An update is kept so that a crash cannot lose it; the copy is read only after a restart, and it is all the
store ever holds of it. So it holds ids, the chat's type, the person's language, a command's name, a button's
data, and a command's argument only as the handler uses it (a deep link the flow knows, a time zone already
resolved): never what people typed or shared, never names, usernames, venues, quotes or link previews. An
update no handler takes is not kept at all. Handlers of a live update still see it whole, in memory.

One exception, so that a crash cannot lose a message to be relayed between a person and the operators
(issue 18): with a support chat, the text a person types while their question is open (what they agreed
to share with the operators; never one that looks like a code) and what operators write in the support chat
are kept until handled, with what the support chat's handlers need of a reply (the message replied to,
the forum topic).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from telegram import MessageEntity, Update
from telegram.constants import ChatType

from bot.callbacks import AskPerson, encode
from bot.handoff import looks_like_a_code
from bot.localtime import parse_timezone
from bot.runtime.service import ChatService
from bot.telegram.handling import AnyApplication

__all__ = ["InboxCopy"]

JSONDict = dict[str, Any]


class InboxCopy:
    """Makes the copy of an update the inbox keeps, for the handlers of one application."""

    def __init__(
        self, application: AnyApplication, service: ChatService, support_chat_id: int | None = None
    ) -> None:
        self.application = application
        self.service = service
        self.support_chat_id = support_chat_id
        """The operators' support chat, when people may ask a person."""

    async def relayed_chats(self, updates: Sequence[Update]) -> frozenset[int]:
        """Returns the chats among ``updates`` whose typed text is relayed to the other side, so kept while in
        hand: the support chat, and people whose question is open (or opened in the same batch)."""
        if self.support_chat_id is None:
            return frozenset()
        asking = {
            update.callback_query.from_user.id
            for update in updates
            if update.callback_query is not None and update.callback_query.data == encode(AskPerson())
        }
        typing = {
            update.message.chat.id
            for update in updates
            if update.message is not None and update.message.chat.type == ChatType.PRIVATE
            and update.message.text and not update.message.text.startswith("/")
        }  # fmt: skip
        store = self.service.store
        asked = {chat_id for chat_id in typing - asking if await store.open_ticket_of(chat_id) is not None}
        return frozenset({self.support_chat_id, *asking, *asked})

    def of(
        self, payload: Mapping[str, Any], update: Update, relayed: Collection[int] = frozenset()
    ) -> JSONDict | None:
        """Returns the copy to keep of ``payload`` (parsed as ``update``), or None when no handler takes it;
        the text typed in ``relayed`` chats is kept (:meth:`relayed_chats`)."""
        if not self._taken(update):
            return None
        query = payload.get("callback_query")
        if isinstance(query, Mapping):
            return {"update_id": update.update_id, "callback_query": _query(query)}
        message = payload.get("message")
        if isinstance(message, Mapping):
            kept = self._message(message, update)
            chat = update.effective_chat
            if chat is not None and chat.id in relayed:
                kept.update(self._relayed(message, chat.id))
            return {"update_id": update.update_id, "message": kept}
        return None

    def _relayed(self, message: Mapping[str, Any], chat_id: int) -> JSONDict:
        """Returns what a message to relay keeps besides its ids: its text unless it looks like a code, and in
        the support chat the message it replies to and its topic."""
        kept: JSONDict = {}
        text = message.get("text")
        if isinstance(text, str) and not looks_like_a_code(text):
            kept["text"] = text
            entities = message.get("entities")
            if isinstance(entities, list) and text.startswith("/"):
                kept["entities"] = entities  # a command's, which the filters read
        if chat_id != self.support_chat_id:
            return kept
        replied = message.get("reply_to_message")
        if isinstance(replied, Mapping):
            kept["reply_to_message"] = _ids(replied)
        for key in ("message_thread_id", "is_topic_message"):
            if key in message:
                kept[key] = message[key]
        return kept

    def _taken(self, update: Update) -> bool:
        return any(
            handler.check_update(update) not in (None, False)
            for handlers in self.application.handlers.values()
            for handler in handlers
        )

    def _message(self, message: Mapping[str, Any], update: Update) -> JSONDict:
        kept = _ids(message)
        command = self._command(update)
        if command is not None:
            written, argument = command
            kept["text"] = f"{written} {argument}" if argument else written
            length = len(written.encode("utf-16-le")) // 2
            kept["entities"] = [{"type": MessageEntity.BOT_COMMAND, "offset": 0, "length": length}]
        return kept

    def _command(self, update: Update) -> tuple[str, str] | None:
        """Returns a command as written ("/timezone@bot") and the argument its handler needs, if any."""
        message = update.message
        if message is None or not message.text or not message.entities:
            return None
        first = message.entities[0]
        if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
            return None
        written = message.parse_entity(first)
        argument = message.text[len(written) :].strip()
        name = written.lstrip("/").split("@", 1)[0].lower()
        return written, self._argument(name, argument)

    def _argument(self, command: str, argument: str) -> str:
        """Returns what the handler of ``command`` needs of ``argument``: a known deep link, a resolved zone."""
        engine = self.service.engine
        if command == "start" and argument.lower() in engine.flow.deep_links:
            return argument.lower()
        if command == "timezone" and argument:
            try:
                return str(parse_timezone(argument, engine.places.find_zone))
            except ValueError:
                return ""  # answered after a restart by asking where the person is
        return ""


def _ids(message: Mapping[str, Any]) -> JSONDict:
    """Returns what identifies a message: its id, date, chat (id and type) and sender (id and language)."""
    kept: JSONDict = {"message_id": message.get("message_id"), "date": message.get("date")}
    chat = message.get("chat")
    if isinstance(chat, Mapping):
        kept["chat"] = {"id": chat.get("id"), "type": chat.get("type")}
    sender = message.get("from")
    if isinstance(sender, Mapping):
        kept["from"] = _person(sender)
    return kept


def _person(sender: Mapping[str, Any]) -> JSONDict:
    # first_name is required by the Bot API's User; an empty one says nothing about the person.
    person: JSONDict = {"id": sender.get("id"), "is_bot": bool(sender.get("is_bot")), "first_name": ""}
    if isinstance(sender.get("language_code"), str):
        person["language_code"] = sender["language_code"]
    return person


def _query(query: Mapping[str, Any]) -> JSONDict:
    kept: JSONDict = {
        key: query[key] for key in ("id", "chat_instance", "data", "inline_message_id") if key in query
    }
    sender = query.get("from")
    if isinstance(sender, Mapping):
        kept["from"] = _person(sender)
    message = query.get("message")
    if isinstance(message, Mapping):
        kept["message"] = _ids(message)
    return kept
