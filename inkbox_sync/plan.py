"""The plan: pure data, three layers (changes, effects, steps) plus warnings.

A `Plan` is what `plan` prints and `apply` executes. These types carry no
behaviour beyond small derived views; the planner builds them, the safety
checker proves them, renderers show them, and `plan_file` (de)serialises them.
All are treated as immutable; the ones a plan holds per rule (RuleChange,
CallerEffect, Step) are not declared frozen only because frozen dataclasses
cost about six times as much to build and a fleet plan holds 100,000s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from inkbox_sync.model import (
    Action,
    Capabilities,
    Direction,
    FilterMode,
    Rule,
    RuleStatus,
    Side,
    Verdict,
)

#: update_routing: one PATCH of the number's routing fields; set_modes: one
#: write of the holder's filter mode(s); the rest: one write of one rule row.
StepKind: TypeAlias = Literal[
    "update_routing", "set_modes", "create_rule", "update_rule", "delete_rule"
]
#: 0: before the holder's mode flip (or the only phase), 1: the flip itself, 2: after it.
Phase: TypeAlias = Literal[0, 1, 2]
#: How a staged rule (`status: paused`) is realised: a paused row where status
#: can be written, else an active row with the side's harmless action.
Staging: TypeAlias = Literal["paused_row", "harmless_active_row"]
ChangeKind: TypeAlias = Literal["create", "update", "delete"]
WarningCode: TypeAlias = Literal[
    "filter_mode_change",
    "mass_rule_change",
    "whitelist_without_allow",
    "expectation_broken",
    "expectation_unmet_live",
]


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


@dataclass(slots=True)  # not frozen: see the module docstring
class RuleChange:
    """A (target, sides) cell change as the manifest sees it: `before`/`after`
    are the rule on each side in `direction` (both sides alike when "both")."""

    kind: ChangeKind
    target: str
    before: Rule | None
    after: Rule | None
    rule_id: str | None = None
    origin: str | None = None
    note: str | None = None
    direction: Direction = "both"


@dataclass(slots=True)  # not frozen: see the module docstring
class CallerEffect:
    """A party's verdict before -> after on `side` ("both": the same on each side).
    `caller` None means everyone unnamed. Outbound, "delivered" reads "allowed"."""

    caller: str | None
    before: Verdict
    after: Verdict
    side: Direction = "both"


@dataclass(frozen=True, slots=True)
class NumberChange:
    """Layers 1 and 2 for one holder: what changes and what callers feel.

    `number` is the holder's key: its E.164 number, or the agent handle of an
    identity managed by handle (then `number_id` is empty).

    `effects` lists every caller whose verdict changes, then the entry for
    everyone else (caller None), always present; `unchanged_callers` counts the
    named callers whose verdict stays the same.
    """

    number: str
    number_id: str
    fields: tuple[FieldChange, ...] = ()
    rules: tuple[RuleChange, ...] = ()
    effects: tuple[CallerEffect, ...] = ()
    unchanged_callers: int = 0
    agent: str | None = None
    location: str | None = None


@dataclass(slots=True)  # not frozen: see the module docstring
class Step:
    """One API write, abstract: each adapter maps it to its own request.

    `number` is the holder's key and `address` the id the write goes to (the
    number's id for a routing patch; for rules and modes the policy holder's
    id). Rule steps name their row by (target, `side`): `rule_id` is set when
    that row exists when the plan is made, `covers` is the coverage the row
    has when the step runs (apply refuses to write to a row covering anything
    else). `direction` is a created row's coverage, or an update's new one;
    `apply_to` edits one side of a `both` row. Unset coverage fields mean both.
    """

    number: str
    address: str
    kind: StepKind
    phase: Phase = 0
    target: str | None = None
    rule_id: str | None = None
    action: Action | None = None
    status: RuleStatus | None = None
    fields: Mapping[str, str | None] | None = None
    modes: Mapping[Side, FilterMode] | None = None
    direction: Direction | None = None
    side: Side | None = None
    covers: Direction | None = None
    apply_to: Side | None = None

    @property
    def coverage(self) -> Direction:
        """Sides of the row this update/delete addresses (or a create makes)."""
        if self.kind == "create_rule":
            return self.direction or "both"
        return self.covers or "both"

    def describe(self) -> str:
        where = f"on {self.number}"
        if self.kind == "update_routing":
            shown = ", ".join(f"{k}={_show(v)}" for k, v in (self.fields or {}).items())
            return f"update {self.number}: {shown}"
        if self.kind == "set_modes":
            modes = dict(self.modes or {})
            if len(modes) == 2 and len(set(modes.values())) == 1:
                return f"update {self.number}: filter_mode={modes['inbound']}"
            shown = ", ".join(f"{side}_filter_mode={mode}" for side, mode in modes.items())
            return f"update {self.number}: {shown}"
        scope = "" if self.coverage == "both" else f" ({self.coverage})"
        if self.kind == "create_rule":
            return f"create {self.action} {self.target}{scope} {where} (active)"
        if self.kind == "delete_rule":
            return f"delete rule {self.target}{scope} {where}"
        parts = []
        if self.action is not None:
            parts.append(f"action={self.action}")
        if self.apply_to is not None:
            parts.append(f"apply_to={self.apply_to}")
        if self.direction is not None:
            parts.append(f"direction={self.direction}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return f"update rule {self.target}{scope} {where}: {', '.join(parts)}"


def _show(value: str | None) -> str:
    return "null" if value is None else value


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """A finding about a plan: in `Plan.warnings` a safety valve (`needs_force`:
    apply refuses it without `--force`) or an advisory warning; in `Plan.notes`
    something worth knowing that needs nothing done (`expectation_unmet_live`:
    live state breaks an `expect:` that this plan repairs)."""

    number: str
    code: WarningCode
    message: str
    needs_force: bool = True


@dataclass(frozen=True, slots=True)
class Violation:
    """The first point at which a step list breaks transition safety."""

    number: str
    caller: str | None
    step_index: int | None
    message: str


@dataclass(frozen=True, slots=True)
class SafetyReport:
    verified: bool
    callers_checked: int = 0
    steps_checked: int = 0
    violation: Violation | None = None


@dataclass(frozen=True, slots=True)
class NumberBasis:
    """What a plan was computed from for one number: its id and a fingerprint of
    its live state (fields, and rules when they were read)."""

    number_id: str
    fingerprint: str
    rules_read: bool = False


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts that add up: `create`, `update` and `delete` count rule changes (per
    target and side, as the changes layer lists them), `fields` the number and
    mode fields that change, `steps` the API writes (which differ: a number's
    routing fields go in one write, a staged rule may take two)."""

    create: int = 0
    update: int = 0
    delete: int = 0
    numbers_changed: int = 0
    steps: int = 0
    fields: int = 0

    @property
    def total(self) -> int:
        """Rule changes."""
        return self.create + self.update + self.delete


@dataclass(frozen=True, slots=True)
class Plan:
    """`api_version` (opaque, from the adapter) is shown and guards a saved plan
    against an API of another version; `capabilities` are what the steps were
    chosen for."""

    changes: tuple[NumberChange, ...] = ()
    steps: tuple[Step, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    notes: tuple[PlanWarning, ...] = ()
    safety: SafetyReport = field(default_factory=lambda: SafetyReport(verified=True))
    basis: Mapping[str, NumberBasis] = field(default_factory=dict)
    numbers_checked: int = 0
    api_version: str = ""
    capabilities: Capabilities = field(default_factory=Capabilities)

    @property
    def staging(self) -> Staging:
        return "paused_row" if self.capabilities.writable_status else "harmless_active_row"

    @property
    def summary(self) -> Summary:
        create = update = delete = fields = 0
        for change in self.changes:
            fields += len(change.fields)
            for rule in change.rules:
                if rule.kind == "create":
                    create += 1
                elif rule.kind == "update":
                    update += 1
                else:
                    delete += 1
        return Summary(create, update, delete, len(self.changes), len(self.steps), fields)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def forced_warnings(self) -> tuple[PlanWarning, ...]:
        return tuple(w for w in self.warnings if w.needs_force)
