"""Pure planning benchmark: no I/O, 1,000 numbers x 100 rules (100,000 rules).

Measures build_plan (diff, effects, step ordering, safety check) for a no-change
plan and for a plan where every rule changes and the mode flips (a per-number
API: both sides alike), then the same fleet on a per-identity API where every
rule is split into different inbound and outbound rules and each side's mode
flips its own way, plus peak memory of the process.

    python benchmarks/plan_pure.py [--numbers 1000] [--rules 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from inkbox_sync.model import (
    Capabilities,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    LiveNumber,
    LiveRule,
    LiveState,
)
from inkbox_sync.planner import build_plan


def fleet(numbers: int, rules: int) -> tuple[DesiredState, LiveState, LiveState]:
    desired: dict[str, DesiredNumber] = {}
    same: dict[str, LiveNumber] = {}
    moved: dict[str, LiveNumber] = {}
    for n in range(numbers):
        number = f"+1833{n:07d}"
        targets = [f"+1415{n:03d}{r:04d}" for r in range(rules)]
        want = {
            t: DesiredRule(t, "allow" if r % 3 else "block", "paused" if r % 10 == 0 else "active")
            for r, t in enumerate(targets)
        }
        desired[number] = DesiredNumber(number=number, filter_mode="whitelist", rules=want)
        base = dict(
            id=f"id-{n}",
            number=number,
            incoming_call_action="auto_reject",
            client_websocket_url=None,
            incoming_call_webhook_url=None,
            agent_handle=None,
        )
        same[number] = LiveNumber(
            inbound_filter_mode="whitelist",
            outbound_filter_mode="whitelist",
            rules={
                t: LiveRule(f"r{n}-{i}", t, d.action, d.status)
                for i, (t, d) in enumerate(want.items())
            },
            **base,
        )  # type: ignore[arg-type]
        # Every rule differs and the mode flips: the most work the planner can have.
        moved[number] = LiveNumber(
            inbound_filter_mode="blacklist",
            outbound_filter_mode="blacklist",
            rules={
                t: LiveRule(f"r{n}-{i}", t, "block" if d.action == "allow" else "allow", "active")
                for i, (t, d) in enumerate(want.items())
            },
            **base,
        )  # type: ignore[arg-type]
    return DesiredState(desired), LiveState(same), LiveState(moved)


PER_IDENTITY = Capabilities(
    directional_rules=True, separate_modes=True, writable_status=False, apply_to=True
)


def sided(desired: DesiredState, moved: LiveState) -> tuple[DesiredState, LiveState]:
    """Every `both` rule becomes an inbound rule and an outbound rule of the other
    action (apply_to splits); inbound flips to whitelist, outbound stays blacklist."""
    numbers: dict[str, DesiredNumber] = {}
    for number, want in desired.numbers.items():
        rules = {}
        for target, rule in (want.rules or {}).items():
            assert isinstance(rule, DesiredRule)
            other = "block" if rule.action == "allow" else "allow"
            rules[target] = (
                DesiredRule(target, rule.action, "active", direction="inbound"),
                DesiredRule(target, other, "active", direction="outbound"),  # type: ignore[arg-type]
            )
        numbers[number] = DesiredNumber(
            number=number,
            inbound_filter_mode="whitelist",
            outbound_filter_mode="blacklist",
            rules=rules,  # type: ignore[arg-type]
        )
    return DesiredState(numbers), LiveState(dict(moved.numbers), capabilities=PER_IDENTITY)


def timed(fn):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    desired, same, moved = fleet(args.numbers, args.rules)
    figures = {"numbers": args.numbers, "rules": args.numbers * args.rules}
    plan, wall, cpu = timed(lambda: build_plan(desired, same))
    assert not plan.steps
    figures["no_change"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
    plan, wall, cpu = timed(lambda: build_plan(desired, moved))
    assert plan.safety.verified
    figures["all_changed"] = {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "steps": len(plan.steps),
    }
    sided_desired, sided_live = sided(desired, moved)
    split, wall, cpu = timed(lambda: build_plan(sided_desired, sided_live))
    assert split.safety.verified
    figures["sides_changed"] = {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "steps": len(split.steps),
    }
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"pure planning, {figures['rules']:,} rules over {args.numbers:,} numbers")
    print(f"  no change:      {figures['no_change']['cpu_s']:.3f} s CPU")
    print(
        f"  all changed:    {figures['all_changed']['cpu_s']:.3f} s CPU, {len(plan.steps):,} steps (incl. safety check)"
    )
    print(
        f"  sides changed:  {figures['sides_changed']['cpu_s']:.3f} s CPU, "
        f"{len(split.steps):,} steps (per-identity API, every rule split per side)"
    )
    print(f"  peak RSS:       {figures['peak_rss_mb']} MB (includes building the inputs)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
