"""The pure core's value types: desired state, live state, and how a number decides.

Nothing here knows of YAML, HTTP or files. The manifest loader builds a
`DesiredState`; the live reader builds a `LiveState`; the planner compares the two.
Mappings are keyed by E.164 number or rule target. Every type is treated as
immutable; the per-rule ones (Rule, DesiredRule, LiveRule) are not declared
frozen only because a frozen dataclass costs about six times as much to build,
and a fleet holds hundreds of thousands of them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeAlias

Action: TypeAlias = Literal["allow", "block"]
RuleStatus: TypeAlias = Literal["active", "paused"]
FilterMode: TypeAlias = Literal["blacklist", "whitelist"]
CallAction: TypeAlias = Literal["auto_reject", "auto_accept", "webhook"]
Verdict: TypeAlias = Literal["delivered", "blocked"]
UnmanagedRules: TypeAlias = Literal["delete", "keep"]

ACTIONS: Final[tuple[Action, ...]] = ("allow", "block")
RULE_STATUSES: Final[tuple[RuleStatus, ...]] = ("active", "paused")
FILTER_MODES: Final[tuple[FilterMode, ...]] = ("blacklist", "whitelist")
CALL_ACTIONS: Final[tuple[CallAction, ...]] = ("auto_reject", "auto_accept", "webhook")

#: The number fields a manifest may manage, in the order plans show them.
ROUTING_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
)


class Unset(enum.Enum):
    """Marks a setting the manifest omits: not managed, left as it is live."""

    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was declared: file path, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(slots=True)  # not frozen: see the module docstring
class Rule:
    """The policy-relevant state of one contact rule."""

    action: Action
    status: RuleStatus = "active"


@dataclass(slots=True)  # not frozen: see the module docstring
class DesiredRule:
    """A rule the manifests ask for. `origin` is "number" or the policy's name."""

    target: str
    action: Action
    status: RuleStatus = "active"
    note: str | None = None
    origin: str = "number"
    location: Location | None = None

    @property
    def rule(self) -> Rule:
        return Rule(self.action, self.status)


@dataclass(frozen=True, slots=True)
class Expectation:
    """Policy tests: callers that must be delivered / blocked on a number."""

    delivered: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class DesiredNumber:
    """One number as the manifests declare it. UNSET fields are not managed.

    `rules` is None when the number's rules are not managed at all (no `allow`,
    `block` or `use` key); otherwise it maps each target to its desired rule,
    policies already merged in.
    """

    number: str
    location: Location | None = None
    agent: str | None = None
    incoming_call_action: CallAction | Unset = UNSET
    client_websocket_url: str | Unset | None = UNSET
    incoming_call_webhook_url: str | Unset | None = UNSET
    filter_mode: FilterMode | Unset = UNSET
    rules: Mapping[str, DesiredRule] | None = None
    unmanaged_rules: UnmanagedRules = "delete"
    expect: Expectation | None = None


@dataclass(frozen=True, slots=True)
class DesiredState:
    numbers: Mapping[str, DesiredNumber] = field(default_factory=dict)

    @property
    def rule_count(self) -> int:
        return sum(len(n.rules) for n in self.numbers.values() if n.rules is not None)


@dataclass(slots=True)  # not frozen: see the module docstring
class LiveRule:
    """A non-deleted rule as the API reports it."""

    id: str
    target: str
    action: Action
    status: RuleStatus

    @property
    def rule(self) -> Rule:
        return Rule(self.action, self.status)


@dataclass(frozen=True, slots=True)
class LiveNumber:
    """A number as the API reports it. `rules` is None when they were not read."""

    id: str
    number: str
    incoming_call_action: CallAction
    client_websocket_url: str | None
    incoming_call_webhook_url: str | None
    filter_mode: FilterMode
    agent_identity_id: str | None = None
    agent_handle: str | None = None
    rules: Mapping[str, LiveRule] | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    numbers: Mapping[str, LiveNumber] = field(default_factory=dict)


class RuleLike(Protocol):
    """Anything with a rule's policy fields: Rule, DesiredRule, LiveRule.

    Hot paths take these directly instead of building Rule objects (100,000s of them).
    """

    @property
    def action(self) -> Action: ...

    @property
    def status(self) -> RuleStatus: ...


def same_rule(a: RuleLike, b: RuleLike) -> bool:
    return a.action == b.action and a.status == b.status


def default_verdict(mode: FilterMode) -> Verdict:
    """What a caller with no active rule gets: delivered iff blacklist."""
    return "delivered" if mode == "blacklist" else "blocked"


def verdict(mode: FilterMode, rule: RuleLike | None) -> Verdict:
    """How a number decides (inkbox-phone-api.md): an active rule wins, else the mode."""
    if rule is not None and rule.status == "active":
        return "delivered" if rule.action == "allow" else "blocked"
    return default_verdict(mode)


def harmless_action(mode: FilterMode) -> Action:
    """The action whose active rule changes nobody's verdict under `mode`."""
    return "allow" if mode == "blacklist" else "block"
