"""The pure core's value types: desired state, live state, and how a holder decides.

Nothing here knows of YAML, HTTP, files or API versions. The manifest loader
builds a `DesiredState`; an API adapter builds a `LiveState`, together with the
`Capabilities` of the API it read; the planner compares the two.

Policy belongs to a *holder*: the number itself in a per-number API, the agent
identity (with or without a number) in a per-identity one. A holder has two
sides, inbound (callers reaching the agent) and outbound (the agent reaching
them), each with a filter mode, and per (target, side) at most one rule. A rule
row covers one side or both (`direction`); an API that has no directions is
the special case of one shared mode and `both` rows only.

Per target, rules are held as one rule object (covering `direction`) or, when
the two sides are covered by different rules, a pair (inbound, outbound) of
one-way rules: one object in the common case keeps 100,000-rule fleets cheap.
Every type is treated as immutable; the per-rule ones (Rule, DesiredRule,
LiveRule, and Location, which is also hashed) are not declared frozen only
because a frozen dataclass costs about six times as much to build, and a fleet
holds hundreds of thousands of them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeAlias, TypeVar

Action: TypeAlias = Literal["allow", "block"]
RuleStatus: TypeAlias = Literal["active", "paused"]
FilterMode: TypeAlias = Literal["blacklist", "whitelist"]
CallAction: TypeAlias = Literal["auto_reject", "auto_accept", "webhook", "hosted_agent", "forward"]
Verdict: TypeAlias = Literal["delivered", "blocked"]
UnmanagedRules: TypeAlias = Literal["delete", "keep"]
Side: TypeAlias = Literal["inbound", "outbound"]
Direction: TypeAlias = Literal["inbound", "outbound", "both"]

ACTIONS: Final[tuple[Action, ...]] = ("allow", "block")
RULE_STATUSES: Final[tuple[RuleStatus, ...]] = ("active", "paused")
FILTER_MODES: Final[tuple[FilterMode, ...]] = ("blacklist", "whitelist")
CALL_ACTIONS: Final[tuple[CallAction, ...]] = (
    "auto_reject",
    "auto_accept",
    "webhook",
    "hosted_agent",
    "forward",
)
SIDES: Final[tuple[Side, ...]] = ("inbound", "outbound")
DIRECTIONS: Final[tuple[Direction, ...]] = ("inbound", "outbound", "both")
#: The sides a row of each direction covers.
SIDES_OF: Final[dict[str, tuple[Side, ...]]] = {
    "inbound": ("inbound",),
    "outbound": ("outbound",),
    "both": ("inbound", "outbound"),
}

#: The number fields a manifest may manage, in the order plans show them.
ROUTING_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "forwarding_phone_number",
    "forwarding_sip_uri",
)


class Unset(enum.Enum):
    """Marks a setting the manifest omits: not managed, left as it is live."""

    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the API the live state came from can express, as its adapter says.

    The core never asks which API version it talks to, only these. The defaults
    are the smallest API: one mode shared by both sides, rules on both sides
    only, status writable (so staging writes a paused row), no `apply_to`.
    """

    #: Rules may cover one side (`direction` on create and update), and the
    #: server may merge two one-way rows of a target into one `both` row.
    directional_rules: bool = False
    #: Each side's filter mode can be set on its own.
    separate_modes: bool = False
    #: A rule's status (active/paused) can be written.
    writable_status: bool = True
    #: `{action, apply_to: side}` edits one side of a `both` row.
    apply_to: bool = False
    #: The `incoming_call_action` values the API accepts; `forward` brings the
    #: forwarding target fields.
    call_actions: tuple[CallAction, ...] = ("auto_reject", "auto_accept", "webhook")
    #: Policy belongs to agent identities, which can be managed by handle, with
    #: or without a number (`agents:` in a manifest).
    identity_policy: bool = False
    #: Policy also governs whom the agent may reach (the outbound side); without
    #: it only inbound calls and texts are filtered.
    outbound_side: bool = False


