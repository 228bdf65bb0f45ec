"""A stored conversation as plain JSON data, the same for every backend."""

from __future__ import annotations

from collections.abc import Mapping

from bot.store.base import StoredConversation
from bot.store.errors import StoreError

__all__ = ["conversation_data", "stored_conversation"]


def conversation_data(conversation: StoredConversation) -> dict[str, object]:
    """Returns the conversation as JSON-ready data."""
    data: dict[str, object] = {
        "flow_id": conversation.flow_id,
        "flow_version": conversation.flow_version,
        "state": conversation.state,
        "language": conversation.language,
        "step": conversation.step,
        "variables": dict(conversation.variables),
        "checklist": sorted(conversation.checklist),
        "finished": conversation.finished,
    }
    if conversation.asking is not None:
        data["asking"] = conversation.asking  # only then: conversations stored before read the same
    return data


def stored_conversation(data: Mapping[str, object]) -> StoredConversation:
    """Returns the conversation that :func:`conversation_data` wrote; raises StoreError if malformed."""
    variables = data.get("variables") or {}
    checklist = data.get("checklist") or []
    if not isinstance(variables, dict) or not isinstance(checklist, list):
        raise StoreError("a stored conversation is malformed")
    return StoredConversation(
        flow_id=str(data["flow_id"]),
        flow_version=str(data["flow_version"]),
        state=str(data["state"]),
        language=str(data["language"]),
        step=int(str(data.get("step", 0))),
        variables={str(k): None if v is None else str(v) for k, v in variables.items()},
        checklist=frozenset(str(item) for item in checklist),
        finished=bool(data.get("finished", False)),
        asking=None if data.get("asking") is None else str(data["asking"]),
    )
