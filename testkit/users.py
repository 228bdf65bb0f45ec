"""Simulated people: they say things, tap buttons and read the screens the bot shows them.

A test reads as a story::

    user = api.user(42, language_code="fr")
    screen = await user.say("/start")
    screen = await user.tap("C'est parti")      # a label, a unique part of one, or a button's id
    assert "Airalo" in screen.button_labels

``say`` and ``tap`` wait for the bot's answer. ``send`` and ``press`` do not, for tests about load, order or
a bot that cannot answer; ``wait_for_reply`` and ``wait_for_answer`` then wait explicitly.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import TYPE_CHECKING, Any

from testkit.formatting import utf16_length
from testkit.screens import Button, ButtonMatcher, Screen

if TYPE_CHECKING:
    from testkit.chats import StoredMessage
    from testkit.server import FakeBotApi

__all__ = ["FakeUser"]

JSONDict = dict[str, Any]

# The calls that show the person a new or changed screen.
_SCREEN_METHODS = frozenset({"sendMessage", "editMessageText"})


class FakeUser:
    """A person in a chat with the bot (a private chat, or a member of a group)."""

    def __init__(self, api: FakeBotApi, user: JSONDict, chat: JSONDict) -> None:
        self._api = api
        self._user = user
        self._chat = chat
        self._toasts: list[str] = []
        # Where in the call log this person's last action happened: replies are looked for after it.
        self._mark = 0
        self._last_query_id: str | None = None

    @property
    def chat_id(self) -> int:
        """The id of the chat this person writes in (their own id in a private chat)."""
        return int(self._chat["id"])

    # -- stories: act, then wait for the bot ---------------------------------------------------------

    async def say(self, text: str, *, timeout: float = 5.0) -> Screen:  # noqa: ASYNC109
        """Sends ``text`` and returns the first screen the bot shows in answer."""
        await self.send(text)
        return await self.wait_for_reply(timeout)

    async def tap(
        self,
        button: ButtonMatcher | Button,
        *,
        on: Screen | int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Screen:
        """Taps a button (see :meth:`press`), waits for the bot to answer the tap, returns the screen it shows."""
        await self.press(button, on=on)
        await self.wait_for_answer(timeout)
        return await self.wait_for_reply(timeout)

    async def tap_for_toast(
        self,
        button: ButtonMatcher | Button,
        *,
        on: Screen | int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Taps a button and returns the toast the bot answers with ('' for none), without waiting for a screen.

        A screen the bot shows for this tap may still be on its way: :meth:`wait_for_reply` waits for it, and a
        test that taps again before it arrives could take it for the answer to the next tap.
        """
        await self.press(button, on=on)
        return await self.wait_for_answer(timeout)

    # -- what the person sees ------------------------------------------------------------------------

    @property
    def messages(self) -> list[Screen]:
        """The bot's messages in this chat as they look now, oldest first."""
        return [message.screen() for message in self._bot_messages()]

    @property
    def screen(self) -> Screen:
        """The bot's latest message in this chat."""
        messages = self._bot_messages()
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1].screen()

    @property
    def toasts(self) -> list[str]:
        """The texts the bot answered this person's taps with, oldest first."""
        return list(self._toasts)

    # -- acting without waiting ----------------------------------------------------------------------

    async def send(self, text: str) -> int:
        """Sends ``text`` without waiting (``/command`` gets a bot_command entity); returns its message id."""
        message = self._new_message()
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command is not None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}
            ]
        return self._queue_message(message)

    async def reply(self, to: int, text: str) -> int:
        """Sends ``text`` as a reply to message ``to`` of this chat, without waiting; returns its message id."""
        message = self._new_message()
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command is not None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}
            ]
        replied = self._api._chat(self.chat_id).messages.get(to)
        message["reply_to_message"] = (
            replied.to_telegram(self._api.bot_user, self._chat)
            if replied is not None
            else {"message_id": to, "chat": self._chat, "date": message["date"]}
        )
        return self._queue_message(message)

    async def send_in_topic(self, thread_id: int, text: str) -> int:
        """Sends ``text`` in a forum topic without replying to anything in particular, as a forum client does:
        Telegram then makes it a reply to the message that opened the topic. Returns its message id."""
        message = self._new_message()
        message["text"] = text
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        name = self._api._chat(self.chat_id).topics.get(thread_id, "")
        message["reply_to_message"] = {
            "message_id": thread_id,
            "from": self._api.bot_user,
            "chat": self._chat,
            "date": message["date"],
            "message_thread_id": thread_id,
            "forum_topic_created": {"name": name, "icon_color": 7322096},
            "is_topic_message": True,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command is not None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}
            ]
        return self._queue_message(message)

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Sends a sticker without waiting; returns its message id."""
        message = self._new_message()
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAEfake{message['message_id']}",
            "file_unique_id": f"AgADfake{message['message_id']}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._queue_message(message)

    async def send_photo(self, caption: str | None = None) -> int:
        """Sends a photo (with an optional caption) without waiting; returns its message id."""
        message = self._new_message()
        message["photo"] = [
            {
                "file_id": f"AgACAgIAAxkBAAEfake{message['message_id']}{size}",
                "file_unique_id": f"AQADfake{message['message_id']}{size}",
                "width": size,
                "height": size,
                "file_size": size * 40,
            }
            for size in (90, 320, 800)
        ]
        if caption is not None:
            message["caption"] = caption
        return self._queue_message(message)

    async def press(self, button: ButtonMatcher | Button, *, on: Screen | int | None = None) -> str:
        """Presses a button without waiting; returns the callback query's id.

        ``button`` is a label (exact, or a unique part of one in any case), a button's id, a predicate, or
        a :class:`Button` pressed as given (a stale or forged press). ``on`` is the message: by default the
        latest one that has such a button (a person scrolls up past a short question to the step they are
        on), else the latest with buttons; a message id presses it as it looks now; a :class:`Screen`
        presses it as that screen showed it, the way a slow client still shows an old keyboard.
        """
        screen = self._target(on) if on is not None or isinstance(button, Button) else self._holding(button)
        chosen = button if isinstance(button, Button) else screen.button(button)
        if chosen.data is None:
            raise LookupError(f"button {chosen.label!r} opens a link ({chosen.url}); it has no callback data")
        return self._queue_callback(screen.message_id, chosen.data)

    async def click(self, label: str, *, message_id: int | None = None) -> str:
        """Presses the button ``label`` without waiting: :meth:`press` under the name tests/e2e still use."""
        return await self.press(label, on=message_id)

    async def wait_for_reply(self, timeout: float = 5.0) -> Screen:  # noqa: ASYNC109
        """Waits for the bot to send or edit a message in this chat since this person's last action."""
        api = self._api
        found: list[Screen] = []

        def replied() -> bool:
            for call in itertools.islice(api.calls, self._mark, None):
                if call.chat_id == self.chat_id and call.ok and call.method in _SCREEN_METHODS:
                    message = api._chat(self.chat_id).messages.get(int(call.result["message_id"]))
                    if message is not None:
                        found.append(message.screen())
                        return True
            return False

        await api._wait(replied, timeout, f"a reply in chat {self.chat_id}; {self._describe()}")
        return found[0]

    async def wait_for_answer(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Waits until the bot answers this person's last press; returns the toast text ('' for none)."""
        query_id = self._last_query_id
        if query_id is None:
            raise LookupError("this person has not pressed a button yet")
        api = self._api
        answers: list[str] = []

        def answered() -> bool:
            for call in itertools.islice(api.calls, self._mark, None):
                if call.method == "answerCallbackQuery" and call.params.get("callback_query_id") == query_id:
                    answers.append(str(call.params.get("text", "")))
                    return True
            return False

        await api._wait(answered, timeout, f"an answer to the press of query {query_id}")
        return answers[0]

    async def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[Screen]:  # noqa: ASYNC109
        """Waits until the bot has sent at least ``count`` messages to this chat; returns them all."""

        def shown() -> bool:
            return len(self._bot_messages()) >= count

        await self._api._wait(shown, timeout, f"{count} messages in chat {self.chat_id}; {self._describe()}")
        return self.messages

    # -- the chat, as the fake keeps it --------------------------------------------------------------

    def _bot_messages(self) -> list[StoredMessage]:
        return list(self._api._chat(self.chat_id).messages.values())

    def _holding(self, button: ButtonMatcher) -> Screen:
        """Returns the latest message with a button ``button`` names, else the latest with buttons."""
        for message in reversed(self._bot_messages()):
            screen = message.screen()
            try:
                screen.button(button)
            except LookupError:
                continue
            return screen
        return self._target(None)

    def _target(self, on: Screen | int | None) -> Screen:
        if isinstance(on, Screen):
            return on
        if on is None:
            found = next((m for m in reversed(self._bot_messages()) if m.screen().buttons), None)
            if found is None:
                raise LookupError(f"no message with buttons in chat {self.chat_id}; {self._describe()}")
            return found.screen()
        message = self._api._chat(self.chat_id).messages.get(on)
        if message is None:
            raise LookupError(f"no message {on} in chat {self.chat_id}; {self._describe()}")
        return message.screen()

    def _describe(self) -> str:
        messages = self._bot_messages()
        if not messages:
            return "the bot has sent nothing yet"
        last = messages[-1].screen()
        return f"latest message {last.message_id}: {last.text[:80]!r} buttons {last.button_labels}"

    def _new_message(self) -> JSONDict:
        message_id = self._api._chat(self.chat_id).new_message_id()
        return {"message_id": message_id, "from": self._user, "chat": self._chat, "date": int(time.time())}

    def _queue_message(self, message: JSONDict) -> int:
        self._mark = len(self._api.calls)
        self._api._queue_update("message", message, self.chat_id)
        return int(message["message_id"])

    def _queue_callback(self, message_id: int, data: str) -> str:
        api = self._api
        query_id = api._open_query(self.chat_id, self)
        query: JSONDict = {
            "id": query_id,
            "from": self._user,
            "chat_instance": f"-{abs(self.chat_id)}00",
            "data": data,
        }
        message = api._chat(self.chat_id).messages.get(message_id)
        if message is None:
            # What Telegram sends for a message the bot can no longer see: an InaccessibleMessage.
            query["message"] = {"chat": self._chat, "message_id": message_id, "date": 0}
        else:
            query["message"] = message.to_telegram(api.bot_user, self._chat)
        self._last_query_id = query_id
        self._mark = len(api.calls)
        api._queue_update("callback_query", query, self.chat_id)
        return query_id

    def _record_toast(self, text: str) -> None:
        if text:
            self._toasts.append(text)
