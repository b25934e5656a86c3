"""Property tests, on both capability sets: every plan is safe per (caller, side),
applying it (through the real executor, against an in-memory server that merges
and splits rows like the per-identity contract) reaches the desired state with
exactly the writes it lists, the next plan is empty, and so is the plan after
any prefix; the checker refutes unsafe reorderings."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from inkbox_sync.executor import Executor
from inkbox_sync.model import (
    SIDES,
    SIDES_OF,
    UNSET,
    Capabilities,
    DesiredNumber,
    FilterMode,
    LiveNumber,
    LiveState,
    Rule,
    Side,
    desired_mode,
    known_mode,
    on_side,
    verdict,
)
from inkbox_sync.moves import CODE, satisfies
from inkbox_sync.plan import Step
from inkbox_sync.planner import build_plan
from inkbox_sync.safety import check_steps

from .fake_server import FakeServer
from .strategies import capabilities, desired_numbers, live_numbers, one, one_desired


def final_modes(live: LiveNumber, want: DesiredNumber) -> dict[Side, FilterMode]:
    out: dict[Side, FilterMode] = {}
    for side in SIDES:
        wanted = desired_mode(want, side)
        value = live.inbound_filter_mode if side == "inbound" else live.outbound_filter_mode
        out[side] = known_mode(value) if wanted is UNSET else wanted  # type: ignore[assignment]
    return out


def code(rule) -> str | None:  # type: ignore[no-untyped-def]
    return None if rule is None else CODE[(rule.action, rule.status)]


def assert_reaches(
    before: LiveNumber, want: DesiredNumber, after: LiveState, caps: Capabilities
) -> None:
    """Every (target, side) cell of `after` is what `want` asks of `before`."""
    now = after.numbers[before.number]
    modes = final_modes(before, want)
    assert (now.inbound_filter_mode, now.outbound_filter_mode) == (
        modes["inbound"],
        modes["outbound"],
    )
    live_rules, final_rules = before.rules or {}, now.rules or {}
    for target in {*live_rules, *final_rules, *(want.rules or {})}:
        for side in SIDES:
            was = code(on_side(live_rules.get(target), side))
            got = code(on_side(final_rules.get(target), side))
            if want.rules is None:
                assert got == was, (target, side)
                continue
            named = on_side(want.rules.get(target), side)
            if named is not None:
                desire = CODE[(named.action, named.status)]
            else:
                desire = "K" if want.unmanaged_rules == "keep" else "N"
            assert satisfies(got, desire, modes[side], caps, was), (target, side, desire, got)  # type: ignore[arg-type]


def oracle_is_safe(live: LiveNumber, steps: list[Step]) -> bool:
    """A deliberately naive re-statement of the property: cells, full verdict histories."""
    modes = {"inbound": live.inbound_filter_mode, "outbound": live.outbound_filter_mode}
    cells: dict[tuple[str, str], Rule] = {}
    for target, entry in (live.rules or {}).items():
        for side in SIDES:
            rule = on_side(entry, side)
            if rule is not None:
                cells[(target, side)] = Rule(rule.action, rule.status)
    callers = {None, *(t for t, _ in cells), *(s.target for s in steps if s.target)}

    def now(caller, side):  # type: ignore[no-untyped-def]
        return verdict(modes[side], cells.get((caller, side)) if caller else None)  # type: ignore[arg-type]

    histories = {(c, s): [now(c, s)] for c in callers for s in SIDES}
    for step in steps:
        t = step.target
        sides = SIDES_OF[step.coverage]
        if step.kind == "set_modes":
            modes.update(step.modes or {})
        elif step.kind == "create_rule":
            if any((t, s) in cells for s in sides):
                return False
            for s in sides:
                cells[(t, s)] = Rule(step.action, "active")  # type: ignore[arg-type]
        elif step.kind in ("update_rule", "delete_rule"):
            if any((t, s) not in cells for s in sides):
                return False
            old = cells[(t, sides[0])]  # type: ignore[index]
            if step.kind == "delete_rule":
                for s in sides:
                    del cells[(t, s)]  # type: ignore[arg-type]
            elif step.apply_to is not None:
                cells[(t, step.apply_to)] = Rule(step.action, cells[(t, step.apply_to)].status)  # type: ignore[arg-type,index]
            else:
                new_sides = SIDES_OF[step.direction or step.coverage]
                for s in sides:
                    del cells[(t, s)]  # type: ignore[arg-type]
                if any((t, s) in cells for s in new_sides):
                    return False
                for s in new_sides:
                    cells[(t, s)] = Rule(step.action or old.action, step.status or old.status)  # type: ignore[index]
        for key in histories:
            histories[key].append(now(*key))
    for history in histories.values():
        v0, v1 = history[0], history[-1]
        switch = next((i for i, v in enumerate(history) if v != v0), len(history))
        if any(v != v1 for v in history[switch:]):
            return False
    return True


def run(server: FakeServer, steps, caps: Capabilities):  # type: ignore[no-untyped-def]
    return asyncio.run(Executor(server, steps, capabilities=caps).run())


def draw_case(data):  # type: ignore[no-untyped-def]
    """Capabilities, a live holder and a desired one for them."""
    caps = data.draw(capabilities)
    return caps, data.draw(live_numbers(caps)), data.draw(desired_numbers(caps))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_plan_is_safe_converges_and_next_plan_is_empty(data):
    caps, live, want = draw_case(data)
    plan = build_plan(one_desired(want), one(live, caps))
    steps = list(plan.steps)

    assert plan.safety.verified, plan.safety.violation
    assert oracle_is_safe(live, steps)
    assert plan.staging == ("paused_row" if caps.writable_status else "harmless_active_row")

    server = FakeServer(live, caps)
    result = run(server, steps, caps)
    assert result.ok, result.failed
    assert server.writes == len(steps)  # exactly the writes the plan lists
    after = server.state()
    assert_reaches(live, want, after, caps)
    assert build_plan(one_desired(want), after).steps == ()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_fresh_plan_after_any_prefix_is_safe_and_converges(data):
    """A crash after any write: what is left is planned again, safely, to the same end."""
    caps, live, want = draw_case(data)
    steps = list(build_plan(one_desired(want), one(live, caps)).steps)
    cut = data.draw(st.integers(0, len(steps)))
    server = FakeServer(live, caps)
    assert run(server, steps[:cut], caps).ok
    middle = server.state()
    again = build_plan(one_desired(want), middle)
    assert again.safety.verified, again.safety.violation
    assert oracle_is_safe(middle.numbers[live.number], list(again.steps))
    assert run(server, again.steps, caps).ok
    assert_reaches(live, want, server.state(), caps)
    assert build_plan(one_desired(want), server.state()).steps == ()


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_create_whose_answer_was_lost_is_adopted_without_a_duplicate(data):
    caps, live, want = draw_case(data)
    steps = list(build_plan(one_desired(want), one(live, caps)).steps)
    creates = sum(1 for s in steps if s.kind == "create_rule")
    if not creates:
        return
    server = FakeServer(live, caps)
    server.lose_create_answers = {data.draw(st.integers(0, creates - 1))}
    result = run(server, steps, caps)
    assert result.ok, result.failed
    assert len(result.adopted) == 1
    assert_reaches(live, want, server.state(), caps)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_checker_agrees_with_oracle_on_reordered_steps(data):
    """Shuffle a plan's steps (phases made consistent so only the order matters):
    the checker accepts exactly the orders the naive oracle finds safe."""
    caps, live, want = draw_case(data)
    steps = list(build_plan(one_desired(want), one(live, caps)).steps)
    shuffled = data.draw(st.permutations(steps))
    flip_at = next((i for i, s in enumerate(shuffled) if s.kind == "set_modes"), None)
    renumbered = [
        replace(s, phase=0 if flip_at is None or i < flip_at else (1 if i == flip_at else 2))
        for i, s in enumerate(shuffled)
    ]
    report = check_steps(one(live, caps), renumbered)
    assert report.verified == oracle_is_safe(live, renumbered)
    if not report.verified:
        assert report.violation is not None and report.violation.step_index is not None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_flip_moved_first_is_refuted_when_a_pin_was_needed(data):
    """Deliberately unsafe: flip before pinning. Whenever some (caller, side) keeps
    its verdict only thanks to a write made before the flip, the checker must say no."""
    caps, live, want = draw_case(data)
    steps = list(build_plan(one_desired(want), one(live, caps)).steps)
    flips = [s for s in steps if s.phase == 1]
    if not flips:
        return
    others = [replace(s, phase=2) for s in steps if s.phase != 1]
    bad = [flips[0], *others]
    assert check_steps(one(live, caps), bad).verified == oracle_is_safe(live, bad)
