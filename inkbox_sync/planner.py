"""The planner: desired + live -> Plan. Pure: no I/O, linear in rules.

Step order is what makes a plan safe (design section 3). Per number:

* No filter_mode change: every target is independent. Creates, updates and
  deletes are single writes, each changing that caller's verdict at most once.
  A rule that must end paused is created with the *harmless* action (the one
  equal to the number's default verdict, so nobody notices it), then paused and
  given its action in one PATCH.
* A filter_mode flip m0 -> m1 (phase 1) splits the rest in two. Targets whose
  final rule is active are written before the flip (phase 0): an active rule's
  verdict does not depend on the mode, so the caller is pinned at its final
  verdict before the default moves. Targets whose final state is paused or gone
  are written after the flip (phase 2): until then their current rule keeps
  their old verdict, and the flip or the later write changes it exactly once.
  Callers the manifest wants unchanged across the flip have, by definition, a
  final active rule, so they are pinned first; nobody flickers.

The checker in `safety.py` proves every plan independently of this reasoning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from inkbox_sync.errors import PlanError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.expectations import check_expectations
from inkbox_sync.model import (
    ROUTING_FIELDS,
    UNSET,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    FilterMode,
    LiveNumber,
    LiveRule,
    LiveState,
    Rule,
    RuleLike,
    harmless_action,
    same_rule,
    verdict,
)
from inkbox_sync.plan import (
    CallerEffect,
    ChangeKind,
    FieldChange,
    NumberBasis,
    NumberChange,
    Phase,
    Plan,
    PlanWarning,
    RuleChange,
    Step,
)
from inkbox_sync.safety import check_steps

_ACTIVE_ALLOW = Rule("allow", "active")

#: Safety valve: refuse to delete or change more than this share of a number's
#: live rules without --force, once it has at least MASS_CHANGE_MIN_RULES.
MASS_CHANGE_SHARE = 0.30
MASS_CHANGE_MIN_RULES = 10


def rules_wanted(desired: DesiredNumber) -> bool:
    """Whether planning `desired` needs the live rules of its number.

    Managed rules obviously; a managed filter_mode too, because what a mode
    change does to callers (and the whitelist-without-allow valve) depends on
    the rules that pin them; and `expect:` tests, which live rules can decide.
    """
    return (
        desired.rules is not None or desired.filter_mode is not UNSET or desired.expect is not None
    )


def build_plan(
    desired: DesiredState, live: LiveState, *, targets: Collection[str] | None = None
) -> Plan:
    """Compare desired and live state and return a checked plan.

    Raises PlanError, naming every problem at once, when a number is not owned
    by the organisation, its agent differs, or its final routing is incoherent.
    """
    with gc_paused():  # planning creates no cycles; see gcpause.py
        return _build_plan(desired, live, targets)


def _build_plan(desired: DesiredState, live: LiveState, targets: Collection[str] | None) -> Plan:
    selected = _select(desired, targets)
    problems: list[str] = []
    changes: list[NumberChange] = []
    steps: list[Step] = []
    warnings: list[PlanWarning] = []
    basis: dict[str, NumberBasis] = {}
    for number in sorted(selected):
        want = selected[number]
        have = live.numbers.get(number)
        where = f"{want.location}: " if want.location else ""
        if have is None:
            problems.append(
                f"{where}{number} is not a number of this organisation "
                "(inkbox-sync never provisions or releases numbers)"
            )
            continue
        problem = _check_owner_and_routing(want, have)
        if problem:
            problems.append(f"{where}{problem}")
            continue
        warnings.extend(_expectation_warnings(want, have))
        result = _plan_number(want, have)
        if result is None:
            continue
        change, number_steps, number_warnings = result
        changes.append(change)
        steps.extend(number_steps)
        warnings.extend(number_warnings)
        basis[number] = NumberBasis(have.id, fingerprint(have), have.rules is not None)
    if problems:
        raise PlanError("cannot plan:\n  " + "\n  ".join(problems))
    safety = check_steps(live, steps)
    return Plan(
        changes=tuple(changes),
        steps=tuple(steps),
        warnings=tuple(warnings),
        safety=safety,
        basis=basis,
        numbers_checked=len(selected),
    )


def _select(desired: DesiredState, targets: Collection[str] | None) -> Mapping[str, DesiredNumber]:
    if not targets:
        return desired.numbers
    unknown = sorted(t for t in targets if t not in desired.numbers)
    if unknown:
        raise PlanError(f"--target names numbers no manifest declares: {', '.join(unknown)}")
    return {t: desired.numbers[t] for t in targets}


def _check_owner_and_routing(want: DesiredNumber, have: LiveNumber) -> str | None:
    if want.agent is not None and want.agent != have.agent_handle:
        owner = f"agent '{have.agent_handle}'" if have.agent_handle else "no agent"
        return f"{want.number} belongs to {owner} live, but the manifest says agent '{want.agent}'"
    if want.rules is not None and have.rules is None:
        return f"{want.number}: live rules were not read (internal error)"
    final = _final_fields(want, have)
    action = final["incoming_call_action"]
    if action == "auto_accept" and not final["client_websocket_url"]:
        return f"{want.number}: auto_accept needs a client_websocket_url (none in manifest or live)"
    if action == "webhook" and not final["incoming_call_webhook_url"]:
        return (
            f"{want.number}: webhook needs an incoming_call_webhook_url (none in manifest or live)"
        )
    return None


def _live_fields(have: LiveNumber) -> dict[str, str | None]:
    return {
        "incoming_call_action": have.incoming_call_action,
        "client_websocket_url": have.client_websocket_url,
        "incoming_call_webhook_url": have.incoming_call_webhook_url,
    }


def _final_fields(want: DesiredNumber, have: LiveNumber) -> dict[str, str | None]:
    final = _live_fields(have)
    for name in ROUTING_FIELDS:
        value = getattr(want, name)
        if value is not UNSET:
            final[name] = value
    return final


@dataclass(slots=True)
class _RuleDiff:
    target: str
    before: LiveRule | None
    after: DesiredRule | None


def _plan_number(
    want: DesiredNumber, have: LiveNumber
) -> tuple[NumberChange, list[Step], list[PlanWarning]] | None:
    live_fields = _live_fields(have)
    final_fields = _final_fields(want, have)
    field_changes = [
        FieldChange(name, live_fields[name], final_fields[name])
        for name in ROUTING_FIELDS
        if final_fields[name] != live_fields[name]
    ]
    m0: FilterMode = have.filter_mode
    m1: FilterMode = m0 if want.filter_mode is UNSET else want.filter_mode
    if m1 != m0:
        field_changes.append(FieldChange("filter_mode", m0, m1))

    diffs = _rule_diffs(want, have)
    if not field_changes and not diffs:
        return None

    steps: list[Step] = []
    routing = {c.field: c.after for c in field_changes if c.field != "filter_mode"}
    if routing:
        steps.append(Step(have.number, have.id, "update_number", 0, fields=routing))
    flip = m1 != m0
    early: list[Step] = []
    late: list[Step] = []
    for diff in diffs:
        if not flip or (diff.after is not None and diff.after.status == "active"):
            early.extend(_rule_steps(have, diff, m0, 0))
        else:
            late.extend(_rule_steps(have, diff, m1, 2))
    steps.extend(early)
    if flip:
        steps.append(Step(have.number, have.id, "update_number", 1, fields={"filter_mode": m1}))
    steps.extend(late)

    effects, unchanged = _effects(want, have, m0, m1, diffs)
    change = NumberChange(
        number=have.number,
        number_id=have.id,
        fields=tuple(field_changes),
        rules=tuple(_rule_change(d) for d in diffs),
        effects=effects,
        unchanged_callers=unchanged,
        agent=have.agent_handle,
        location=str(want.location) if want.location else None,
    )
    return change, steps, _warnings(want, have, m0, m1, diffs)


def _rule_diffs(want: DesiredNumber, have: LiveNumber) -> list[_RuleDiff]:
    """Targets whose rule differs, sorted by target. Linear in rules."""
    if want.rules is None:
        return []
    live_rules = have.rules or {}
    diffs: list[_RuleDiff] = []
    for target, desired in want.rules.items():
        before = live_rules.get(target)
        if before is None or not same_rule(before, desired):
            diffs.append(_RuleDiff(target, before, desired))
    if want.unmanaged_rules == "delete":
        diffs.extend(_RuleDiff(t, r, None) for t, r in live_rules.items() if t not in want.rules)
    diffs.sort(key=lambda d: d.target)
    return diffs


def _rule_steps(have: LiveNumber, diff: _RuleDiff, mode: FilterMode, phase: Phase) -> list[Step]:
    """The writes that take one target from its live rule to its final rule,
    changing its verdict at most once under `mode` (the mode in force then)."""
    n, nid, t = have.number, have.id, diff.target
    before, after = diff.before, diff.after
    if after is None:
        assert before is not None
        return [Step(n, nid, "delete_rule", phase, target=t, rule_id=before.id)]
    if before is None:
        if after.status == "active":
            return [Step(n, nid, "create_rule", phase, target=t, action=after.action)]
        # Created rules are always active: create it harmless, then pause it and
        # give it its action in the same PATCH, so no caller ever notices.
        harmless = harmless_action(mode)
        action = None if after.action == harmless else after.action
        return [
            Step(n, nid, "create_rule", phase, target=t, action=harmless),
            Step(n, nid, "update_rule", phase, target=t, action=action, status="paused"),
        ]
    action = after.action if after.action != before.action else None
    status = after.status if after.status != before.status else None
    return [
        Step(
            n, nid, "update_rule", phase, target=t, rule_id=before.id, action=action, status=status
        )
    ]


def _rule_change(diff: _RuleDiff) -> RuleChange:
    before = diff.before.rule if diff.before else None
    kind: ChangeKind = "delete" if diff.after is None else "create" if before is None else "update"
    desired = diff.after
    return RuleChange(
        kind=kind,
        target=diff.target,
        before=before,
        after=desired.rule if desired else None,
        rule_id=diff.before.id if diff.before else None,
        origin=desired.origin if desired else None,
        note=desired.note if desired else None,
    )


def _effects(
    want: DesiredNumber, have: LiveNumber, m0: FilterMode, m1: FilterMode, diffs: list[_RuleDiff]
) -> tuple[tuple[CallerEffect, ...], int]:
    """Verdict changes of named callers (targets live or desired), then everyone else."""
    changed: list[CallerEffect] = []
    live_rules = have.rules or {}
    desired_rules = want.rules or {}
    final: dict[str, RuleLike | None] = {**live_rules, **desired_rules}
    final.update((d.target, d.after) for d in diffs)
    for caller, final_rule in final.items():
        before = verdict(m0, live_rules.get(caller))
        after = verdict(m1, final_rule)
        if before != after:
            changed.append(CallerEffect(caller, before, after))
    unchanged = len(final) - len(changed)
    changed.sort(key=lambda e: e.caller or "")
    changed.append(CallerEffect(None, verdict(m0, None), verdict(m1, None)))
    return tuple(changed), unchanged


def _warnings(
    want: DesiredNumber, have: LiveNumber, m0: FilterMode, m1: FilterMode, diffs: list[_RuleDiff]
) -> list[PlanWarning]:
    found: list[PlanWarning] = []
    n = have.number
    if m1 != m0:
        found.append(
            PlanWarning(
                n,
                "filter_mode_change",
                f"{n}: filter_mode changes {m0} -> {m1}; every unnamed caller is now "
                f"{verdict(m1, None)}",
            )
        )
    live_rules = have.rules or {}
    touched = sum(1 for d in diffs if d.before is not None)
    if len(live_rules) >= MASS_CHANGE_MIN_RULES and touched > MASS_CHANGE_SHARE * len(live_rules):
        found.append(
            PlanWarning(
                n,
                "mass_rule_change",
                f"{n}: changes or deletes {touched} of {len(live_rules)} live rules "
                f"(more than {MASS_CHANGE_SHARE:.0%})",
            )
        )
    if m1 == "whitelist" and have.rules is not None:
        final_allows = _active_allows_after(live_rules, diffs)
        live_allows = sum(
            1 for r in live_rules.values() if r.status == "active" and r.action == "allow"
        )
        if final_allows == 0 and (m0 != m1 or live_allows > 0):
            found.append(
                PlanWarning(
                    n,
                    "whitelist_without_allow",
                    f"{n}: whitelist with no active allow rule: every caller will be blocked",
                )
            )
    return found


def _active_allows_after(live_rules: Mapping[str, LiveRule], diffs: list[_RuleDiff]) -> int:
    """Active allow rules once the plan is applied: live ones the diffs leave, plus new ones."""
    final: dict[str, RuleLike | None] = dict(live_rules)
    final.update((d.target, d.after) for d in diffs)
    return sum(1 for r in final.values() if r is not None and same_rule(r, _ACTIVE_ALLOW))


def _expectation_warnings(want: DesiredNumber, have: LiveNumber) -> list[PlanWarning]:
    """`expect:` policy tests, judged with what only live state can tell: the mode
    when the manifest leaves it alone, and live rules that survive the plan."""
    if want.expect is None:
        return []
    live_rules = have.rules or {}
    mode: FilterMode = have.filter_mode if want.filter_mode is UNSET else want.filter_mode
    if want.rules is None:
        kept = {t: r.rule for t, r in live_rules.items()}
    elif want.unmanaged_rules == "keep":
        kept = {t: r.rule for t, r in live_rules.items() if t not in want.rules}
    else:
        kept = {}
    where = f"{want.expect.location}: " if want.expect.location else ""
    broken = check_expectations(want, mode, kept if have.rules is not None else None)
    found = [
        PlanWarning(have.number, "expectation_broken", f"{where}expectation broken: {b.message}")
        for b in broken
    ]
    broken_callers = {b.caller for b in broken}
    # Live may break an expectation the plan will repair: worth a note, not a refusal.
    expected = [(c, "delivered") for c in want.expect.delivered]
    expected += [(c, "blocked") for c in want.expect.blocked]
    for caller, wanted in expected:
        now = verdict(have.filter_mode, live_rules.get(caller)) if have.rules is not None else None
        if now is not None and now != wanted and caller not in broken_callers:
            found.append(
                PlanWarning(
                    have.number,
                    "expectation_broken",
                    f"{where}expectation not met live yet: {caller} should be {wanted} on "
                    f"{have.number}, live it is {now} (this plan changes that)",
                    needs_force=False,
                )
            )
    return found


def fingerprint(have: LiveNumber) -> str:
    """A digest of everything a plan for this number depends on, for stale-plan checks."""
    digest = hashlib.sha256()
    digest.update(
        "|".join(
            [
                have.id,
                have.filter_mode,
                have.incoming_call_action,
                have.client_websocket_url or "",
                have.incoming_call_webhook_url or "",
                have.agent_handle or "",
            ]
        ).encode()
    )
    if have.rules is not None:
        for target in sorted(have.rules):
            rule = have.rules[target]
            digest.update(f"\n{target}|{rule.id}|{rule.action}|{rule.status}".encode())
    return digest.hexdigest()[:32]
