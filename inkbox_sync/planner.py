"""The planner: desired + live -> Plan. Pure: no I/O, linear in rules.

Step order is what makes a plan safe (design section 3). Per holder (a number,
or an agent identity), per side (inbound, outbound):

* No mode change: every (target, side) is independent. `moves.template` finds
  the fewest writes that take a target's rows to its desired cells, each
  (target, side) verdict changing at most once: a direction update to shrink
  or grow a row, `apply_to` to edit one side of a `both` row, delete + create
  only where nothing else does. A rule that must end staged is, where status
  can be written, created with the *harmless* action (the side's default, so
  nobody notices it) and then paused and given its action in one PATCH; where
  it cannot, it is an active rule with the harmless action under the final
  mode, and a live paused row satisfies it.
* A mode change is one write (phase 1) that sets every side that changes (a
  shared mode moves both sides at once; two directional flips are set by the
  same write). Writes of targets whose final rule on a flipping side is active
  go before it (phase 0): an active rule's verdict does not depend on the mode,
  so the party is pinned before the default moves. Writes whose sides end
  paused, staged or empty go after it (phase 2). The template search places
  each write of a target before or after the flip so that both of its sides
  stay within the property (for instance: flip, then re-aim a staged rule's
  harmless action).

The checker in `safety.py` proves every plan independently of this reasoning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from inkbox_sync.errors import PlanError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.expectations import check_expectations
from inkbox_sync.manifest.routing import final_routing, routing_problem
from inkbox_sync.model import (
    ROUTING_FIELDS,
    SIDES,
    UNSET,
    Capabilities,
    DesiredNumber,
    DesiredPolicy,
    DesiredRule,
    DesiredRules,
    DesiredState,
    Direction,
    FilterMode,
    LiveAgent,
    LiveNumber,
    LiveRule,
    LiveRules,
    LiveState,
    Rule,
    RuleLike,
    Side,
    Verdict,
    by_side,
    desired_mode,
    known_mode,
    on_side,
    rows_of,
    verdict,
)
from inkbox_sync.moves import CODES, Desire, Move, satisfies, template
from inkbox_sync.plan import (
    CallerEffect,
    ChangeKind,
    FieldChange,
    NumberBasis,
    NumberChange,
    Plan,
    PlanWarning,
    RuleChange,
    Step,
    StepKind,
)
from inkbox_sync.safety import check_steps

#: Safety valve: refuse to delete or change more than this share of a holder's
#: live rules without --force, once it has at least MASS_CHANGE_MIN_RULES.
MASS_CHANGE_SHARE = 0.30
MASS_CHANGE_MIN_RULES = 10

_KNOWN_CALL_ACTIONS = frozenset(
    {"auto_reject", "auto_accept", "webhook", "hosted_agent", "forward"}
)

LiveHolder = LiveNumber | LiveAgent


def rules_wanted(desired: DesiredPolicy) -> bool:
    """Whether planning `desired` needs the live rules of its holder.

    Managed rules obviously; a managed filter mode too, because what a mode
    change does to callers (and the whitelist-without-allow valve) depends on
    the rules that pin them; and `expect:` tests, which live rules can decide.
    """
    return (
        desired.rules is not None
        or any(desired_mode(desired, s) is not UNSET for s in SIDES)
        or desired.expect is not None
    )


def build_plan(
    desired: DesiredState, live: LiveState, *, targets: Collection[str] | None = None
) -> Plan:
    """Compare desired and live state and return a checked plan.

    Raises PlanError, naming every problem at once, when a number is not owned
    by the organisation, its agent differs, its final routing is incoherent, a
    managed setting has a live value this tool does not know, or the API
    cannot express what the manifest asks.
    """
    with gc_paused():  # planning creates no cycles; see gcpause.py
        return _build_plan(desired, live, targets)


@dataclass(slots=True)
class _Out:
    problems: list[str] = field(default_factory=list)
    changes: list[NumberChange] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)
    notes: list[PlanWarning] = field(default_factory=list)
    basis: dict[str, NumberBasis] = field(default_factory=dict)


def _build_plan(desired: DesiredState, live: LiveState, targets: Collection[str] | None) -> Plan:
    numbers, agents = _select(desired, targets)
    out = _Out()
    caps = live.capabilities
    holders: list[tuple[str, DesiredPolicy, LiveHolder | None]] = [
        (key, want, live.numbers.get(key)) for key, want in numbers.items()
    ]
    holders += [(key, want, live.agents.get(key)) for key, want in agents.items()]
    for key, want, have in sorted(holders, key=lambda h: h[0]):
        where = f"{want.location}: " if want.location else ""
        if have is None:
            what = "a number" if isinstance(want, DesiredNumber) else "an agent identity"
            out.problems.append(
                f"{where}{key} is not {what} of this organisation "
                "(inkbox-sync never provisions or releases numbers or identities)"
            )
            continue
        before = len(out.problems)
        routing: list[FieldChange] = []
        if isinstance(want, DesiredNumber) and isinstance(have, LiveNumber):
            routing = _routing_changes(want, have, out.problems)
        if want.rules is not None and have.rules is None:
            out.problems.append(f"{key}: live rules were not read (internal error)")
        if len(out.problems) > before:
            for index in range(before, len(out.problems)):
                out.problems[index] = where + out.problems[index]
            continue
        _plan_holder(key, want, have, caps, routing, out, where)
    if out.problems:
        raise PlanError("cannot plan:\n  " + "\n  ".join(out.problems))
    safety = check_steps(live, out.steps)
    return Plan(
        changes=tuple(out.changes),
        steps=tuple(out.steps),
        warnings=tuple(out.warnings),
        notes=tuple(out.notes),
        safety=safety,
        basis=out.basis,
        numbers_checked=len(numbers) + len(agents),
        api_version=live.api_version,
        capabilities=caps,
    )


def _select(
    desired: DesiredState, targets: Collection[str] | None
) -> tuple[Mapping[str, DesiredNumber], Mapping[str, DesiredPolicy]]:
    if not targets:
        return desired.numbers, desired.agents
    unknown = sorted(t for t in targets if t not in desired.numbers and t not in desired.agents)
    if unknown:
        raise PlanError(f"--target names numbers no manifest declares: {', '.join(unknown)}")
    numbers = {t: desired.numbers[t] for t in targets if t in desired.numbers}
    agents = {t: desired.agents[t] for t in targets if t in desired.agents}
    return numbers, agents


# -- routing (numbers only) ----------------------------------------------------------


def _live_fields(have: LiveNumber) -> dict[str, str | None]:
    return {
        "incoming_call_action": have.incoming_call_action,
        "client_websocket_url": have.client_websocket_url,
        "incoming_call_webhook_url": have.incoming_call_webhook_url,
        "forwarding_phone_number": have.forwarding_phone_number,
        "forwarding_sip_uri": have.forwarding_sip_uri,
    }


def _routing_changes(
    want: DesiredNumber, have: LiveNumber, problems: list[str]
) -> list[FieldChange]:
    """The routing fields that change, or problems (owner, coherence, unknown values)."""
    n = want.number
    if want.agent is not None and want.agent != have.agent_handle:
        owner = f"agent '{have.agent_handle}'" if have.agent_handle else "no agent"
        problems.append(f"{n} belongs to {owner} live, but the manifest says agent '{want.agent}'")
        return []
    live = _live_fields(have)
    if (
        want.incoming_call_action is not UNSET
        and live["incoming_call_action"] not in _KNOWN_CALL_ACTIONS
    ):
        problems.append(
            f"{n}: live incoming_call_action is {live['incoming_call_action']!r}, which "
            "inkbox-sync does not know; it cannot plan a change from it safely"
        )
        return []
    # The manifest's rules of routing coherence, judged on what the plan would leave
    # (a forwarding target the manifest sets replaces the other one).
    problem = routing_problem(want, have)
    if problem is not None:
        problems.append(f"{n}: {problem.message}")
    final = final_routing(want, have)
    return [FieldChange(f, live[f], final[f]) for f in ROUTING_FIELDS if final[f] != live[f]]


def _forwarding_type(phone: str | None, sip: str | None) -> str | None:
    return "phone" if phone else "sip" if sip else None


def _routing_patch(changes: list[FieldChange], have: LiveNumber) -> dict[str, str | None]:
    """The one PATCH of the number's routing, with the derived forwarding_target_type."""
    patch = {c.field: c.after for c in changes}
    if "forwarding_phone_number" in patch or "forwarding_sip_uri" in patch:
        phone = patch.get("forwarding_phone_number", have.forwarding_phone_number)
        sip = patch.get("forwarding_sip_uri", have.forwarding_sip_uri)
        derived = _forwarding_type(phone, sip)
        if derived != _forwarding_type(have.forwarding_phone_number, have.forwarding_sip_uri):
            patch["forwarding_target_type"] = derived
    return patch


