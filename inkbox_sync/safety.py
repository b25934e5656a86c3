"""The transition-safety checker: independent of the planner, it proves or refutes a step list.

Property (design section 3): for every caller c of a number (each target named
before or after, plus the unnamed caller), the verdict after each step is v0(c)
until at most one step and v1(c) from then on. Equivalently: every caller's
verdict changes at most once over the whole step list.

Why checking the list order is enough although apply runs steps concurrently:
a caller's verdict depends only on the number's filter_mode and that caller's
own rule. Apply keeps each (number, target) chain in list order and uses the
number's flip (phase 1) as a barrier between phase 0 and phase 2, so every
interleaving it can produce gives each caller the same verdict sequence as the
list. The checker therefore also verifies that phases are consistent with list
order; a list that violates that is refuted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from inkbox_sync.model import FilterMode, LiveState, Rule, RuleLike, Verdict, verdict
from inkbox_sync.plan import SafetyReport, Step, Violation

_MODES: dict[str, FilterMode] = {"blacklist": "blacklist", "whitelist": "whitelist"}


class StepNotExecutable(Exception):
    """A step that the API would reject in the simulated state (e.g. create on a taken slot)."""


@dataclass(slots=True)
class NumberModel:
    """An in-memory number: its mode, routing fields and rules by target.

    Used by the checker, by property tests (does applying the steps reach the
    desired state?) and to replay what a sandbox recorded.
    """

    mode: FilterMode
    fields: dict[str, str | None] = field(default_factory=dict)
    rules: dict[str, RuleLike] = field(default_factory=dict)

    def verdict_of(self, caller: str | None) -> Verdict:
        return verdict(self.mode, None if caller is None else self.rules.get(caller))

    def apply(self, step: Step) -> None:
        """Apply one step the way the API would, or raise StepNotExecutable."""
        if step.kind == "update_number":
            for name, value in (step.fields or {}).items():
                if name == "filter_mode":
                    mode = _MODES.get(value or "")
                    if mode is None:
                        raise StepNotExecutable(f"invalid filter_mode {value!r}")
                    self.mode = mode
                else:
                    self.fields[name] = value
            return
        target = step.target
        if target is None:
            raise StepNotExecutable(f"{step.kind} without a target")
        current = self.rules.get(target)
        if step.kind == "create_rule":
            if current is not None:
                raise StepNotExecutable(f"create {target}: a rule already holds its slot")
            if step.action is None:
                raise StepNotExecutable(f"create {target} without an action")
            self.rules[target] = Rule(step.action, "active")
        elif step.kind == "update_rule":
            if current is None:
                raise StepNotExecutable(f"update {target}: no such rule")
            self.rules[target] = Rule(step.action or current.action, step.status or current.status)
        else:
            if current is None:
                raise StepNotExecutable(f"delete {target}: no such rule")
            del self.rules[target]


def model_from_live(live: LiveState) -> dict[str, NumberModel]:
    models: dict[str, NumberModel] = {}
    for number, ln in live.numbers.items():
        rules: dict[str, RuleLike] = dict(ln.rules or {})
        fields = {
            "incoming_call_action": ln.incoming_call_action,
            "client_websocket_url": ln.client_websocket_url,
            "incoming_call_webhook_url": ln.incoming_call_webhook_url,
        }
        models[number] = NumberModel(ln.filter_mode, fields, rules)
    return models


def check_steps(live: LiveState, steps: Sequence[Step]) -> SafetyReport:
    """Prove the property for `steps` applied to `live`, or name the first break."""
    by_number: dict[str, list[tuple[int, Step]]] = {}
    for index, step in enumerate(steps):
        by_number.setdefault(step.number, []).append((index, step))

    callers_checked = 0
    violations: list[Violation] = []
    models = model_from_live(live)
    for number, indexed in by_number.items():
        model = models.get(number)
        if model is None:
            violations.append(Violation(number, None, indexed[0][0], "number is not live"))
            continue
        rule_steps = any(s.kind != "update_number" for _, s in indexed)
        if rule_steps and live.numbers[number].rules is None:
            violations.append(
                Violation(
                    number, None, indexed[0][0], "rule steps on a number whose rules were not read"
                )
            )
            continue
        found, count = _check_number(number, model, indexed)
        callers_checked += count
        if found is not None:
            violations.append(found)

    if violations:
        first = min(violations, key=lambda v: -1 if v.step_index is None else v.step_index)
        return SafetyReport(False, callers_checked, len(steps), first)
    return SafetyReport(True, callers_checked, len(steps))


def _check_number(
    number: str, model: NumberModel, indexed: Sequence[tuple[int, Step]]
) -> tuple[Violation | None, int]:
    order_problem = _phase_problem(number, indexed)
    if order_problem is not None:
        return order_problem, 0

    callers: set[str | None] = {None, *model.rules}
    callers.update(s.target for _, s in indexed if s.target is not None)
    last: dict[str | None, Verdict] = {c: model.verdict_of(c) for c in callers}
    changes: dict[str | None, int] = dict.fromkeys(callers, 0)

    for index, step in indexed:
        try:
            model.apply(step)
        except StepNotExecutable as exc:
            return Violation(
                number, step.target, index, f"step {index + 1} cannot run: {exc}"
            ), len(callers)
        affected: Iterable[str | None] = callers if _changes_mode(step) else (step.target,)
        for caller in affected:
            now = model.verdict_of(caller)
            if now == last[caller]:
                continue
            last[caller] = now
            changes[caller] += 1
            if changes[caller] > 1:
                # Verdicts are binary, so a second change always returns to the first.
                who = "everyone else" if caller is None else caller
                trail = f"{now} -> {_other(now)} -> {now}"
                message = (
                    f"{who}'s verdict on {number} changes more than once ({trail}); "
                    f"the second change is at step {index + 1}: {step.describe()}"
                )
                return Violation(number, caller, index, message), len(callers)
    return None, len(callers)


def _other(v: Verdict) -> Verdict:
    return "blocked" if v == "delivered" else "delivered"


def _changes_mode(step: Step) -> bool:
    return step.kind == "update_number" and "filter_mode" in (step.fields or {})


def _phase_problem(number: str, indexed: Sequence[tuple[int, Step]]) -> Violation | None:
    """Phases must not decrease in list order; the one flip is phase 1 and alone there."""
    previous = 0
    flips = [(i, s) for i, s in indexed if _changes_mode(s)]
    if len(flips) > 1:
        return Violation(number, None, flips[1][0], "filter_mode is changed more than once")
    for index, step in indexed:
        if step.phase < previous:
            return Violation(number, step.target, index, f"step {index + 1} is out of phase order")
        previous = step.phase
        if (step.phase == 1) != _changes_mode(step):
            return Violation(
                number,
                step.target,
                index,
                f"step {index + 1}: only the filter_mode flip is phase 1",
            )
    if not flips and any(s.phase == 2 for _, s in indexed):
        return Violation(number, None, indexed[-1][0], "phase-2 steps without a filter_mode flip")
    return None


def final_models(live: LiveState, steps: Sequence[Step]) -> Mapping[str, NumberModel]:
    """The state every number reaches after `steps` (raises StepNotExecutable)."""
    models = model_from_live(live)
    for step in steps:
        models[step.number].apply(step)
    return models
