"""Flow definitions: the YAML format operators edit, its validation, and its texts."""

from bot.flows.errors import FlowError, FlowValidationError, Problem
from bot.flows.graph import Edge, Trigger, button_id, edges
from bot.flows.loader import (
    FlowBundle,
    Limits,
    UiText,
    button_data,
    load_bundle,
    load_flows,
    validate_paths,
)
from bot.flows.texts import Texts

__all__ = [
    "Edge",
    "FlowBundle",
    "FlowError",
    "FlowValidationError",
    "Limits",
    "Problem",
    "Texts",
    "Trigger",
    "UiText",
    "button_data",
    "button_id",
    "edges",
    "load_bundle",
    "load_flows",
    "validate_paths",
]