# -- policy (numbers and agents) -------------------------------------------------------


@dataclass(slots=True)
class _Target:
    """One target whose cells must change, and what it changes to, per side."""

    target: str
    before: LiveRules | None
    after: DesiredRules | None
    desires: tuple[Desire, Desire]
    moves: tuple[Move, ...]
    #: The live rule covering each side.
    live: tuple[LiveRule | None, LiveRule | None]
    #: The rule each side ends with as the manifest sees it (staged: paused;
    #: kept: live's), for effects and valves.
    final: tuple[RuleLike | None, RuleLike | None]
    #: Which sides are not yet what the manifest asks.
    differs: tuple[bool, bool]
    #: Live and desired are single `both` rules (or none): both sides alike.
    both: bool = False


@dataclass(frozen=True, slots=True)
class _Modes:
    before: tuple[FilterMode, FilterMode]
    after: tuple[FilterMode, FilterMode]

    @property
    def flips(self) -> bool:
        return self.before != self.after


def _modes(
    key: str, want: DesiredPolicy, have: LiveHolder, caps: Capabilities, problems: list[str]
) -> _Modes | None:
    """Modes before/after per side, or None (with problems) when they cannot be planned."""
    live = (have.inbound_filter_mode, have.outbound_filter_mode)
    before: list[FilterMode] = []
    after: list[FilterMode] = []
    for side, value in zip(SIDES, live, strict=True):
        wanted = desired_mode(want, side)
        known = known_mode(value)
        if known is None:
            if wanted is not UNSET or want.rules is not None:
                what = "it is managed" if wanted is not UNSET else "its rules are managed"
                problems.append(
                    f"{key}: live {side} filter mode is {value!r}, which inkbox-sync does not "
                    f"know, and {what}: what the plan does to callers cannot be proved"
                )
            continue
        before.append(known)
        after.append(known if wanted is UNSET else wanted)
    if len(before) < 2:
        return None
    if not caps.separate_modes and after[0] != after[1]:
        problems.append(
            f"{key}: this API has one filter mode for both sides; the manifest asks "
            f"inbound {after[0]} and outbound {after[1]}"
        )
        return None
    return _Modes((before[0], before[1]), (after[0], after[1]))


