"""Seeded hostile update payloads: random kinds, sizes, encodings and nesting, as an attacker would post them.

Everything is drawn from one ``random.Random(seed)``, so a failure names its seed and comes back the same.
Payloads are plain JSON data (for polling through the fake Bot API) or raw bytes (for a webhook's body).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["CANARY", "Hostile", "HostileUpdate", "WebhookBody"]

CANARY = "canary-typed-words-7f3a"
"""Put in what hostile people type: the bot must never print it."""

# Strings that break naive handling: lone surrogates (not encodable as UTF-8), NUL and control characters,
# direction overrides, combining marks, joined emoji, markup, and numbers written as text.
_NASTY_STRINGS = (
    "\ud800",
    "\udfff tail",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\u202eevil\u202c",
    "Z\u0351\u0352\u0353\u0354" * 50,
    "👩\u200d👩\u200d👧\u200d👦" * 30,
    "<b>unclosed <a href='javascript:alert(1)'>",
    "&amp;&lt;&#0;&#xD800;",
    "' OR 1=1 --",
    "%s%s%n{0}{provider.name}",
    "\uff19\uff19\uff19",
    "",
    " ",
)
_COMMANDS = ("/start", "/help", "/status", "/stop", "/forget", "/restart", "/language", "/timezone", "/")


_SURROGATES = re.compile("[\ud800-\udfff]")
PARSER_DEPTH = 900
"""Nesting Python's JSON parser takes: far beyond, it gives up with a RecursionError."""
BEYOND_PARSER_DEPTH = 100_000


@dataclass(frozen=True, slots=True)
class WebhookBody:
    """A webhook call's body, and whether it is an update at all (a JSON object) or bytes to refuse."""

    body: bytes
    json_object: bool


@dataclass(frozen=True, slots=True)
class HostileUpdate:
    """One update to hand out: its kind (the key beside update_id) and its payload."""

    kind: str
    payload: Any
    chat_id: int | None