@dataclass(slots=True, unsafe_hash=True)  # not frozen (one per rule): see the module docstring
class Location:
    """Where something was declared: file path, 1-based line and column. Hashed (a
    key of `DesiredState.key_locations`), so never changed once made."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(slots=True)  # not frozen: see the module docstring
class Rule:
    """The policy-relevant state of one (target, side) cell."""

    action: Action
    status: RuleStatus = "active"


@dataclass(slots=True)  # not frozen: see the module docstring
class DesiredRule:
    """A rule the manifests ask for. `origin` is "number" or the policy's name;
    `direction` is what it was written with, so a `both` rule stays one row."""

    target: str
    action: Action
    status: RuleStatus = "active"
    note: str | None = None
    origin: str = "number"
    location: Location | None = None
    direction: Direction = "both"

    @property
    def rule(self) -> Rule:
        return Rule(self.action, self.status)


@dataclass(slots=True)  # not frozen: see the module docstring
class LiveRule:
    """A non-deleted rule row as the API reports it."""

    id: str
    target: str
    action: Action
    status: RuleStatus
    direction: Direction = "both"

    @property
    def rule(self) -> Rule:
        return Rule(self.action, self.status)


_R = TypeVar("_R", DesiredRule, LiveRule)

#: A target's rules: one rule (covering its direction), or an (inbound, outbound) pair.
DesiredRules: TypeAlias = DesiredRule | tuple[DesiredRule, DesiredRule]
LiveRules: TypeAlias = LiveRule | tuple[LiveRule, LiveRule]


def on_side(rules: _R | tuple[_R, _R] | None, side: Side) -> _R | None:
    """The rule of a target's entry that covers `side`, or None."""
    if rules is None:
        return None
    if isinstance(rules, tuple):
        return rules[0] if side == "inbound" else rules[1]
    if rules.direction == "both" or rules.direction == side:
        return rules
    return None


def by_side(rules: _R | tuple[_R, _R] | None) -> tuple[_R | None, _R | None]:
    """(inbound rule, outbound rule) of a target's entry."""
    if rules is None:
        return None, None
    if isinstance(rules, tuple):
        return rules
    if rules.direction == "both":
        return rules, rules
    return (rules, None) if rules.direction == "inbound" else (None, rules)


def rows_of(rules: _R | tuple[_R, _R] | None) -> tuple[_R, ...]:
    """The distinct rule objects of a target's entry."""
    if rules is None:
        return ()
    return rules if isinstance(rules, tuple) else (rules,)


def entry_of(inbound: _R | None, outbound: _R | None) -> _R | tuple[_R, _R] | None:
    """The entry holding these per-side rules (the inverse of `by_side`)."""
    if inbound is None:
        return outbound
    if outbound is None or outbound is inbound:
        return inbound
    return inbound, outbound


@dataclass(frozen=True, slots=True)
class Expectation:
    """Policy tests: callers that must be delivered / blocked inbound, and
    parties the agent must be allowed / blocked to reach outbound."""

    delivered: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    location: Location | None = None
    outbound_allowed: tuple[str, ...] = ()
    outbound_blocked: tuple[str, ...] = ()


class DesiredPolicy(Protocol):
    """What a holder's manifest entry says about policy (numbers and agents alike)."""

    @property
    def key(self) -> str: ...
    @property
    def location(self) -> Location | None: ...
    @property
    def filter_mode(self) -> FilterMode | Unset: ...
    @property
    def inbound_filter_mode(self) -> FilterMode | Unset: ...
    @property
    def outbound_filter_mode(self) -> FilterMode | Unset: ...
    @property
    def rules(self) -> Mapping[str, DesiredRules] | None: ...
    @property
    def unmanaged_rules(self) -> UnmanagedRules: ...
    @property
    def expect(self) -> Expectation | None: ...


def desired_mode(policy: DesiredPolicy, side: Side) -> FilterMode | Unset:
    """The mode a manifest entry wants on `side`: its directional mode, else the
    shared `filter_mode` (both sides), else UNSET (the side is unmanaged)."""
    own = policy.inbound_filter_mode if side == "inbound" else policy.outbound_filter_mode
    return own if own is not UNSET else policy.filter_mode


@dataclass(frozen=True, slots=True)
class DesiredNumber:
    """One number as the manifests declare it. UNSET fields are not managed.

    `filter_mode` is the mode of both sides; `inbound_filter_mode` and
    `outbound_filter_mode` set one side each (a manifest uses one kind or the
    other). `rules` is None when the number's rules are not managed at all (no
    `allow`, `block` or `use` key); otherwise it maps each target to its
    desired rules, policies already merged in.
    """

    number: str
    location: Location | None = None
    agent: str | None = None
    incoming_call_action: CallAction | Unset = UNSET
    client_websocket_url: str | Unset | None = UNSET
    incoming_call_webhook_url: str | Unset | None = UNSET
    filter_mode: FilterMode | Unset = UNSET
    rules: Mapping[str, DesiredRules] | None = None
    unmanaged_rules: UnmanagedRules = "delete"
    expect: Expectation | None = None
    inbound_filter_mode: FilterMode | Unset = UNSET
    outbound_filter_mode: FilterMode | Unset = UNSET
    forwarding_phone_number: str | Unset | None = UNSET
    forwarding_sip_uri: str | Unset | None = UNSET

    @property
    def key(self) -> str:
        return self.number


