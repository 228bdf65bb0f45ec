"""The flow-test format, as frozen pydantic models: operators write cases beside a flow
(``flows/tests/*.yaml``) and ``esim-bot test`` runs them. The JSON Schema editors use comes from these."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema

from bot.flows.model import Duration, Id

__all__ = [
    "STEP_KINDS",
    "CommandStep",
    "Expect",
    "FlowCase",
    "FlowTestFile",
    "PressStep",
    "Step",
    "TypeStep",
    "WaitStep",
    "flow_test_schema_text",
]

CaseName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=80,
        description="The case's name, in snake_case: it names the case in every failure",
    ),
]

Text = Annotated[str, Field(min_length=1)]
Texts = Text | list[Text]
"""One text, or several that must all hold."""

_COMMAND_PATTERN = r"^/[a-z_]+( \S.*)?$"


def _command(text: str) -> str:
    if not re.fullmatch(_COMMAND_PATTERN, text):
        raise ValueError(f"{text!r} is not a command: write it as typed, e.g. /restart or /start airalo")
    return text


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"'{moment.isoformat()}' has no time zone: write its offset, e.g. 2026-01-05T10:00:00+11:00"
        )
    return moment


Command = Annotated[
    str,
    AfterValidator(_command),
    WithJsonSchema({"type": "string", "pattern": _COMMAND_PATTERN, "description": "e.g. /restart"}),
]
Moment = Annotated[
    datetime,
    AfterValidator(_aware),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "e.g. 2026-01-05T10:00:00+11:00"}
    ),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Expect(_Frozen):
    """What must hold after a step; every field is optional and every field given must hold."""

    state: Id | None = Field(default=None, description="The state the conversation is in")
    text_contains: Texts = Field(
        default_factory=list, description="Some message shown at this step contains each of these"
    )
    text_not_contains: Texts = Field(
        default_factory=list, description="No message shown at this step contains any of these"
    )
    buttons: list[Text] = Field(
        default_factory=list, description="Buttons offered at this step, by id or label"
    )
    no_buttons: list[Text] = Field(
        default_factory=list, description="Buttons not offered at this step, by id or label"
    )
    links: list[Text] = Field(
        default_factory=list,
        description="Links shown at this step: an https:// address or a link button's label",
    )
    no_links: list[Text] = Field(default_factory=list, description="Links not shown at this step")
    reminders: list[Id] | None = Field(
        default=None, description="Exactly the reminders pending after this step ([] for none)"
    )
    messages: int | None = Field(
        default=None, ge=0, description="How many messages this step showed, new or edited (0: nothing)"
    )
    toast: str | None = Field(default=None, description="The notice shown on a button press contains this")
    suggests: list[Id] | None = Field(
        default=None,
        description="Exactly the situations suggested for what was typed, best first, by deep link ([] for none)",
    )


class _Step(_Frozen):
    expect: Expect | None = Field(default=None, description="What must hold after this step")


class PressStep(_Step):
    """Presses a button on screen, by its id or its label (the newest message that has it)."""

    press: str = Field(min_length=1)


class WaitStep(_Step):
    """Moves the clock on; every reminder that falls due meanwhile is sent at its time."""

    wait: Duration


class CommandStep(_Step):
    """Sends a command, as the person would type it: ``/restart``, ``/stop``, ``/start airalo``."""

    command: Command


class TypeStep(_Step):
    """Sends a message as the person would type it (not a command): "my phone was stolen"."""

    types: Text


STEP_KINDS = ("press", "wait", "command", "types")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        found = [name for name in STEP_KINDS if name in type(value).model_fields]
    elif isinstance(value, dict):
        found = [name for name in STEP_KINDS if name in value]
    else:
        return None
    return f"step:{found[0]}" if len(found) == 1 else None


Step = Annotated[
    Annotated[PressStep, Tag("step:press")]
    | Annotated[WaitStep, Tag("step:wait")]
    | Annotated[CommandStep, Tag("step:command")]
    | Annotated[TypeStep, Tag("step:types")],
    Discriminator(
        _step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step needs exactly one of press, wait, command or types",
    ),
]


class FlowCase(_Frozen):
    """One conversation: a language, /start (or a deep link), then steps, each with what must hold."""

    language: str = Field(min_length=1, description="The language the person speaks: en, fr, zh-Hans...")
    deep_link: Id | None = Field(
        default=None, description="Start with t.me/<bot>?start=<this> instead of a plain /start"
    )
    at: Moment | None = Field(
        default=None,
        description="When the conversation starts, with its offset (default 2026-01-05T10:00:00+11:00)",
    )
    expect: Expect | None = Field(default=None, description="What must hold after /start")
    steps: list[Step] = Field(default_factory=list)


class FlowTestFile(_Frozen):
    """A file of test cases for one flow."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "title": "eSIM bot flow tests",
            "$comment": "Generated by `esim-bot test --schema`",
        },
    )

    flow: Id | None = Field(default=None, description="The flow's id; needed only when flows/ holds several")
    cases: dict[CaseName, FlowCase] = Field(min_length=1)


FIELDS = sorted(
    {
        name
        for model in (Expect, PressStep, WaitStep, CommandStep, TypeStep, FlowCase, FlowTestFile)
        for name in model.model_fields
    }
)
"""Every field name of the format, for did-you-mean suggestions."""


def flow_test_schema_text() -> str:
    """Returns the JSON Schema of the flow-test format, as shipped in flows/tests/tests.schema.json."""
    schema = FlowTestFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
