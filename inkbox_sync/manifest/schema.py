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
    SIP_URI_PATTERN,
    WEBHOOK_URL_PATTERN,
    WEBSOCKET_URL_PATTERN,
)
from inkbox_sync.model import CallAction, Direction, FilterMode, RuleStatus, UnmanagedRules

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
AgentHandle = Annotated[str, StringConstraints(min_length=1)]


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


def _refuse_null(value: object) -> object:
    # Omitted means "not managed"; null would be a third meaning nobody could guess.
    if value is None:
        raise PydanticCustomError("null_not_allowed", "null is not allowed here")
    return value


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
    direction: Direction = Field(
        default="both",
        description="Which side the rule covers: both (default), inbound (the caller reaching "
        "the agent) or outbound (the agent reaching the target). 2026-10 only for one side.",
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
    """Policy tests: parties the desired policy must deliver or block, per side."""

    model_config = ConfigDict(title="Expectations")

    delivered: list[E164] = Field(
        default_factory=list, description="Callers that must get through (inbound)."
    )
    blocked: list[E164] = Field(
        default_factory=list, description="Callers that must be blocked (inbound)."
    )
    outbound_allowed: list[E164] = Field(
        default_factory=list,
        description="Parties the agent must be allowed to call or text (outbound; 2026-10).",
    )
    outbound_blocked: list[E164] = Field(
        default_factory=list,
        description="Parties the agent must be blocked from calling or texting (outbound; 2026-10).",
    )


_NULL_REFUSED: Final = (
    "filter_mode",
    "inbound_filter_mode",
    "outbound_filter_mode",
    "use",
    "allow",
    "block",
    "unmanaged_rules",
    "expect",
)


class HolderSpec(_Strict):
    """The policy keys, shared by numbers and agents."""

    filter_mode: FilterMode | None = Field(
        default=None,
        description="Who gets through without a rule, on both sides: blacklist = everyone, "
        "whitelist = no one. Not with inbound_filter_mode / outbound_filter_mode.",
        json_schema_extra=_not_null,
    )
    inbound_filter_mode: FilterMode | None = Field(
        default=None,
        description="The inbound side's mode alone (callers reaching the agent); the outbound "
        "side stays unmanaged unless outbound_filter_mode is set. 2026-10 only.",
        json_schema_extra=_not_null,
    )
    outbound_filter_mode: FilterMode | None = Field(
        default=None,
        description="The outbound side's mode alone (whom the agent may reach); the inbound "
        "side stays unmanaged unless inbound_filter_mode is set. 2026-10 only.",
        json_schema_extra=_not_null,
    )
    use: list[PolicyName] | None = Field(
        default=None,
        description="Policies whose rules are merged in (the holder's own allow/block "
        "entries win for the same target and side).",
        json_schema_extra=_not_null,
    )
    allow: list[RuleEntry] | None = Field(
        default=None,
        description="Parties to deliver / allow: E.164 strings (active, both sides) or rule "
        "mappings.",
        json_schema_extra=_not_null,
    )
    block: list[RuleEntry] | None = Field(
        default=None,
        description="Parties to block: E.164 strings (active, both sides) or rule mappings.",
        json_schema_extra=_not_null,
    )
    unmanaged_rules: UnmanagedRules | None = Field(
        default=None,
        description="What happens to live rules (per target and side) the manifest does not "
        "name: delete (default) or keep. Only with allow, block or use.",
        json_schema_extra=_not_null,
    )
    expect: ExpectSpec | None = Field(
        default=None,
        description="Policy tests checked by validate and plan.",
        json_schema_extra=_not_null,
    )

    @field_validator(*_NULL_REFUSED, mode="before")
    @classmethod
    def _refuse_null(cls, value: object) -> object:
        return _refuse_null(value)


class NumberSpec(HolderSpec):
    """One phone number. Every key is optional: what is omitted is left as it is live."""

    model_config = ConfigDict(title="Number")

    agent: str | None = Field(
        default=None,
        min_length=1,
        description="The agent handle that must own this number live (checked, never changed).",
        json_schema_extra=_not_null,
    )
    incoming_call_action: CallAction | None = Field(
        default=None,
        description="auto_reject: reject every call. auto_accept: answer and bridge audio to "
        "client_websocket_url. webhook: ask incoming_call_webhook_url what to do. "
        "hosted_agent: Inkbox's hosted agent answers (2026-10). forward: forward to "
        "forwarding_phone_number or forwarding_sip_uri (2026-10).",
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
    forwarding_phone_number: E164 | None = Field(
        default=None,
        description="Where forward sends calls: an E.164 number (quoted). Not with "
        "forwarding_sip_uri; null: must be empty. 2026-10 only.",
        json_schema_extra=_no_default,
    )
    forwarding_sip_uri: Annotated[str, StringConstraints(pattern=SIP_URI_PATTERN)] | None = Field(
        default=None,
        description="Where forward sends calls: a sip: or sips: URI on a public DNS host. Not "
        "with forwarding_phone_number; null: must be empty. 2026-10 only.",
        json_schema_extra=_no_default,
    )

    @field_validator("agent", "incoming_call_action", mode="before")
    @classmethod
    def _refuse_null_here(cls, value: object) -> object:
        return _refuse_null(value)


class AgentSpec(HolderSpec):
    """An agent identity's policy, managed by handle (2026-10), with or without a number."""

    model_config = ConfigDict(title="Agent")


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
    agents: dict[AgentHandle, AgentSpec] = Field(
        default_factory=dict,
        description="Agent identities whose policy is managed by handle, with or without a "
        "number (2026-10 only). Not for an identity whose number manages policy.",
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
