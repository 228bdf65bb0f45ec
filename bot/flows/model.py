"""The flow format, as frozen pydantic models: the loader validates YAML into these, and the JSON Schema
that operators' editors use is generated from them (``esim-bot schema``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
    model_validator,
)

from bot.flows.durations import DURATION_PATTERN, parse_duration
from bot.flows.ids import TEXT_KEY_PATTERN, Id
from bot.flows.languages import Zone

__all__ = [
    "Action",
    "Branch",
    "Budget",
    "Button",
    "CancelAction",
    "CheckAction",
    "ClaimAs",
    "ClaimRef",
    "CopyButton",
    "DeepLink",
    "Fallback",
    "Flow",
    "GotoButton",
    "Link",
    "LinksButton",
    "Provider",
    "Reminder",
    "ReminderTiming",
    "RunAction",
    "ScheduleAction",
    "SetAction",
    "State",
    "TextVariant",
    "ToggleAction",
    "ToggleButton",
    "UncheckAction",
    "UrlButton",
    "Variable",
    "ZoneGuess",
]


TextKey = Annotated[
    str,
    Field(
        pattern=TEXT_KEY_PATTERN,
        description="A dotted key into locales/<language>.yaml, e.g. welcome.text",
    ),
]


def _duration_before(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(lambda value: _duration_before(value)),
    PlainSerializer(lambda value: f"{int(value.total_seconds())}s", return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "description": "e.g. 30m, 24h, 3d, 1d12h"}
    ),
]

HttpsUrl = Annotated[
    str,
    # Sent as written (no placeholder is filled in an address); bot.flows.urls checks the rest.
    Field(
        pattern=r"^(https|tg)://[^\s]+$", description="An https:// address, or tg:// for Telegram's own links"
    ),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


CLAIM_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)+$"

ClaimId = Annotated[
    str,
    Field(
        pattern=CLAIM_ID_PATTERN,
        description="A claim ID of the flow's facts file, e.g. airalo.refund.withdrawal",
    ),
]


class ClaimAs(_Frozen):
    """A claim the text does not state but reports as such: "we could not confirm", "the pages differ",
    "we found no published rule". ``as`` must be the claim's own confidence."""

    id: ClaimId
    as_: Literal["unsure", "conflicting", "not_found"] = Field(
        alias="as", description="How the text words it: unsure, conflicting or not_found"
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


ClaimRef = ClaimId | ClaimAs
"""A claim a text rests on: its ID (stated; hedged when likely), or ``{id, as}`` (reported, not stated)."""

Claims = Annotated[
    list[ClaimRef],
    Field(description="The claims of the facts file this text rests on; [] when it states no fact"),
]


# A condition: every listed variable (or table field, e.g. provider.kind) must have the value, or one of
# the values; null means "not set".
Condition = dict[
    Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")],
    str | list[str | None] | None,
]


class SetAction(_Frozen):
    """Sets variables: ``set: {provider: airalo}``; null clears one."""

    set: dict[Id, str | None] = Field(min_length=1)


class ToggleAction(_Frozen):
    """Ticks or unticks a checklist item."""

    toggle: Id


class CheckAction(_Frozen):
    """Ticks a checklist item."""

    check: Id


class UncheckAction(_Frozen):
    """Unticks a checklist item (for a "start over" button)."""

    uncheck: Id


class ScheduleAction(_Frozen):
    """Starts a reminder schedule defined under ``reminders:``."""

    schedule: Id


class CancelAction(_Frozen):
    """Cancels a reminder schedule, or ``all`` of them."""

    cancel: Id


class RunAction(_Frozen):
    """Runs a named group of actions from ``actions:`` (expanded when the flow is loaded)."""

    run: Id


ACTION_NAMES = ("set", "toggle", "check", "uncheck", "schedule", "cancel", "run")


def _single_key(prefix: str, names: tuple[str, ...]) -> Any:
    """Returns a discriminator that tags a mapping by the one key of ``names`` it has."""

    def pick(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            fields = {info.alias or field for field, info in type(value).model_fields.items()}
            found = [name for name in names if name in fields]
        elif isinstance(value, dict):
            found = [name for name in names if name in value]
        else:
            return None
        return f"{prefix}:{found[0]}" if len(found) == 1 else None

    return pick


Action = Annotated[
    Annotated[SetAction, Tag("action:set")]
    | Annotated[ToggleAction, Tag("action:toggle")]
    | Annotated[CheckAction, Tag("action:check")]
    | Annotated[UncheckAction, Tag("action:uncheck")]
    | Annotated[ScheduleAction, Tag("action:schedule")]
    | Annotated[CancelAction, Tag("action:cancel")]
    | Annotated[RunAction, Tag("action:run")],
    Discriminator(
        _single_key("action", ACTION_NAMES),
        custom_error_type="unknown_action",
        custom_error_message="unknown action",
    ),
]


class Branch(_Frozen):
    """One way a button can lead: to ``to`` when ``when`` holds (no ``when``: always)."""

    when: Condition | None = None
    to: Id


class _ButtonBase(_Frozen):
    when: Condition | None = Field(default=None, description="Show the button only when this holds")


class GotoButton(_ButtonBase):
    """A button that moves the conversation: to a state, or to the first branch whose condition holds."""

    text: TextKey
    to: Id | list[Branch]
    do: list[Action] = Field(default_factory=list, description="Actions run when pressed")
    id: Id | None = Field(default=None, description="Stable id carried in the button; default: its position")
    toast: TextKey | None = Field(default=None, description="A short notice shown when pressed")


class UrlButton(_ButtonBase):
    """A button that opens a web page, such as a provider's own help or refund page."""

    text: TextKey
    url: HttpsUrl


class ToggleButton(_ButtonBase):
    """A checklist item the user ticks and unticks; its label comes from ``checklist:``."""

    toggle: Id


class LinksButton(_ButtonBase):
    """One URL button per link of a provider field, e.g. ``links: provider.support``."""

    links: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.(links|support)$")]


PROVIDER_FIELD_PATTERN = r"^\{[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\}$"


class CopyButton(_ButtonBase):
    """Copies a ready-made message to the clipboard in one tap (Telegram's copy-text button).

    ``copy`` is a text key, or a provider's text field such as ``{provider.template}``; no button is
    shown when the chosen provider has no such field.
    """

    text: TextKey
    copy_: Annotated[
        str,
        Field(
            alias="copy",
            pattern=f"({TEXT_KEY_PATTERN})|({PROVIDER_FIELD_PATTERN})",
            description="Text key of the message, or {provider.field}",
        ),
    ]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


BUTTON_KINDS = ("to", "url", "toggle", "links", "copy")

Button = Annotated[
    Annotated[GotoButton, Tag("button:to")]
    | Annotated[UrlButton, Tag("button:url")]
    | Annotated[ToggleButton, Tag("button:toggle")]
    | Annotated[LinksButton, Tag("button:links")]
    | Annotated[CopyButton, Tag("button:copy")],
    Discriminator(
        _single_key("button", BUTTON_KINDS),
        custom_error_type="unknown_button",
        custom_error_message="a button needs exactly one of to, url, toggle, links or copy",
    ),
]


class TextVariant(_Frozen):
    """One wording of a screen: used when ``when`` holds (no ``when``: the fallback, listed last)."""

    when: Condition | None = None
    text: TextKey
    claims: Claims | None = None


class Budget(_Frozen):
    """How much a screen may hold so that it fits a phone; ``esim-bot validate`` checks every language."""

    lines: int = Field(default=20, ge=1, description="Lines of text per screen")
    columns: int = Field(default=40, ge=10, description="Columns per line (a CJK character counts two)")
    label_columns: int = Field(default=24, ge=4, description="Width of a button alone on its row")
    shared_label_columns: int = Field(
        default=16, ge=4, description="Width of each button on a row shared with others"
    )
    rows: int | None = Field(
        default=None, ge=1, description="Rows of buttons per message, the bot's own row included"
    )


class State(_Frozen):
    """One screen: a text, rows of buttons, and what happens on arrival."""

    text: TextKey | list[TextVariant] = Field(
        description="Text key, or variants: the first whose 'when' holds is shown; the last has no 'when'"
    )
    buttons: list[list[Button]] = Field(default_factory=list)
    on_enter: list[Action] = Field(default_factory=list)
    final: bool = Field(default=False, description="The conversation ends here")
    ask_a_person: bool = Field(
        default=False,
        description="Offers '🙋 Ask a person' here, when the bot has a support chat (BOT_SUPPORT_CHAT_ID)",
    )
    claims: Claims | None = Field(
        default=None, description="The claims a single text rests on (text variants carry their own)"
    )
    moved_from: list[Id] = Field(
        default_factory=list,
        description="Former ids of this state: people still on one of them come here after a reload",
    )


class Variable(_Frozen):
    """A value the conversation remembers; ``table: providers`` makes it a key of the providers table."""

    table: Literal["providers"] | None = None
    values: list[str] | None = Field(default=None, description="The values it may take")
    default: str | None = None


class ReminderTiming(_Frozen):
    """A reminder's pace for the conversations ``when`` matches, e.g. one seller's published times."""

    when: Condition
    first_after: Annotated[Duration, Field()]
    every: Annotated[Duration, Field()]
    count: int = Field(ge=1, le=60)


class Reminder(_Frozen):
    """A follow-up schedule: first after ``first_after``, then every ``every``, ``count`` times in all.

    With ``then_every``, scheduling it again from ``after_last`` continues at that calmer pace (``count``
    more reminders, then ``after_last`` again) instead of restarting the cycle.
    """

    text: TextKey
    first_after: Annotated[Duration, Field()]
    every: Annotated[Duration, Field()]
    count: int = Field(ge=1, le=60)
    timing: list[ReminderTiming] = Field(
        default_factory=list,
        description="Other paces, the first whose 'when' holds wins; otherwise first_after/every/count",
    )
    then_every: Duration | None = Field(
        default=None, description="The calmer pace when scheduled again from after_last (count more times)"
    )
    active_in: list[Id] = Field(min_length=1, description="States in which the reminder stays pending")
    confirmed: Id = Field(description="Where 'I got the confirmation' leads")
    after_last: Id | None = Field(
        default=None, description="Where the conversation goes with the last reminder"
    )
    help: TextKey = Field(description="What 'I need help' says; the provider's support links follow it")
    confirm_label: TextKey | None = Field(
        default=None,
        description="The label of the button leading to 'confirmed' (default: ui.reminder.confirmed)",
    )
    moved_from: list[Id] = Field(
        default_factory=list, description="Former names of this reminder: pending ones become this one"
    )
    claims: dict[Literal["text", "help"], Claims] = Field(
        default_factory=dict, description="The claims its text and its help rest on"
    )


class ZoneGuess(_Frozen):
    """Where the answers so far place a person, for their reminders' hours until they say where they are.

    ``zone`` names it (the answers name the place, such as a home country: its times are shown);
    ``away_from`` takes the first place the person's language offers that is not this zone (someone "back
    home" whose country is not known): a guess, so no clock time is shown in it until they say where they
    are; ``known`` means the answers settle it, so the bot does not ask "where are you now?".
    """

    when: Condition
    zone: Zone | None = Field(
        default=None, description="An IANA time zone the answers name, e.g. Europe/Paris: its times are shown"
    )
    away_from: Zone | None = Field(
        default=None,
        description="A guess: the language's first offered place other than this IANA zone (no time shown in it)",
    )
    known: bool = Field(default=False, description="The answers settle it: the bot does not ask")

    @model_validator(mode="after")
    def _one_place(self) -> ZoneGuess:
        if (self.zone is None) == (self.away_from is None):
            raise ValueError("give exactly one of 'zone' and 'away_from'")
        return self


class Link(_Frozen):
    """A labelled web address, and the same page in other languages where the provider has one."""

    text: TextKey
    url: HttpsUrl
    in_language: dict[str, HttpsUrl] = Field(
        default_factory=dict,
        description="The same page in another language, by language code (fr: ...): people reading it get that one",
    )

    def url_for(self, language: str) -> str:
        """Returns the page in ``language`` when the provider has one, else the default page."""
        return self.in_language.get(language, self.url)


class Provider(_Frozen):
    """Who sold the eSIM or runs the line, and how to cancel or get a refund there."""

    name: str = Field(min_length=1, max_length=64)
    kind: Literal["travel_esim", "reseller", "home_carrier", "local_operator"]
    how_to: TextKey = Field(description="Where and how to ask for the refund or cancellation")
    refund_rule: TextKey | None = None
    texts: dict[Id, TextKey] = Field(
        default_factory=dict,
        description="More text fields, shown by {provider.<field>} (nothing when a provider has none)",
    )
    links: list[Link] = Field(default_factory=list)
    support: list[Link] = Field(default_factory=list)
    claims: dict[Id, Claims] = Field(
        default_factory=dict,
        description="The claims each text field rests on: how_to, refund_rule and each key of texts",
    )


class DeepLink(_Frozen):
    """``t.me/<bot>?start=<name>``: start a fresh conversation, run ``do``, and go to ``to``."""

    do: list[Action] = Field(default_factory=list)
    to: Id


class Fallback(_Frozen):
    """Where a conversation goes whose state is gone and declared nowhere, with the notice it gets."""

    to: Id
    notice: TextKey = Field(description="A short note shown above the screen, e.g. the flow has changed")


class Flow(_Frozen):
    """A whole conversation flow, as an operator writes it in flows/<id>.yaml."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"title": "eSIM bot flow", "$comment": "Generated by `esim-bot schema`"},
    )

    id: Id
    title: str = Field(min_length=1)
    start: Id
    facts: str | None = Field(
        default=None,
        description="The facts file every text cites claims from, relative to this file; with it, every text needs claims",
    )
    budget: Budget | None = Field(default=None, description="What a screen may hold in every language")
    actions: dict[Id, list[Action]] = Field(
        default_factory=dict, description="Named groups of actions, run with {run: <name>}"
    )
    variables: dict[Id, Variable] = Field(default_factory=dict)
    checklist: dict[Id, TextKey] = Field(default_factory=dict)
    reminders: dict[Id, Reminder] = Field(default_factory=dict)
    providers: dict[Id, Provider] = Field(default_factory=dict)
    deep_links: dict[Id, DeepLink] = Field(default_factory=dict)
    states: dict[Id, State] = Field(min_length=1)
    fallback: Fallback | None = Field(
        default=None,
        description="Where people go whose state was removed (default: the start state, with no notice)",
    )
    zones: list[ZoneGuess] = Field(
        default_factory=list,
        description="Where the answers place a person, for reminders until they say: the first that holds wins",
    )


PROVIDER_KINDS = ("travel_esim", "reseller", "home_carrier", "local_operator")
PROVIDER_TEXT_FIELDS = frozenset({"how_to", "refund_rule"})
PROVIDER_PLAIN_FIELDS = frozenset({"name", "kind"})
PROVIDER_LINK_FIELDS = frozenset({"links", "support"})
