"""Every single-target situation, not a sample: each live layout of a target's rows,
each desire per side, each pair of modes before and after per side. For every one,
the plan is proved safe, the real executor against the in-memory server (which
merges and splits rows) makes exactly its writes and reaches the desired cells,
and the next plan is empty."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from inkbox_sync.executor import Executor
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

from .fake_server import FakeServer
from .strategies import PER_IDENTITY, PER_NUMBER
from .test_planner_properties import assert_reaches

RULES = {
    "A": ("allow", "active"),
    "B": ("block", "active"),
    "a": ("allow", "paused"),
    "b": ("block", "paused"),
}
T = "+14155550100"
MODES = ("blacklist", "whitelist")
DESIRES = ("N", "K", "A", "B", "a", "b")  # no rule, kept as live, or a rule (lower case: staged)


def layouts(caps: Capabilities) -> list[tuple[tuple[str, str], ...]]:
    both = [(("both", c),) for c in RULES]
    if not caps.directional_rules:
        return [(), *both]
    one_way = [((d, c),) for d in ("inbound", "outbound") for c in RULES]
    pairs = [(("inbound", c), ("outbound", d)) for c in RULES for d in RULES]
    return [(), *both, *one_way, *pairs]


def situations(caps: Capabilities):  # type: ignore[no-untyped-def]
    if caps.directional_rules:
        desires = list(itertools.product(DESIRES, repeat=2))
        modes = list(itertools.product(MODES, repeat=4))
    else:
        desires = [(d, d) for d in DESIRES]
        modes = [(a, a, b, b) for a in MODES for b in MODES]
    for layout in layouts(caps):
        for (d_in, d_out), mode in itertools.product(desires, modes):
            if {d_in, d_out} == {"K", "N"}:
                continue  # keep and delete of unnamed sides cannot both hold for one target
            yield layout, d_in, d_out, mode


def case(caps: Capabilities, layout, d_in: str, d_out: str, mode):  # type: ignore[no-untyped-def]
    rows = [LiveRule(f"r{i}", T, *RULES[c], d) for i, (d, c) in enumerate(layout)]  # type: ignore[arg-type]
    entry = rows[0] if len(rows) == 1 else tuple(rows)
    live = LiveNumber(
        id="n1",
        number="+18335794607",
        incoming_call_action="auto_reject",
        client_websocket_url=None,
        incoming_call_webhook_url=None,
        inbound_filter_mode=mode[0],
        outbound_filter_mode=mode[1],
        rules={T: entry} if rows else {},  # type: ignore[dict-item]
        policy_id="bot" if caps.directional_rules else None,
    )
    named = {side: d for side, d in (("inbound", d_in), ("outbound", d_out)) if d not in "NK"}
    if len(named) == 2 and d_in == d_out:
        rule: object = DesiredRule(T, *RULES[d_in], direction="both")  # type: ignore[arg-type]
    elif len(named) == 2:
        rule = tuple(DesiredRule(T, *RULES[d], direction=s) for s, d in named.items())  # type: ignore[arg-type]
    elif named:
        ((side, d),) = named.items()
        rule = DesiredRule(T, *RULES[d], direction=side)  # type: ignore[arg-type]
    else:
        rule = None
    want = DesiredNumber(
        number=live.number,
        rules={T: rule} if rule is not None else {},  # type: ignore[dict-item]
        unmanaged_rules="keep" if "K" in (d_in, d_out) else "delete",
        inbound_filter_mode=mode[2],
        outbound_filter_mode=mode[3],
    )
    return live, want


@pytest.mark.slow
@pytest.mark.parametrize("caps", [PER_NUMBER, PER_IDENTITY], ids=["per-number", "per-identity"])
def test_every_single_target_situation(caps: Capabilities) -> None:
    async def check_all() -> int:
        count = 0
        for situation in situations(caps):
            live, want = case(caps, *situation)
            desired = DesiredState({live.number: want})
            plan = build_plan(desired, LiveState({live.number: live}, capabilities=caps))
            assert plan.safety.verified, (situation, plan.safety.violation)
            server = FakeServer(live, caps)
            result = await Executor(server, plan.steps, capabilities=caps).run()
            assert result.ok and server.writes == len(plan.steps), (situation, result.failed)
            assert_reaches(live, want, server.state(), caps)
            assert build_plan(desired, server.state()).steps == (), situation
            count += 1
        return count

    assert asyncio.run(check_all()) > (10_000 if caps.directional_rules else 100)
