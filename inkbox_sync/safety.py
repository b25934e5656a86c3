"""The transition-safety checker: independent of the planner, it proves or refutes a step list.

Property (design section 3), per holder: for every party c (each target named
before or after, plus the unnamed party) and every side s (inbound, outbound),
the verdict after each step is v0(c, s) until at most one step and v1(c, s)
from then on. Verdicts are binary, so equivalently: every (party, side)
verdict changes at most once over the whole step list.

The state is modelled per (target, side) cell, not per row: which rows cover
which cells is the server's business (it may merge two one-way rows or split a
`both` row, and neither changes a verdict). A step's effect on cells follows
from the step alone: a create fills the cells of its direction, an update
changes the cells its row `covers` (or the one side of `apply_to`, or moves
coverage to its new `direction`), a delete empties the cells it covers. Apply
refuses to write to a row whose coverage is not the step's `covers`, so the
cells the checker reasons about are the cells apply changes.

Why checking the list order is enough although apply runs steps concurrently:
a party's verdict on a side depends only on that side's mode and that party's
own cell. Apply keeps each (holder, target) chain in list order and uses the
holder's mode step (phase 1) as a barrier between phase 0 and phase 2, so every
interleaving it can produce gives each (party, side) the same verdict sequence
as the list. The checker therefore also verifies that phases are consistent
with list order; a list that violates that is refuted too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from inkbox_sync.model import (
    ROUTING_FIELDS,
    SIDES,
    SIDES_OF,
    Capabilities,
    Direction,
    FilterMode,
    LiveRule,
    LiveRules,
    LiveState,
    Rule,
    RuleLike,
    Side,
    Verdict,
    known_mode,
    verdict,
)
from inkbox_sync.plan import SafetyReport, Step, Violation

#: Fields a routing patch may carry: the managed ones, plus the
#: forwarding_target_type the planner derives from them.
PATCHABLE: Final = frozenset({*ROUTING_FIELDS, "forwarding_target_type"})


class StepNotExecutable(Exception):
    """A step the API would reject in the simulated state (e.g. create on a covered side)."""


Pair = tuple[RuleLike | None, RuleLike | None]


@dataclass(slots=True)
class HolderModel:
    """An in-memory holder: its modes per side (as live reported them), routing
    fields and rule cells, overlaid on the live rules it started from.

    Used by the checker, by property tests (does applying the steps reach the
    desired state?) and to replay what a sandbox recorded. Cells are kept per
    target as an (inbound, outbound) pair: one lookup per step.
    """

    modes: dict[Side, str]
    caps: Capabilities = field(default_factory=Capabilities)
    fields: dict[str, str | None] = field(default_factory=dict)
    live: Mapping[str, LiveRules] = field(default_factory=dict)
    #: Current cells of every target looked at or written (others are as live).
    changed: dict[str, Pair] = field(default_factory=dict)

    def pair(self, target: str) -> Pair:
        got = self.changed.get(target)
        if got is not None:
            return got
        entry = self.live.get(target)
        if entry is None:
            return (None, None)
        if isinstance(entry, tuple):
            got = entry
        else:
            direction = entry.direction
            got = (
                entry if direction != "outbound" else None,
                entry if direction != "inbound" else None,
            )
        self.changed[target] = got  # looked up once, then kept like a changed one
        return got

    def cell(self, target: str, side: Side) -> RuleLike | None:
        return self.pair(target)[0 if side == "inbound" else 1]

    def targets(self) -> set[str]:
        return {*self.live, *self.changed}

    def cells(self) -> dict[tuple[str, Side], Rule]:
        """Every filled cell, as plain rules (for comparisons in tests)."""
        out: dict[tuple[str, Side], Rule] = {}
        for target in self.targets():
            for side, rule in zip(SIDES, self.pair(target), strict=True):
                if rule is not None:
                    out[(target, side)] = Rule(rule.action, rule.status)
        return out

    def mode(self, side: Side) -> FilterMode:
        mode = known_mode(self.modes[side])
        if mode is None:
            raise StepNotExecutable(f"the {side} filter mode {self.modes[side]!r} is not known")
        return mode

    def verdict_of(self, caller: str | None, side: Side) -> Verdict:
        return verdict(self.mode(side), None if caller is None else self.cell(caller, side))

    def apply(self, step: Step) -> tuple[Side, ...]:
        """Apply one step the way the API would, or raise StepNotExecutable.
        Returns the sides whose verdicts the step may change."""
        kind = step.kind
        if kind == "update_routing":
            unknown = set(step.fields or {}) - PATCHABLE
            if unknown:
                raise StepNotExecutable(f"not a routing field: {', '.join(sorted(unknown))}")
            self.fields.update(step.fields or {})
            return ()
        if kind == "set_modes":
            return self._set_modes(step)
        target = step.target
        if target is None:
            raise StepNotExecutable(f"{kind} without a target")
        coverage = step.coverage
        if coverage != "both" and not self.caps.directional_rules:
            raise StepNotExecutable(f"{kind} {target}: this API has no one-way rules")
        old = self.pair(target)
        wanted = (coverage != "outbound", coverage != "inbound")
        if kind == "create_rule":
            if (wanted[0] and old[0] is not None) or (wanted[1] and old[1] is not None):
                raise StepNotExecutable(f"create {target}: a rule already covers its side")
            if step.action is None:
                raise StepNotExecutable(f"create {target} without an action")
            rule = Rule(step.action, "active")
            self.changed[target] = (rule if wanted[0] else old[0], rule if wanted[1] else old[1])
            return SIDES_OF[coverage]
        if (wanted[0] and old[0] is None) or (wanted[1] and old[1] is None):
            raise StepNotExecutable(f"{kind} {target}: no such rule")
        if kind == "delete_rule":
            self.changed[target] = (None if wanted[0] else old[0], None if wanted[1] else old[1])
            return SIDES_OF[coverage]
        return self._update(step, target, coverage, old)

    def _set_modes(self, step: Step) -> tuple[Side, ...]:
        modes = dict(step.modes or {})
        if not modes:
            raise StepNotExecutable("set_modes without a mode")
        for value in modes.values():
            if known_mode(value) is None:
                raise StepNotExecutable(f"invalid filter mode {value!r}")
        if not self.caps.separate_modes and (
            len(modes) != 2 or modes["inbound"] != modes["outbound"]
        ):
            raise StepNotExecutable("this API sets one filter mode for both sides")
        for side in SIDES:
            self.mode(side)  # a flip away from an unknown mode cannot be judged
        self.modes.update(modes)
        return tuple(s for s in SIDES if s in modes)

    def _update(self, step: Step, target: str, coverage: Direction, old: Pair) -> tuple[Side, ...]:
        if step.status is not None and not self.caps.writable_status:
            raise StepNotExecutable(f"update {target}: this API cannot write a rule's status")
        sides = SIDES_OF[coverage]
        if step.apply_to is not None:
            if not self.caps.apply_to or step.apply_to not in sides or step.action is None:
                raise StepNotExecutable(
                    f"update {target}: apply_to {step.apply_to} is not possible"
                )
            if step.direction is not None or step.status is not None:
                raise StepNotExecutable(f"update {target}: apply_to takes an action only")
            index = 0 if step.apply_to == "inbound" else 1
            cell = old[index]
            assert cell is not None
            split = Rule(step.action, cell.status)
            self.changed[target] = (split, old[1]) if index == 0 else (old[0], split)
            return (step.apply_to,)
        first = old[0] if coverage != "outbound" else old[1]
        assert first is not None
        if coverage == "both":
            second = old[1]
            assert second is not None
            if first.action != second.action or first.status != second.status:
                raise StepNotExecutable(f"update {target}: its sides are not one rule")
        if step.action is None and step.status is None and step.direction is None:
            raise StepNotExecutable(f"update {target} without a change")
        rule = Rule(step.action or first.action, step.status or first.status)
        if step.direction is None:  # the common case: same coverage, new action/status
            in_, out = coverage != "outbound", coverage != "inbound"
            self.changed[target] = (rule if in_ else old[0], rule if out else old[1])
            return sides
        new_coverage = coverage
        if step.direction is not None:
            if not self.caps.directional_rules:
                raise StepNotExecutable(f"update {target}: this API has no rule directions")
            new_coverage = step.direction
            for index, side in enumerate(SIDES):
                if side in SIDES_OF[new_coverage] and side not in sides and old[index] is not None:
                    raise StepNotExecutable(f"update {target}: another rule covers {side}")
        pair = list(old)
        for index, side in enumerate(SIDES):
            if side in SIDES_OF[new_coverage]:
                pair[index] = rule
            elif side in sides:
                pair[index] = None
        self.changed[target] = (pair[0], pair[1])
        return sides if new_coverage == coverage else SIDES


def holder_model(live: LiveState, key: str) -> HolderModel | None:
    """The model of holder `key` (a number, else an agent handle) as read live."""
    number = live.numbers.get(key)
    if number is not None:
        fields = {
            "incoming_call_action": number.incoming_call_action,
            "client_websocket_url": number.client_websocket_url,
            "incoming_call_webhook_url": number.incoming_call_webhook_url,
            "forwarding_phone_number": number.forwarding_phone_number,
            "forwarding_sip_uri": number.forwarding_sip_uri,
        }
        modes = {"inbound": number.inbound_filter_mode, "outbound": number.outbound_filter_mode}
        return HolderModel(modes, live.capabilities, fields, number.rules or {})  # type: ignore[arg-type]
    agent = live.agents.get(key)
    if agent is None:
        return None
    modes = {"inbound": agent.inbound_filter_mode, "outbound": agent.outbound_filter_mode}
    return HolderModel(modes, live.capabilities, {}, agent.rules or {})  # type: ignore[arg-type]


def _rules_read(live: LiveState, key: str) -> bool:
    holder = live.numbers.get(key) or live.agents.get(key)
    return holder is not None and holder.rules is not None


def check_steps(live: LiveState, steps: Sequence[Step]) -> SafetyReport:
    """Prove the property for `steps` applied to `live`, or name the first break."""
    by_holder: dict[str, list[tuple[int, Step]]] = {}
    for index, step in enumerate(steps):
        by_holder.setdefault(step.number, []).append((index, step))

    callers_checked = 0
    violations: list[Violation] = []
    for key, indexed in by_holder.items():
        model = holder_model(live, key)
        if model is None:
            violations.append(Violation(key, None, indexed[0][0], f"{key} is not live"))
            continue
        policy_steps = any(s.kind != "update_routing" for _, s in indexed)
        if policy_steps and not _rules_read(live, key):
            violations.append(
                Violation(
                    key, None, indexed[0][0], "rule steps on a holder whose rules were not read"
                )
            )
            continue
        found, count = _check_holder(key, model, indexed)
        callers_checked += count
        if found is not None:
            violations.append(found)

    if violations:
        first = min(violations, key=lambda v: -1 if v.step_index is None else v.step_index)
        return SafetyReport(False, callers_checked, len(steps), first)
    return SafetyReport(True, callers_checked, len(steps))


def _symmetric(model: HolderModel, indexed: Sequence[tuple[int, Step]]) -> bool:
    """Whether both sides are bound to move alike: equal modes, only `both` rows
    live, and only steps that treat both sides the same. Then the outbound
    verdict sequence of every party is its inbound one, and one side is checked."""
    if model.modes["inbound"] != model.modes["outbound"]:
        return False
    for _, step in indexed:
        if step.kind == "set_modes":
            modes = step.modes or {}
            if len(modes) != 2 or modes["inbound"] != modes["outbound"]:
                return False
        elif step.kind != "update_routing" and (
            step.coverage != "both"
            or step.apply_to is not None
            or step.direction not in (None, "both")
        ):
            return False
    return all(isinstance(e, LiveRule) and e.direction == "both" for e in model.live.values())


def _check_holder(
    key: str, model: HolderModel, indexed: Sequence[tuple[int, Step]]
) -> tuple[Violation | None, int]:
    order_problem = _phase_problem(key, indexed)
    if order_problem is not None:
        return order_problem, 0

    callers: set[str | None] = {None, *model.live}
    callers.update(s.target for _, s in indexed if s.target is not None)
    flips = any(s.kind == "set_modes" for _, s in indexed)
    rule_steps = any(s.kind not in ("update_routing", "set_modes") for _, s in indexed)
    if not (flips or rule_steps):
        return None, len(callers)
    checked: tuple[Side, ...] = ("inbound",) if _symmetric(model, indexed) else SIDES
    try:
        for side in SIDES:
            model.mode(side)
    except StepNotExecutable as exc:
        first = next(i for i, s in indexed if s.kind != "update_routing")
        return Violation(key, None, first, f"cannot judge {key}: {exc}"), len(callers)
    pair = model.pair
    modes = model.modes

    def delivered(caller: str | None, side: Side) -> bool:
        rule = None if caller is None else pair(caller)[0 if side == "inbound" else 1]
        if rule is not None and rule.status == "active":
            return rule.action == "allow"
        return modes[side] == "blacklist"

    last = {(c, s): delivered(c, s) for c in callers for s in checked}
    changes: dict[tuple[str | None, Side], int] = dict.fromkeys(last, 0)

    def moved(
        index: int, step: Step, caller: str | None, side: Side, now: bool
    ) -> Violation | None:
        """Record a verdict change; the second one for (caller, side) is the violation."""
        at = (caller, side)
        last[at] = now
        changes[at] += 1
        if changes[at] == 1:
            return None
        # Verdicts are binary, so a second change always returns to the first.
        who = "everyone else" if caller is None else caller
        word: Verdict = "delivered" if now else "blocked"
        trail = f"{word} -> {_other(word)} -> {word}"
        scope = f"{side} verdict" if len(checked) == 2 else "verdict"
        message = (
            f"{who}'s {scope} on {key} changes more than once ({trail}); "
            f"the second change is at step {index + 1}: {step.describe()}"
        )
        return Violation(key, caller, index, message)

    for index, step in indexed:
        try:
            sides = model.apply(step)
        except StepNotExecutable as exc:
            found = Violation(key, step.target, index, f"step {index + 1} cannot run: {exc}")
            return found, len(callers)
        if not sides:
            continue
        if step.kind == "set_modes":
            for caller in callers:
                for side in sides:
                    if side in checked:
                        now = delivered(caller, side)
                        if now != last[(caller, side)]:
                            problem = moved(index, step, caller, side, now)
                            if problem is not None:
                                return problem, len(callers)
            continue
        target = step.target
        cells = pair(target)  # type: ignore[arg-type]
        for side in sides:
            if side not in checked:
                continue
            rule = cells[0 if side == "inbound" else 1]
            if rule is not None and rule.status == "active":
                now = rule.action == "allow"
            else:
                now = modes[side] == "blacklist"
            if now != last[(target, side)]:
                problem = moved(index, step, target, side, now)
                if problem is not None:
                    return problem, len(callers)
    return None, len(callers)


def _other(v: Verdict) -> Verdict:
    return "blocked" if v == "delivered" else "delivered"


def _phase_problem(key: str, indexed: Sequence[tuple[int, Step]]) -> Violation | None:
    """Phases must not decrease in list order; the one mode step is phase 1 and alone there."""
    previous = 0
    flips = [(i, s) for i, s in indexed if s.kind == "set_modes"]
    if len(flips) > 1:
        return Violation(key, None, flips[1][0], "the filter modes are set more than once")
    for index, step in indexed:
        if step.phase < previous:
            return Violation(key, step.target, index, f"step {index + 1} is out of phase order")
        previous = step.phase
        if (step.phase == 1) != (step.kind == "set_modes"):
            return Violation(
                key,
                step.target,
                index,
                f"step {index + 1}: only the filter mode step is phase 1",
            )
    if not flips and any(s.phase == 2 for _, s in indexed):
        return Violation(key, None, indexed[-1][0], "phase-2 steps without a filter mode step")
    return None


def final_models(live: LiveState, steps: Sequence[Step]) -> Mapping[str, HolderModel]:
    """The state every holder stepped reaches after `steps` (raises StepNotExecutable)."""
    models: dict[str, HolderModel] = {}
    for step in steps:
        model = models.get(step.number)
        if model is None:
            found = holder_model(live, step.number)
            if found is None:
                raise StepNotExecutable(f"{step.number} is not live")
            model = models[step.number] = found
        model.apply(step)
    return models
