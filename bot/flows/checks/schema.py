"""Schema errors of a YAML file (a flow, a language's meta file, flow tests) at their line and column, in
words an operator understands: a missing or unknown field (with did-you-mean), a bad id, an unknown action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.flows import model as m
from bot.flows.errors import Problem, did_you_mean
from bot.flows.yamlsource import Located

__all__ = ["schema_problems"]

_ALL_FIELDS = sorted(
    {
        name
        for model in vars(m).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name in model.model_fields
    }
)


def _resolve(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drops the union tags pydantic puts in an error's location, keeping the path into the YAML data."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _schema_message(error: Any, value: Any, fields: Sequence[str]) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = loc[-1] if loc else ""
    if kind == "missing":
        return f"missing field '{name}'"
    if kind == "extra_forbidden":
        return f"unknown field '{name}'{did_you_mean(str(name), fields)}"
    if kind == "unknown_action":
        key = next(iter(value), "") if isinstance(value, dict) else value
        return f"unknown action '{key}'{did_you_mean(str(key), m.ACTION_NAMES)}; actions: {', '.join(m.ACTION_NAMES)}"
    if kind == "unknown_button":
        keys = ", ".join(map(str, value)) if isinstance(value, dict) else repr(value)
        return f"a button needs exactly one of to, url, toggle, links or copy (found: {keys})"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        if pattern == m.ID_PATTERN:
            return f"{value!r} is not a valid id: use lowercase letters, digits and _, starting with a letter"
        if pattern == m.TEXT_KEY_PATTERN:
            return f"{value!r} is not a text key: write dotted lowercase words, e.g. welcome.text"
        if "https" in pattern:
            return f"{value!r} is not an https:// address"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {value!r})" if not isinstance(value, dict | list) else str(error["msg"])


def schema_problems(
    located: Located, exc: ValidationError, fields: Sequence[str] = _ALL_FIELDS
) -> list[Problem]:
    """Returns a YAML file's schema errors as problems at their line and column; ``fields`` are the
    format's field names, for did-you-mean on an unknown one."""
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        resolved = _resolve(located.data, loc)
        grouped.setdefault(resolved, []).append(error)
    problems: list[Problem] = []
    for path, errors in grouped.items():
        # In a union (a state id or a list of branches) the member that went deeper explains the mistake.
        deeper = any(other[: len(path)] == path and len(other) > len(path) for other in grouped)
        specific = [e for e in errors if not str(e["type"]).endswith("_type")]
        if not specific:
            if deeper:
                continue
            specific = errors[:1]
        seen: set[str] = set()
        for error in specific:
            # A mapping's key that breaks its pattern (a state or case name) is reported at the key.
            on_key = tuple(error["loc"])[-1:] == ("[key]",)
            value = path[-1] if on_key and path else _value_at(located.data, path)
            message = _schema_message(error, value, fields)
            if message not in seen:
                seen.add(message)
                at_key = on_key or error["type"] == "extra_forbidden"
                problems.append(located.problem(path, message, key=at_key))
    return problems


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data
