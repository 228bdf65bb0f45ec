"""The chats this process handled lately, as its own commits and deliveries left them: loads the store need
not answer.

Every change to a chat's row counts one more version (bot/store/base.py), and the commit of an update names
the version it was worked out from. So a record kept here is used as a load would be, safely: when anything
else changed the chat since (another process, a reminder or the support desk here, a block, /forget), the
commit is refused with ChatChanged, the record is dropped, and the update is worked out again from a fresh
load. A record is kept only as the store says it now stands (bot/store/columns.py's ``after_commit`` and
``after_delivery``, compared with loads on every backend in tests/store/test_records_after.py), and dropped
whenever that cannot be told. Memory is bounded: the least recently used chats go first.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from bot.store import ChatRecord, Commit
from bot.store.columns import after_commit

__all__ = ["RECENT_CHATS", "RecentChats"]

RECENT_CHATS = 4096
"""How many chats a process keeps by default: people in the middle of the guide, a few kilobytes each."""


class RecentChats:
    """The latest records of up to ``size`` chats (0 keeps none: every event loads its chat)."""

    def __init__(self, size: int = RECENT_CHATS) -> None:
        self.size = size
        self._records: OrderedDict[int, ChatRecord] = OrderedDict()

    def get(self, chat_id: int) -> ChatRecord | None:
        """Returns the chat as this process last left it; None when not kept (load it)."""
        record = self._records.get(chat_id)
        if record is not None:
            self._records.move_to_end(chat_id)
        return record

    def loaded(self, chat_id: int, record: ChatRecord | None) -> None:
        """Keeps a chat as a load just read it."""
        if record is None:
            self.drop(chat_id)
        else:
            self._keep(chat_id, record)

    def committed(self, before: ChatRecord | None, commit: Commit, now: datetime) -> None:
        """Keeps the chat as ``commit``, applied on ``before``, left it (drops it when that cannot be told)."""
        after = after_commit(before, commit, now)
        if after is None:
            self.drop(commit.chat_id)
        else:
            self._keep(commit.chat_id, after)

    def take(self, chat_id: int) -> ChatRecord | None:
        """Returns the chat as kept and forgets it, for a change that keeps it again only once it is stored."""
        return self._records.pop(chat_id, None)

    def drop(self, chat_id: int) -> None:
        """Forgets the chat: its next event loads it."""
        self._records.pop(chat_id, None)

    def __len__(self) -> int:
        return len(self._records)

    def _keep(self, chat_id: int, record: ChatRecord) -> None:
        if self.size <= 0:
            return
        self._records[chat_id] = record
        self._records.move_to_end(chat_id)
        while len(self._records) > self.size:
            self._records.popitem(last=False)
