"""Property tests: every plan is safe, converges, and the next plan is empty."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from inkbox_sync.model import UNSET, LiveNumber, LiveRule, Rule, verdict
from inkbox_sync.plan import Step
from inkbox_sync.planner import build_plan
from inkbox_sync.safety import NumberModel, check_steps, final_models

from .strategies import desired_numbers, live_numbers, one, one_desired

_fresh = itertools.count()


def expected_rules(live: LiveNumber, want) -> dict[str, Rule]:
    live_rules = {t: r.rule for t, r in (live.rules or {}).items()}
    if want.rules is None:
        return live_rules
    desired = {t: r.rule for t, r in want.rules.items()}
    if want.unmanaged_rules == "keep":
        return {**live_rules, **desired}
    return desired


def live_from_model(live: LiveNumber, model: NumberModel) -> LiveNumber:
    """What the API would report after the steps: ids kept for surviving rules."""
    old = live.rules or {}
    rules = {
        t: LiveRule(old[t].id if t in old else f"new-{next(_fresh)}", t, r.action, r.status)
        for t, r in model.rules.items()
    }
    return replace(
        live,
        filter_mode=model.mode,
        incoming_call_action=model.fields["incoming_call_action"],  # type: ignore[arg-type]
        client_websocket_url=model.fields["client_websocket_url"],
        incoming_call_webhook_url=model.fields["incoming_call_webhook_url"],
        rules=rules,
    )


def oracle_is_safe(live: LiveNumber, steps: list[Step]) -> bool:
    """A deliberately naive re-statement of the property: full verdict histories."""
    mode = live.filter_mode
    rules = {t: r.rule for t, r in (live.rules or {}).items()}
    callers = [None, *rules, *(s.target for s in steps if s.target)]
    histories = {c: [verdict(mode, rules.get(c) if c else None)] for c in callers}
    for step in steps:
        if step.kind == "update_number" and step.fields and "filter_mode" in step.fields:
            mode = step.fields["filter_mode"]  # type: ignore[assignment]
        elif step.kind == "create_rule":
            if step.target in rules:
                return False
            rules[step.target] = Rule(step.action, "active")  # type: ignore[arg-type,index]
        elif step.kind == "update_rule":
            if step.target not in rules:
                return False
            cur = rules[step.target]
            rules[step.target] = Rule(step.action or cur.action, step.status or cur.status)
        elif step.kind == "delete_rule":
            if step.target not in rules:
                return False
            del rules[step.target]  # type: ignore[arg-type]
        for c in callers:
            histories[c].append(verdict(mode, rules.get(c) if c else None))
    for history in histories.values():
        v0, v1 = history[0], history[-1]
        switch = next((i for i, v in enumerate(history) if v != v0), len(history))
        if any(v != v1 for v in history[switch:]):
            return False
    return True


@settings(max_examples=400, deadline=None)
@given(live=live_numbers(), want=desired_numbers())
def test_every_plan_is_safe_converges_and_next_plan_is_empty(live, want):
    plan = build_plan(one_desired(want), one(live))
    steps = list(plan.steps)

    assert plan.safety.verified, plan.safety.violation
    assert oracle_is_safe(live, steps)

    model = final_models(one(live), steps)[live.number]
    assert {t: Rule(r.action, r.status) for t, r in model.rules.items()} == expected_rules(
        live, want
    )
    assert model.mode == (live.filter_mode if want.filter_mode is UNSET else want.filter_mode)

    after = live_from_model(live, model)
    assert build_plan(one_desired(want), one(after)).steps == ()


@settings(max_examples=300, deadline=None)
@given(live=live_numbers(), want=desired_numbers(), data=st.data())
def test_checker_agrees_with_oracle_on_reordered_steps(live, want, data):
    """Shuffle a plan's steps (phases made consistent so only the order matters):
    the checker accepts exactly the orders the naive oracle finds safe."""
    steps = list(build_plan(one_desired(want), one(live)).steps)
    shuffled = data.draw(st.permutations(steps))
    flip_at = next(
        (i for i, s in enumerate(shuffled) if s.fields and "filter_mode" in s.fields), None
    )
    renumbered = [
        replace(s, phase=0 if flip_at is None or i < flip_at else (1 if i == flip_at else 2))
        for i, s in enumerate(shuffled)
    ]
    report = check_steps(one(live), renumbered)
    assert report.verified == oracle_is_safe(live, renumbered)
    if not report.verified:
        assert report.violation is not None and report.violation.step_index is not None


@settings(max_examples=200, deadline=None)
@given(live=live_numbers(), want=desired_numbers())
def test_flip_moved_first_is_refuted_when_a_pin_was_needed(live, want):
    """Deliberately unsafe: flip before pinning. Whenever some caller keeps its
    verdict only thanks to a rule written before the flip, the checker must say no."""
    steps = list(build_plan(one_desired(want), one(live)).steps)
    flips = [s for s in steps if s.phase == 1]
    if not flips:
        return
    others = [replace(s, phase=2) for s in steps if s.phase != 1]
    bad = [flips[0], *others]
    assert check_steps(one(live), bad).verified == oracle_is_safe(live, bad)
