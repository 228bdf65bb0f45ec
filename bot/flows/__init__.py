"""Flow definitions: the YAML format operators edit, its validation, and its texts."""

from bot.flows.errors import FlowError, FlowValidationError, Problem
from bot.flows.loader import (
    FlowBundle,
    Limits,
    UiText,
    button_data,
    button_id,
    load_bundle,
    load_flows,
    validate_paths,
)
from bot.flows.texts import Texts

__all__ = [
    "FlowBundle",
    "FlowError",
    "FlowValidationError",
    "Limits",
    "Problem",
    "Texts",
    "UiText",
    "button_data",
    "button_id",
    "load_bundle",
    "load_flows",
    "validate_paths",
]