def _plan_holder(
    key: str,
    want: DesiredPolicy,
    have: LiveHolder,
    caps: Capabilities,
    routing: list[FieldChange],
    out: _Out,
    where: str,
) -> None:
    if not rules_wanted(want):
        # Policy not managed: even an unknown live mode is carried as it is.
        known = [known_mode(have.inbound_filter_mode), known_mode(have.outbound_filter_mode)]
        modes = None
        if known[0] is not None and known[1] is not None:
            modes = _Modes((known[0], known[1]), (known[0], known[1]))
    else:
        before = len(out.problems)
        modes = _modes(key, want, have, caps, out.problems)
        if len(out.problems) > before:
            for index in range(before, len(out.problems)):
                out.problems[index] = where + out.problems[index]
            return
    _expectation_findings(key, want, have, modes, out)
    targets: list[_Target] = []
    if modes is not None and want.rules is not None and have.rules is not None:
        found = _rule_targets(key, want, have, modes, caps)
        if isinstance(found, str):
            out.problems.append(where + found)
            return
        targets = found
    mode_changes = _mode_changes(modes) if modes is not None else []
    if not routing and not mode_changes and not targets:
        return

    steps: list[Step] = []
    address = have.policy_address
    if routing:
        assert isinstance(have, LiveNumber)
        steps.append(Step(key, have.id, "update_routing", 0, fields=_routing_patch(routing, have)))
    early: list[Step] = []
    late: list[Step] = []
    for item in targets:
        for move in item.moves:
            step = _step(key, address, item.target, move, item.before)
            (early if move.phase == 0 else late).append(step)
    steps.extend(early)
    if modes is not None and modes.flips:
        steps.append(Step(key, address, "set_modes", 1, modes=_mode_write(modes, caps)))
    steps.extend(late)

    effects, unchanged = _effects(want, have, modes, targets)
    number_id = have.id if isinstance(have, LiveNumber) else ""
    out.changes.append(
        NumberChange(
            number=key,
            number_id=number_id,
            fields=tuple(routing + mode_changes),
            rules=_all_rule_changes(targets, modes, caps),
            effects=effects,
            unchanged_callers=unchanged,
            agent=have.agent_handle if isinstance(have, LiveNumber) else have.handle,
            location=str(want.location) if want.location else None,
        )
    )
    out.steps.extend(steps)
    if modes is not None:
        out.warnings.extend(_warnings(key, have, modes, targets))
    out.basis[key] = NumberBasis(number_id or have.id, fingerprint(have), have.rules is not None)