class Hostile:
    """Draws hostile updates and webhook bodies from ``seed``; ``chats`` are the chat ids they may claim.

    ``lone_surrogates``: texts may hold characters no UTF-8 store can keep. ``beyond_parser_depth``: some
    webhook bodies nest deeper than any JSON parser follows.
    """

    def __init__(
        self,
        seed: int,
        chats: tuple[int, ...],
        *,
        lone_surrogates: bool,
        beyond_parser_depth: bool = False,
    ) -> None:
        self.random = random.Random(seed)
        self.chats = chats
        self.lone_surrogates = lone_surrogates
        self.beyond_parser_depth = beyond_parser_depth
        self.bytes_drawn = 0

    def _kept(self, text: str) -> str:
        return text if self.lone_surrogates else _SURROGATES.sub("", text)

    # -- pieces ----------------------------------------------------------------------------------------

    def text(self) -> str:
        return self._kept(self._any_text())

    def _any_text(self) -> str:
        r = self.random
        pick = r.random()
        if pick < 0.35:
            return r.choice(_NASTY_STRINGS) + CANARY
        if pick < 0.55:
            return f"{r.choice(_COMMANDS)} {r.choice(_NASTY_STRINGS)}{CANARY}"
        if pick < 0.7:
            # Long: over Telegram's 4096 characters, sometimes far over.
            return CANARY + r.choice("xé中😀") * r.choice((4097, 20_000, 300_000))
        if pick < 0.85:
            return "".join(chr(r.randrange(1, 0x10FFFF)) for _ in range(r.randrange(1, 200)))
        return r.choice(_COMMANDS) + r.choice(("", "@other_bot", "@esim_test_bot", " " * 5000))

    def scalar(self) -> Any:
        r = self.random
        return r.choice(
            (
                None, True, False, 0, -1, 2**31, 2**63, 2**70, -(2**70), 1.5, float("1e308"),
                "", "x", self.text(), [], {},
            )
        )  # fmt: skip

    def nested(self, depth: int) -> Any:
        """Returns a list or object nested ``depth`` deep."""
        value: Any = self.scalar()
        for _ in range(depth):
            value = (
                [value]
                if self.random.random() < 0.5
                else {self.random.choice(("k", "reply_to_message")): value}
            )
        return value

    def chat(self) -> Any:
        r = self.random
        chat_id = r.choice(self.chats)
        kind = r.choice(("private", "private", "private", "group", "supergroup", "channel"))
        chat: dict[str, Any] = {"id": chat_id if kind == "private" else -abs(chat_id), "type": kind}
        if r.random() < 0.15:
            chat["id"] = r.choice(("123", 2**70, None, 1.5, [], -(10**13)))
        if r.random() < 0.1:
            return r.choice((None, "chat", [], 5))
        return chat

    def user(self, chat: Any) -> Any:
        r = self.random
        user_id = chat["id"] if isinstance(chat, dict) and isinstance(chat.get("id"), int) else 1
        user: dict[str, Any] = {"id": abs(user_id), "is_bot": r.random() < 0.1, "first_name": self.text()}
        if r.random() < 0.3:
            codes = ("en", "fr", "zh-hans", "xx", "", self._kept("\ud800"), "e" * 300, None)
            user["language_code"] = r.choice(codes)
        if r.random() < 0.1:
            return r.choice((None, {}, "me", []))
        return user

    # -- updates ---------------------------------------------------------------------------------------

    def message(self) -> dict[str, Any]:
        r = self.random
        chat = self.chat()
        message: dict[str, Any] = {
            "message_id": r.choice((1, 2**31, -5, 0, "7")),
            "date": r.choice((0, 1_700_000_000, -1, "now")),
            "chat": chat,
            "from": self.user(chat),
        }
        if r.random() < 0.8:
            message["text"] = self.text()
            if r.random() < 0.4:
                length = r.choice((1, 5, 10**6, -3))
                message["entities"] = [
                    {"type": "bot_command", "offset": r.choice((0, -1, 9999)), "length": length}
                ]
        else:
            message[r.choice(("sticker", "photo", "location", "contact", "venue", "poll", "dice"))] = (
                self.nested(r.randrange(1, 8))
            )
        for _ in range(r.randrange(0, 4)):
            message[
                r.choice(("reply_to_message", "forward_origin", "quote", "link_preview_options", "x"))
            ] = self.nested(r.randrange(1, 60))
        if r.random() < 0.1:
            del message[r.choice(("message_id", "date", "chat"))]
        return message

    def callback_query(self) -> dict[str, Any]:
        r = self.random
        chat = self.chat()
        query: dict[str, Any] = {
            "id": r.choice(("1", "q" * 1000, "", 5)),
            "from": self.user(chat),
            "chat_instance": "-1",
            "data": r.choice(
                (
                    "", "x", "f:" + "9" * 200, self._kept("\ud800"), "f|00000000|1|welcome|a", "r:forget:yes",
                    "".join(chr(r.randrange(32, 0x2FFF)) for _ in range(r.randrange(1, 100))),
                    None, 12, ["f"],
                )
            ),
        }  # fmt: skip
        if r.random() < 0.85:
            query["message"] = {
                "message_id": r.choice((1, 2, 99999, -1)),
                "date": r.choice((0, 1_700_000_000)),
                "chat": chat,
            }
        return query

    def update(self) -> HostileUpdate:
        """Returns one hostile update of a kind the bot takes (message or callback_query)."""
        r = self.random
        kind = r.choice(("message", "message", "callback_query", "message"))
        payload: Any = self.message() if kind == "message" else self.callback_query()
        if r.random() < 0.05:
            payload = r.choice((None, [], "update", 42, self.nested(30)))
        self.bytes_drawn += len(json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        chat = payload.get("chat") if isinstance(payload, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        return HostileUpdate(kind, payload, chat_id if isinstance(chat_id, int) else None)

    def webhook_body(self, update_id: int) -> WebhookBody:
        """Returns a raw webhook body: mostly a JSON update, sometimes bytes no JSON parser should accept."""
        r = self.random
        pick = r.random()
        if pick < 0.7:
            update = self.update()
            drawn = WebhookBody(
                json.dumps({"update_id": update_id, update.kind: update.payload}).encode(), True
            )
        elif pick < 0.8:
            drawn = WebhookBody(bytes(r.randrange(256) for _ in range(r.randrange(1, 5000))), False)
        elif pick < 0.9:
            garbage = (
                b"",
                b"{",
                b"[]",
                b"null",
                b'"x"',
                b"1e999",
                b"\xff\xfe{}",
                b'{"update_id": 1',
                b"[" * 50,
            )
            drawn = WebhookBody(r.choice(garbage), False)
        elif pick < 0.95 and self.beyond_parser_depth:
            depth = BEYOND_PARSER_DEPTH
            drawn = WebhookBody(b'{"update_id": 1, "message": ' + b"[" * depth + b"]" * depth + b"}", False)
        else:
            nested = self.nested(r.randrange(100, PARSER_DEPTH))
            drawn = WebhookBody(json.dumps({"update_id": update_id, "message": nested}).encode(), True)
        self.bytes_drawn += len(drawn.body)
        return drawn
