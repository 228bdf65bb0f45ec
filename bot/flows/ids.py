"""The shape of the names a flow gives its parts, shared by the flow model and the languages' typed words."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["ID_PATTERN", "TEXT_KEY_PATTERN", "Id"]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
TEXT_KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"

Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=32)]
"""A snake_case id: states, variables, checklist items, reminders, providers, buttons."""