def _mode_changes(modes: _Modes) -> list[FieldChange]:
    (b_in, b_out), (a_in, a_out) = modes.before, modes.after
    if b_in == b_out and a_in == a_out:
        return [FieldChange("filter_mode", b_in, a_in)] if b_in != a_in else []
    return [
        FieldChange(f"{side}_filter_mode", b, a)
        for side, b, a in zip(SIDES, modes.before, modes.after, strict=True)
        if b != a
    ]


def _mode_write(modes: _Modes, caps: Capabilities) -> dict[Side, FilterMode]:
    """The sides the one mode write sets: both where modes are shared (or both move)."""
    a_in, a_out = modes.after
    if not caps.separate_modes:
        return {"inbound": a_in, "outbound": a_out}
    return {side: a for side, b, a in zip(SIDES, modes.before, modes.after, strict=True) if b != a}


def _code(rule: RuleLike | None) -> str | None:
    return None if rule is None else CODES[rule.action][rule.status]


def _rule_targets(
    key: str, want: DesiredPolicy, have: LiveHolder, modes: _Modes, caps: Capabilities
) -> list[_Target] | str:
    """Targets whose cells differ, sorted by target, with their writes; or a problem."""
    assert want.rules is not None
    live_rules = have.rules or {}
    keep = want.unmanaged_rules == "keep"
    unnamed: Desire = "K" if keep else "N"
    m_in, m_out = modes.after
    situation_tail = (*modes.before, *modes.after, caps)
    memo: dict[tuple[object, ...], tuple[Move, ...] | None] = {}
    found: list[_Target] = []
    simple = caps.writable_status  # a cell equal to the desired rule is all it takes

    def consider(target: str, before: LiveRules | None, after: DesiredRules | None) -> str | None:
        if (after is None or (type(after) is DesiredRule and after.direction == "both")) and (
            before is None or (type(before) is LiveRule and before.direction == "both")
        ):
            return consider_both(target, before, after)
        if after is None:
            d_in = d_out = unnamed
        elif type(after) is DesiredRule:
            code: Desire = CODES[after.action][after.status]  # type: ignore[assignment]
            d_in = code if after.direction != "outbound" else unnamed
            d_out = code if after.direction != "inbound" else unnamed
        else:
            pair_in, pair_out = after  # type: ignore[misc]
            d_in = CODES[pair_in.action][pair_in.status]  # type: ignore[assignment]
            d_out = CODES[pair_out.action][pair_out.status]  # type: ignore[assignment]
        if not caps.directional_rules and d_in != d_out:
            return (
                f"{key}: this API has no one-way rules; {target} would need different "
                "rules inbound and outbound"
            )
        live_in, live_out = by_side(before)
        c_in, c_out = _code(live_in), _code(live_out)
        differs = (
            not satisfies(c_in, d_in, m_in, caps, c_in),
            not satisfies(c_out, d_out, m_out, caps, c_out),
        )
        if not (differs[0] or differs[1]):
            return None
        if before is None:
            layout: tuple[tuple[str, str | None], ...] = ()
        elif isinstance(before, tuple):  # (inbound, outbound): already in sorted order
            layout = ((before[0].direction, c_in), (before[1].direction, c_out))
        else:
            layout = ((before.direction, c_in if c_in is not None else c_out),)
        memo_key = (layout, d_in, d_out)
        moves = memo.get(memo_key)
        if moves is None and memo_key not in memo:
            moves = memo[memo_key] = template((layout, d_in, d_out, *situation_tail))  # type: ignore[arg-type]
        if moves is None:
            return f"{key}: no safe way to change the rules of {target} with this API"
        in_after, out_after = by_side(after)
        final = (_final(d_in, live_in, in_after), _final(d_out, live_out, out_after))
        found.append(
            _Target(
                target, before, after, (d_in, d_out), moves, (live_in, live_out), final, differs
            )
        )
        return None

    def consider_both(
        target: str, before: LiveRule | None, after: DesiredRule | None
    ) -> str | None:
        """`consider` where each side has the same rule before and after (the common case)."""
        desire: Desire = unnamed if after is None else CODES[after.action][after.status]  # type: ignore[assignment]
        code = None if before is None else CODES[before.action][before.status]
        if code == desire and (simple or desire in "AB"):
            return None  # the common case: the same rule (or none, "N" vs None differ)
        differs = (
            not satisfies(code, desire, m_in, caps, code),
            not satisfies(code, desire, m_out, caps, code),
        )
        if not (differs[0] or differs[1]):
            return None
        memo_key = (code, desire)
        moves = memo.get(memo_key)
        if moves is None and memo_key not in memo:
            layout = () if code is None else (("both", code),)
            moves = memo[memo_key] = template((layout, desire, desire, *situation_tail))  # type: ignore[arg-type]
        if moves is None:
            return f"{key}: no safe way to change the rules of {target} with this API"
        end = _final(desire, before, after)
        found.append(
            _Target(
                target,
                before,
                after,
                (desire, desire),
                moves,
                (before, before),
                (end, end),
                differs,
                True,
            )
        )
        return None

    for target, after in want.rules.items():
        before = live_rules.get(target)
        if (
            type(before) is LiveRule
            and type(after) is DesiredRule
            and before.direction == after.direction
            and before.action == after.action
            and before.status == after.status
            and (simple or after.status == "active")
        ):
            continue  # the common case, kept cheap: 100,000s of unchanged rules
        problem = consider(target, before, after)
        if problem is not None:
            return problem
    if not keep:
        for target, before in live_rules.items():
            if target not in want.rules:
                problem = consider(target, before, None)
                if problem is not None:
                    return problem
    found.sort(key=lambda t: t.target)
    return found