@dataclass(frozen=True, slots=True)
class DesiredAgent:
    """An agent identity managed by handle (with or without a number): policy only."""

    handle: str
    location: Location | None = None
    filter_mode: FilterMode | Unset = UNSET
    rules: Mapping[str, DesiredRules] | None = None
    unmanaged_rules: UnmanagedRules = "delete"
    expect: Expectation | None = None
    inbound_filter_mode: FilterMode | Unset = UNSET
    outbound_filter_mode: FilterMode | Unset = UNSET

    @property
    def key(self) -> str:
        return self.handle


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Every holder the manifests declare.

    `key_locations` says where keys were written inside a declared node:
    `(the node's location, key) -> the key's location`, for the keys of each
    number and agent, of each `expect:`, and each rule's `direction` when it is
    not `both`. Checks made after loading (e.g. what an API version cannot
    express) use it to point at the key itself.
    """

    numbers: Mapping[str, DesiredNumber] = field(default_factory=dict)
    agents: Mapping[str, DesiredAgent] = field(default_factory=dict)
    key_locations: Mapping[tuple[Location, str], Location] = field(default_factory=dict)

    @property
    def rule_count(self) -> int:
        numbers = sum(len(n.rules) for n in self.numbers.values() if n.rules is not None)
        return numbers + sum(len(a.rules) for a in self.agents.values() if a.rules is not None)


@dataclass(frozen=True, slots=True)
class LiveNumber:
    """A number as the API reports it, with the policy that governs it (its own,
    or its identity's). `rules` is None when they were not read.

    Values are carried as the API sent them: an `incoming_call_action` or a
    filter mode this tool does not know is kept as is, and is an error only
    where a manifest manages that setting. `policy_id` is where rule and mode
    writes go when that is not the number itself (the identity's handle).
    """

    id: str
    number: str
    incoming_call_action: str
    client_websocket_url: str | None
    incoming_call_webhook_url: str | None
    inbound_filter_mode: str
    outbound_filter_mode: str
    agent_identity_id: str | None = None
    agent_handle: str | None = None
    rules: Mapping[str, LiveRules] | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None
    policy_id: str | None = None

    @property
    def policy_address(self) -> str:
        return self.policy_id or self.id

    @property
    def filter_mode(self) -> str | None:
        """Both sides' mode when they agree (always, in a per-number API), else None."""
        same = self.inbound_filter_mode == self.outbound_filter_mode
        return self.inbound_filter_mode if same else None


@dataclass(frozen=True, slots=True)
class LiveAgent:
    """An agent identity's policy as the API reports it (for holders managed by handle)."""

    id: str
    handle: str
    inbound_filter_mode: str
    outbound_filter_mode: str
    rules: Mapping[str, LiveRules] | None = None

    @property
    def policy_address(self) -> str:
        return self.handle


@dataclass(frozen=True, slots=True)
class LiveState:
    """What was read, from which API (`api_version` is opaque: shown and compared only)."""

    numbers: Mapping[str, LiveNumber] = field(default_factory=dict)
    agents: Mapping[str, LiveAgent] = field(default_factory=dict)
    capabilities: Capabilities = field(default_factory=Capabilities)
    api_version: str = ""


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


def known_mode(value: str) -> FilterMode | None:
    """`value` as a mode this tool knows, or None (a mode a newer API added)."""
    return "blacklist" if value == "blacklist" else "whitelist" if value == "whitelist" else None


def default_verdict(mode: FilterMode) -> Verdict:
    """What a party with no active rule on a side gets: delivered/allowed iff blacklist."""
    return "delivered" if mode == "blacklist" else "blocked"


def verdict(mode: FilterMode, rule: RuleLike | None) -> Verdict:
    """How a holder decides, per side: an active rule wins, else the side's mode."""
    if rule is not None and rule.status == "active":
        return "delivered" if rule.action == "allow" else "blocked"
    return default_verdict(mode)


def harmless_action(mode: FilterMode) -> Action:
    """The action whose active rule changes nobody's verdict under `mode`."""
    return "allow" if mode == "blacklist" else "block"
