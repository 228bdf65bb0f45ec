"""What the inbox keeps of an update while it is in hand: only what its handler needs to answer it again.

An update is kept so that a crash cannot lose it; the copy is read only after a restart, and it is all the
store ever holds of it. So it holds ids, the chat's type, the person's language, a command's name, a button's
data, and a command's argument only as the handler uses it (a deep link the flow knows, a time zone already
resolved): never what people typed or shared, never names, usernames, venues, quotes or link previews. An
update no handler takes is not kept at all. Handlers of a live update still see it whole, in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import MessageEntity, Update

from bot.localtime import parse_timezone
from bot.runtime.service import ChatService
from bot.telegram.handling import AnyApplication

__all__ = ["InboxCopy"]

JSONDict = dict[str, Any]


class InboxCopy:
    """Makes the copy of an update the inbox keeps, for the handlers of one application."""

    def __init__(self, application: AnyApplication, service: ChatService) -> None:
        self.application = application
        self.service = service

    def of(self, payload: Mapping[str, Any], update: Update) -> JSONDict | None:
        """Returns the copy to keep of ``payload`` (parsed as ``update``), or None when no handler takes it."""
        if not self._taken(update):
            return None
        query = payload.get("callback_query")
        if isinstance(query, Mapping):
            return {"update_id": update.update_id, "callback_query": _query(query)}
        message = payload.get("message")
        if isinstance(message, Mapping):
            return {"update_id": update.update_id, "message": self._message(message, update)}
        return None

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
