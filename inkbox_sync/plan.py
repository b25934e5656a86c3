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

from inkbox_sync.model import Action, Rule, RuleStatus, Verdict

StepKind: TypeAlias = Literal["update_number", "create_rule", "update_rule", "delete_rule"]
#: 0: before any filter_mode flip (or the only phase), 1: the flip itself, 2: after it.
Phase: TypeAlias = Literal[0, 1, 2]
ChangeKind: TypeAlias = Literal["create", "update", "delete"]
WarningCode: TypeAlias = Literal[
    "filter_mode_change", "mass_rule_change", "whitelist_without_allow", "expectation_broken"
]


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


@dataclass(slots=True)  # not frozen: see the module docstring
class RuleChange:
    kind: ChangeKind
    target: str
    before: Rule | None
    after: Rule | None
    rule_id: str | None = None
    origin: str | None = None
    note: str | None = None


@dataclass(slots=True)  # not frozen: see the module docstring
class CallerEffect:
    """A caller's verdict before -> after. `caller` None means everyone unnamed."""

    caller: str | None
    before: Verdict
    after: Verdict


@dataclass(frozen=True, slots=True)
class NumberChange:
    """Layers 1 and 2 for one number: what changes and what callers feel.

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
    """One API write. Rule steps name the rule by (number, target); `rule_id` is
    set for rules that exist when the plan is made and None for rules the plan
    itself creates (apply learns their id from the create)."""

    number: str
    number_id: str
    kind: StepKind
    phase: Phase = 0
    target: str | None = None
    rule_id: str | None = None
    action: Action | None = None
    status: RuleStatus | None = None
    fields: Mapping[str, str | None] | None = None

    def describe(self) -> str:
        where = f"on {self.number}"
        if self.kind == "update_number":
            shown = ", ".join(f"{k}={_show(v)}" for k, v in (self.fields or {}).items())
            return f"update {self.number}: {shown}"
        if self.kind == "create_rule":
            return f"create {self.action} {self.target} {where} (active)"
        if self.kind == "delete_rule":
            return f"delete rule {self.target} {where}"
        parts = []
        if self.action is not None:
            parts.append(f"action={self.action}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return f"update rule {self.target} {where}: {', '.join(parts)}"


def _show(value: str | None) -> str:
    return "null" if value is None else value


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """A safety valve (needs `--force` to apply) or an advisory finding."""

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
    create: int = 0
    update: int = 0
    delete: int = 0
    numbers_changed: int = 0
    steps: int = 0

    @property
    def total(self) -> int:
        return self.create + self.update + self.delete


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[NumberChange, ...] = ()
    steps: tuple[Step, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    safety: SafetyReport = field(default_factory=lambda: SafetyReport(verified=True))
    basis: Mapping[str, NumberBasis] = field(default_factory=dict)
    numbers_checked: int = 0

    @property
    def summary(self) -> Summary:
        create = update = delete = 0
        for change in self.changes:
            update += len(change.fields)
            for rule in change.rules:
                if rule.kind == "create":
                    create += 1
                elif rule.kind == "update":
                    update += 1
                else:
                    delete += 1
        return Summary(create, update, delete, len(self.changes), len(self.steps))

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def forced_warnings(self) -> tuple[PlanWarning, ...]:
        return tuple(w for w in self.warnings if w.needs_force)
