"""The manifest file format as pydantic models: the validator and the JSON Schema in one.

These models describe one file as written (after `${VAR}` expansion), not the
merged desired state: policies are still separate and numbers are still the
text the user wrote. `resolve.py` turns validated files into `model.DesiredState`.

All models are strict (YAML's implicit typing has already been made explicit
by the composer, so "1" is never an int here) and forbid unknown keys. Fields
whose omission means "not managed" default to None, and an explicit `null`
for them is refused by a validator; `_not_null` keeps the JSON Schema saying
the same thing, so editors and the loader agree.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
)
from pydantic_core import PydanticCustomError

from inkbox_sync.manifest.normalize import (
    E164_INPUT_PATTERN,
    WEBHOOK_URL_PATTERN,
    WEBSOCKET_URL_PATTERN,
)
from inkbox_sync.model import FilterMode, RuleStatus, UnmanagedRules

#: The call actions the manifest language accepts today (the core also knows
#: hosted_agent and forward; the manifest gains them with the forwarding keys).
ManifestCallAction = Literal["auto_reject", "auto_accept", "webhook"]

POLICY_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: Tags of the rule-entry union; they appear in pydantic error locations.
RULE_STRING: Final = "rule-string"
RULE_MAPPING: Final = "rule-mapping"

E164 = Annotated[
    str,
    StringConstraints(pattern=E164_INPUT_PATTERN),
    Field(
        description='An E.164 phone number, quoted: "+14155550100". Spaces, dashes, dots and '
        "parentheses between digits are ignored."
    ),
]
PolicyName = Annotated[str, StringConstraints(pattern=POLICY_NAME_PATTERN)]


def _not_null(schema: dict[str, Any]) -> None:
    """Field schema hook: the field may be omitted but not null (the validator refuses null)."""
    schema.pop("default", None)
    options = [o for o in schema.pop("anyOf") if o != {"type": "null"}]
    (only,) = options
    schema.update(only)


def _no_default(schema: dict[str, Any]) -> None:
    """Field schema hook: omitted is not the same as null here, so show no default."""
    schema.pop("default", None)


def _closed_mapping(schema: dict[str, Any]) -> None:
    """Field schema hook: keys that do not match the key pattern are errors, as in the loader."""
    schema["additionalProperties"] = False


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class RuleSpec(_Strict):
    """A rule written as a mapping, to pause it or attach a note."""

    model_config = ConfigDict(title="Rule")

    target: E164 = Field(description="The caller's number the rule matches (E.164, quoted).")
    status: RuleStatus = Field(
        default="active",
        description="active: enforced. paused: staged; present and reserving the caller's slot, "
        "but not enforced until set to active.",
    )
    note: str | None = Field(
        default=None, description="Free text for reviewers; not sent to Inkbox."
    )


def _rule_kind(value: object) -> str:
    # A mapping is a RuleSpec; anything else is checked as the string form, so a
    # bad entry gets one error for the form it tried, not one for each form.
    return RULE_MAPPING if isinstance(value, dict | RuleSpec) else RULE_STRING


RuleEntry = Annotated[
    Annotated[
        Annotated[str, StringConstraints(pattern=E164_INPUT_PATTERN)],
        Tag(RULE_STRING),
        Field(description='An active rule for this caller: "+14155550100" (quoted).'),
    ]
    | Annotated[RuleSpec, Tag(RULE_MAPPING)],
    Discriminator(_rule_kind),
]


class PolicySpec(_Strict):
    """A named, reusable set of rules; numbers merge it in with `use:`."""

    model_config = ConfigDict(title="Policy")

    description: str | None = Field(default=None, description="What the policy is for.")
    allow: list[RuleEntry] = Field(
        default_factory=list, description="Callers to deliver: E.164 strings or rule mappings."
    )
    block: list[RuleEntry] = Field(
        default_factory=list, description="Callers to block: E.164 strings or rule mappings."
    )


class ExpectSpec(_Strict):
    """Policy tests: callers the desired policy must deliver or block."""

    model_config = ConfigDict(title="Expectations")

    delivered: list[E164] = Field(
        default_factory=list, description="Callers that must get through."
    )
    blocked: list[E164] = Field(default_factory=list, description="Callers that must be blocked.")


class NumberSpec(_Strict):
    """One phone number. Every key is optional: what is omitted is left as it is live."""

    model_config = ConfigDict(title="Number")

    agent: str | None = Field(
        default=None,
        min_length=1,
        description="The agent handle that must own this number live (checked, never changed).",
        json_schema_extra=_not_null,
    )
    incoming_call_action: ManifestCallAction | None = Field(
        default=None,
        description="auto_reject: reject every call. auto_accept: answer and bridge audio to "
        "client_websocket_url. webhook: ask incoming_call_webhook_url what to do.",
        json_schema_extra=_not_null,
    )
    client_websocket_url: (
        Annotated[str, StringConstraints(pattern=WEBSOCKET_URL_PATTERN)] | None
    ) = Field(
        default=None,
        description="wss:// URL calls are bridged to (ws:// only for localhost); null: must be empty.",
        json_schema_extra=_no_default,
    )
    incoming_call_webhook_url: (
        Annotated[str, StringConstraints(pattern=WEBHOOK_URL_PATTERN)] | None
    ) = Field(
        default=None,
        description="https:// URL Inkbox asks about each call (http:// only for localhost); "
        "null: must be empty.",
        json_schema_extra=_no_default,
    )
    filter_mode: FilterMode | None = Field(
        default=None,
        description="Who gets through without a rule: blacklist = everyone, whitelist = no one.",
        json_schema_extra=_not_null,
    )
    use: list[PolicyName] | None = Field(
        default=None,
        description="Policies whose rules are merged into this number's (the number's own "
        "allow/block entries win for the same caller).",
        json_schema_extra=_not_null,
    )
    allow: list[RuleEntry] | None = Field(
        default=None,
        description="Callers to deliver: E.164 strings (active rules) or rule mappings.",
        json_schema_extra=_not_null,
    )
    block: list[RuleEntry] | None = Field(
        default=None,
        description="Callers to block: E.164 strings (active rules) or rule mappings.",
        json_schema_extra=_not_null,
    )
    unmanaged_rules: UnmanagedRules | None = Field(
        default=None,
        description="What happens to live rules the manifest does not name: delete (default) "
        "or keep. Only with allow, block or use.",
        json_schema_extra=_not_null,
    )
    expect: ExpectSpec | None = Field(
        default=None,
        description="Policy tests checked by validate and plan.",
        json_schema_extra=_not_null,
    )

    @field_validator(
        "agent",
        "incoming_call_action",
        "filter_mode",
        "use",
        "allow",
        "block",
        "unmanaged_rules",
        "expect",
        mode="before",
    )
    @classmethod
    def _refuse_null(cls, value: object) -> object:
        # Omitted means "not managed"; null would be a third meaning nobody could guess.
        if value is None:
            raise PydanticCustomError("null_not_allowed", "null is not allowed here")
        return value


class ManifestFile(_Strict):
    """One inkbox-sync manifest file."""

    model_config = ConfigDict(
        title="inkbox-sync manifest",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "Config-as-code for Inkbox phone numbers: routing and contact rules. "
            "See the README's manifest reference.",
        },
    )

    version: Literal[1] = Field(description="Manifest format version; always 1.")
    policies: dict[PolicyName, PolicySpec] = Field(
        default_factory=dict,
        description="Named, reusable rule sets, shared by every file loaded together.",
        json_schema_extra=_closed_mapping,
    )
    numbers: dict[E164, NumberSpec] = Field(
        default_factory=dict,
        description='Phone numbers of the organisation, keyed by E.164 (quoted: "+18335794607").',
        json_schema_extra=_closed_mapping,
    )

    @field_validator("version", mode="before")
    @classmethod
    def _refuse_bool(cls, value: object) -> object:
        # bool is an int in Python, so Literal[1] alone would accept `version: true`.
        if isinstance(value, bool):
            raise PydanticCustomError("version", "version must be 1")
        return value


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of one manifest file, generated from the models above."""
    return ManifestFile.model_json_schema()


def schema_text() -> str:
    """What `inkbox-sync schema` prints and `schemas/manifest.schema.json` holds."""
    return json.dumps(manifest_json_schema(), indent=2, sort_keys=True) + "\n"
