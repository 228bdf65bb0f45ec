"""The JSON Schema of the flow format, generated from the same models the loader validates with."""

from __future__ import annotations

import json

from bot.flows.model import Flow

__all__ = ["flow_schema", "flow_schema_text"]


def flow_schema() -> dict[str, object]:
    """Returns the flow format's JSON Schema."""
    schema = Flow.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def flow_schema_text() -> str:
    """Returns the schema as the text shipped in flows/flow.schema.json."""
    return json.dumps(flow_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