def _step(key: str, address: str, target: str, move: Move, before: LiveRules | None) -> Step:
    """The step for one move (positional: 100,000s of them)."""
    if move.kind == "create":
        direction = None if move.direction == "both" else move.direction
        return Step(
            key,
            address,
            "create_rule",
            move.phase,
            target,
            None,
            move.action,
            None,
            None,
            None,
            direction,
        )
    rule_id = None
    if type(before) is LiveRule:
        rule_id = before.id if move.row == before.direction else None
    elif move.row is not None:  # the live row of that coverage, as read
        for row in rows_of(before):
            if row.direction == move.row:
                rule_id = row.id
    kind: StepKind = "update_rule" if move.kind == "update" else "delete_rule"
    one_way = move.covers != "both"  # a `both` row needs no side or coverage named
    return Step(
        key,
        address,
        kind,
        move.phase,
        target,
        rule_id,
        move.action,
        move.status,
        None,
        None,
        move.direction,
        move.side if one_way else None,
        move.covers if one_way else None,
        move.apply_to,
    )


def _final(desire: Desire, live: RuleLike | None, desired: RuleLike | None) -> RuleLike | None:
    """A side's final rule as the manifest sees it: none, live's (kept), or the manifest's."""
    if desire == "N":
        return None
    return live if desire == "K" else desired


def _all_rule_changes(
    targets: list[_Target], modes: _Modes | None, caps: Capabilities
) -> tuple[RuleChange, ...]:
    alike = modes is None or modes.after[0] == modes.after[1]
    out: list[RuleChange] = []
    for item in targets:
        if item.both and alike:  # the common case, inline: 100,000s of targets
            out.append(_rule_change(item.target, "both", item.before, item.final[0]))  # type: ignore[arg-type]
        else:
            out.extend(_rule_changes(item))
    return tuple(out)


def _rule_changes(item: _Target) -> list[RuleChange]:
    """What changes for the target, per side; one `both` entry when the sides agree."""
    (in_differs, out_differs), (in_live, out_live), (in_final, out_final) = (
        item.differs,
        item.live,
        item.final,
    )
    if in_differs and out_differs and _same(in_live, out_live) and _same(in_final, out_final):
        return [_rule_change(item.target, "both", in_live, in_final)]
    out = []
    if in_differs:
        out.append(_rule_change(item.target, "inbound", in_live, in_final))
    if out_differs:
        out.append(_rule_change(item.target, "outbound", out_live, out_final))
    return out


def _same(a: RuleLike | None, b: RuleLike | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.action == b.action and a.status == b.status


def _rule_change(
    target: str, direction: Direction, before: LiveRule | None, after: RuleLike | None
) -> RuleChange:
    kind: ChangeKind = "delete" if after is None else "create" if before is None else "update"
    desired = after if type(after) is DesiredRule else None
    return RuleChange(
        kind,
        target,
        None if before is None else Rule(before.action, before.status),
        None if after is None else Rule(after.action, after.status),
        None if before is None else before.id,
        None if desired is None else desired.origin,
        None if desired is None else desired.note,
        direction,
    )


def _effects(
    want: DesiredPolicy, have: LiveHolder, modes: _Modes | None, targets: list[_Target]
) -> tuple[tuple[CallerEffect, ...], int]:
    """Verdict changes of named parties (targets live or desired), then everyone else."""
    live_rules = have.rules or {}
    desired_rules = want.rules or {}
    named = set(live_rules).union(desired_rules)
    if modes is None:
        return (), len(named)
    changed: list[CallerEffect] = []
    moved = {item.target: item for item in targets}
    candidates = named if modes.flips else moved  # without a flip only written targets move
    alike = modes.before[0] == modes.before[1] and modes.after[0] == modes.after[1]
    m0, m1 = modes.before[0], modes.after[0]
    moving = 0
    for caller in candidates:
        item = moved.get(caller)
        live_entry = live_rules.get(caller)
        if alike:  # one verdict pair per party when one rule covers both sides
            before: RuleLike | None
            after: RuleLike | None
            if item is not None:
                same = item.both
                before, after = item.before, item.final[0]  # type: ignore[assignment]
            else:
                same = live_entry is None or (
                    type(live_entry) is LiveRule and live_entry.direction == "both"
                )
                before = after = live_entry  # type: ignore[assignment]
            if same:
                v0, v1 = verdict(m0, before), verdict(m1, after)
                if v0 != v1:
                    changed.append(CallerEffect(caller, v0, v1))
                    moving += 1
                continue
        if item is not None:
            (in_before, out_before), (in_after, out_after) = item.live, item.final
        else:
            in_before, out_before = by_side(live_entry)
            in_after, out_after = in_before, out_before
        b_in, a_in = verdict(modes.before[0], in_before), verdict(modes.after[0], in_after)
        b_out, a_out = verdict(modes.before[1], out_before), verdict(modes.after[1], out_after)
        if b_in == b_out and a_in == a_out:  # the sides agree: one entry, if any
            if b_in != a_in:
                changed.append(CallerEffect(caller, b_in, a_in))
                moving += 1
            continue
        if b_in != a_in:
            changed.append(CallerEffect(caller, b_in, a_in, "inbound"))
        if b_out != a_out:
            changed.append(CallerEffect(caller, b_out, a_out, "outbound"))
        moving += b_in != a_in or b_out != a_out
    if all(e.side == "both" for e in changed):
        changed.sort(key=_by_caller)
    else:
        changed.sort(key=lambda e: (e.caller or "", e.side))
    everyone = [
        (verdict(b, None), verdict(a, None)) for b, a in zip(modes.before, modes.after, strict=True)
    ]
    changed.extend(_side_effects(None, everyone, always=True))
    return tuple(changed), len(named) - moving


def _by_caller(effect: CallerEffect) -> str:
    return effect.caller or ""


def _side_effects(
    caller: str | None, verdicts: list[tuple[Verdict, Verdict]], *, always: bool = False
) -> list[CallerEffect]:
    """One `both` entry when the sides agree, else an entry per side that moves."""
    (b_in, a_in), (b_out, a_out) = verdicts
    if b_in == b_out and a_in == a_out:
        return [CallerEffect(caller, b_in, a_in)] if always or b_in != a_in else []
    return [
        CallerEffect(caller, b, a, side)
        for side, (b, a) in zip(SIDES, verdicts, strict=True)
        if always or b != a
    ]


def _warnings(
    key: str, have: LiveHolder, modes: _Modes, targets: list[_Target]
) -> list[PlanWarning]:
    found: list[PlanWarning] = []
    for change in _mode_changes(modes):
        assert change.after is not None
        after: FilterMode = change.after  # type: ignore[assignment]
        who = (
            "every unnamed caller"
            if change.field != "outbound_filter_mode"
            else "every unnamed party"
        )
        found.append(
            PlanWarning(
                key,
                "filter_mode_change",
                f"{key}: {change.field} changes {change.before} -> {after}; {who} is now "
                f"{_word(change.field, verdict(after, None))}",
            )
        )
    live_rules = have.rules or {}
    touched = sum(1 for t in targets if t.before is not None)
    if len(live_rules) >= MASS_CHANGE_MIN_RULES and touched > MASS_CHANGE_SHARE * len(live_rules):
        found.append(
            PlanWarning(
                key,
                "mass_rule_change",
                f"{key}: changes or deletes {touched} of {len(live_rules)} live rules "
                f"(more than {MASS_CHANGE_SHARE:.0%})",
            )
        )
    if have.rules is None:
        return found
    moved = {t.target: t for t in targets}
    empty: list[Side] = []
    for index, side in enumerate(SIDES):
        if modes.after[index] != "whitelist":
            continue
        finals = (t.final[index] for t in targets)
        kept = (on_side(e, side) for t, e in live_rules.items() if t not in moved)
        if any(_is_allow(rule) for rule in (*finals, *kept)):
            continue
        if modes.before[index] != "whitelist" or any(
            _is_allow(on_side(e, side)) for e in live_rules.values()
        ):
            empty.append(side)
    alike = modes.before[0] == modes.before[1] and modes.after[0] == modes.after[1]
    merged = alike and len(empty) == 2
    if merged:
        empty = ["inbound"]  # one warning: the sides move as one policy
    for side in empty:
        scope = "" if merged else f" {side}"
        who = "caller" if side == "inbound" else "party"
        found.append(
            PlanWarning(
                key,
                "whitelist_without_allow",
                f"{key}: whitelist{scope} with no active allow rule: every {who} will be blocked",
            )
        )
    return found


def _is_allow(rule: RuleLike | None) -> bool:
    return rule is not None and rule.status == "active" and rule.action == "allow"


def _word(field: str, v: Verdict) -> str:
    if field == "outbound_filter_mode":
        return "allowed" if v == "delivered" else "blocked"
    return v


def _expectation_findings(
    key: str, want: DesiredPolicy, have: LiveHolder, modes: _Modes | None, out: _Out
) -> None:
    """`expect:` policy tests, judged with what only live state can tell: the mode
    when the manifest leaves it alone, and live rules that survive the plan. A
    broken one is a warning (a valve); one that live breaks but the plan
    repairs is a note."""
    if want.expect is None or modes is None:
        return
    live_rules = have.rules or {}
    kept_sides: list[dict[str, RuleLike] | None] = []
    for side in SIDES:
        if have.rules is None:
            kept_sides.append(None)
            continue
        kept: dict[str, RuleLike] = {}
        for target, entry in live_rules.items():
            rule = on_side(entry, side)
            if rule is None:
                continue
            if want.rules is None or (
                want.unmanaged_rules == "keep" and on_side(want.rules.get(target), side) is None
            ):
                kept[target] = rule
        kept_sides.append(kept)
    where = f"{want.expect.location}: " if want.expect.location else ""
    broken = check_expectations(
        want,
        modes.after[0],
        kept_sides[0],
        outbound_mode=modes.after[1],
        outbound_kept=kept_sides[1],
    )
    out.warnings.extend(
        PlanWarning(key, "expectation_broken", f"{where}expectation broken: {b.message}")
        for b in broken
    )
    broken_callers = {(b.caller, b.side) for b in broken}
    # Live may break an expectation the plan will repair: worth a note, not a refusal.
    expected: list[tuple[Side, str, Verdict]] = [
        ("inbound", c, "delivered") for c in want.expect.delivered
    ]
    expected += [("inbound", c, "blocked") for c in want.expect.blocked]
    expected += [("outbound", c, "delivered") for c in want.expect.outbound_allowed]
    expected += [("outbound", c, "blocked") for c in want.expect.outbound_blocked]
    for side, caller, wanted in expected:
        if have.rules is None or (caller, side) in broken_callers:
            continue
        index = SIDES.index(side)
        now = verdict(modes.before[index], on_side(live_rules.get(caller), side))
        if now != wanted:
            shown = wanted if side == "inbound" else _word("outbound_filter_mode", wanted)
            live_word = now if side == "inbound" else _word("outbound_filter_mode", now)
            scope = "" if side == "inbound" else " outbound"
            out.notes.append(
                PlanWarning(
                    key,
                    "expectation_unmet_live",
                    f"{where}expectation not met live yet: {caller} should be {shown}{scope} on "
                    f"{key}, live it is {live_word} (this plan changes that)",
                    needs_force=False,
                )
            )


def fingerprint(have: LiveHolder) -> str:
    """A digest of everything a plan for this holder depends on, for stale-plan checks."""
    digest = hashlib.sha256()
    if isinstance(have, LiveNumber):
        head = [
            have.id,
            have.incoming_call_action,
            have.client_websocket_url or "",
            have.incoming_call_webhook_url or "",
            have.forwarding_phone_number or "",
            have.forwarding_sip_uri or "",
            have.agent_handle or "",
        ]
    else:
        head = [have.id, have.handle]
    head += [have.inbound_filter_mode, have.outbound_filter_mode]
    digest.update("|".join(head).encode())
    if have.rules is not None:
        for target in sorted(have.rules):
            for rule in rows_of(have.rules[target]):
                digest.update(
                    f"\n{target}|{rule.id}|{rule.action}|{rule.status}|{rule.direction}".encode()
                )
    return digest.hexdigest()[:32]
