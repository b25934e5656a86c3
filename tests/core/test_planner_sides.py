"""Table tests for the model with sides: which writes the planner chooses per case,
on per-identity capabilities (2026-10-like) unless said otherwise, and the errors
and effects that only sides have."""

from __future__ import annotations

import asyncio

import pytest

from inkbox_sync.errors import PlanError
from inkbox_sync.executor import Executor
from inkbox_sync.model import (
    DesiredNumber,
    DesiredRule,
    DesiredState,
    LiveNumber,
    LiveRule,
    LiveState,
)
from inkbox_sync.plan import Step
from inkbox_sync.planner import build_plan
from inkbox_sync.render import render_markdown, render_text
from inkbox_sync.safety import check_steps

from .fake_server import FakeServer
from .strategies import PER_IDENTITY, PER_NUMBER

N = "+18335794607"
A, B = "+14155550100", "+14155550101"


def live(inbound="blacklist", outbound=None, rules=(), caps=PER_IDENTITY, **fields) -> LiveState:
    """`rules`: (target, action, status, direction) rows; a target may have two."""
    entries: dict[str, object] = {}
    for i, (t, a, s, d) in enumerate(rules):
        row = LiveRule(f"r{i}", t, a, s, d)
        entries[t] = (entries[t], row) if t in entries else row
    base = {
        "incoming_call_action": "auto_reject",
        "client_websocket_url": None,
        "incoming_call_webhook_url": None,
    }
    base.update(fields)
    number = LiveNumber(
        id="n1",
        number=N,
        inbound_filter_mode=inbound,
        outbound_filter_mode=outbound or inbound,
        agent_handle="bot",
        rules=entries,  # type: ignore[arg-type]
        policy_id="bot" if caps.directional_rules else None,
        **base,
    )
    return LiveState({N: number}, capabilities=caps, api_version="test")


def want(rules=None, **kw) -> DesiredState:
    """`rules`: (target, action, status, direction); two entries of a target form a pair."""
    rule_map: dict[str, object] | None = None
    if rules is not None:
        rule_map = {}
        for t, a, s, d in rules:
            rule = DesiredRule(t, a, s, direction=d)
            rule_map[t] = (rule_map[t], rule) if t in rule_map else rule
    return DesiredState({N: DesiredNumber(number=N, rules=rule_map, **kw)})  # type: ignore[arg-type]


def shape(steps) -> list[tuple]:
    out = []
    for s in steps:
        if s.kind == "set_modes":
            out.append(("set_modes", s.phase, dict(s.modes)))
        elif s.kind == "create_rule":
            out.append(("create", s.phase, s.target, s.action, s.coverage))
        elif s.kind == "delete_rule":
            out.append(("delete", s.phase, s.target, s.coverage, s.rule_id))
        elif s.kind == "update_rule":
            body = {
                k: v
                for k, v in (
                    ("action", s.action),
                    ("status", s.status),
                    ("direction", s.direction),
                    ("apply_to", s.apply_to),
                )
                if v is not None
            }
            out.append(("update", s.phase, s.target, s.coverage, s.rule_id, body))
        else:
            out.append((s.kind, s.phase))
    return out


CASES = [
    pytest.param(
        live(rules=[(A, "allow", "active", "both")]),
        want([(A, "allow", "active", "inbound"), (A, "block", "active", "outbound")]),
        [("update", 0, A, "both", "r0", {"action": "block", "apply_to": "outbound"})],
        id="apply_to-splits-a-both-rule",
    ),
    pytest.param(
        live(rules=[(A, "allow", "active", "both")]),
        want([(A, "allow", "active", "inbound")]),
        [("update", 0, A, "both", "r0", {"direction": "inbound"})],
        id="direction-shrinks-coverage",
    ),
    pytest.param(
        live(rules=[(A, "block", "active", "outbound")]),
        want([(A, "block", "active", "both")]),
        [("update", 0, A, "outbound", "r0", {"direction": "both"})],
        id="direction-grows-coverage",
    ),
    pytest.param(
        live(rules=[(A, "allow", "active", "inbound"), (A, "block", "active", "outbound")]),
        want([(A, "allow", "active", "both")], unmanaged_rules="keep"),
        [("update", 0, A, "outbound", "r1", {"action": "allow"})],
        id="pair-becomes-one-rule-by-an-action-update",
    ),
    pytest.param(
        live("blacklist"),
        want([(A, "block", "paused", "both")]),
        [("create", 0, A, "allow", "both")],
        id="staged-is-an-active-harmless-rule-without-writable-status",
    ),
    pytest.param(
        live("blacklist", "whitelist"),
        want([(A, "block", "paused", "both")]),
        [("create", 0, A, "allow", "inbound"), ("create", 0, A, "block", "outbound")],
        id="staged-both-sides-harmless-per-side",
    ),
    pytest.param(
        live("blacklist", rules=[(A, "block", "paused", "both")]),
        want([(A, "allow", "paused", "both")]),
        [],
        id="a-live-paused-row-satisfies-a-staged-rule",
    ),
    pytest.param(
        live("blacklist", rules=[(A, "block", "paused", "both")]),
        want([(A, "block", "active", "both")]),
        [("delete", 0, A, "both", "r0"), ("create", 0, A, "block", "both")],
        id="paused-row-that-must-be-active-is-deleted-and-created",
    ),
    pytest.param(
        live("blacklist", rules=[(A, "allow", "active", "both")]),
        want([(A, "allow", "paused", "both")], filter_mode="whitelist"),
        [
            ("set_modes", 1, {"inbound": "whitelist", "outbound": "whitelist"}),
            ("update", 2, A, "both", "r0", {"action": "block"}),
        ],
        id="flip-re-aims-a-staged-rule-after-the-flip",
    ),
    pytest.param(
        live("blacklist", rules=[(B, "block", "active", "both")]),
        want(
            [(A, "allow", "active", "inbound"), (B, "block", "active", "outbound")],
            inbound_filter_mode="whitelist",
        ),
        [
            ("create", 0, A, "allow", "inbound"),
            ("set_modes", 1, {"inbound": "whitelist"}),
            ("update", 2, B, "both", "r0", {"direction": "outbound"}),
        ],
        id="inbound-flip-pins-first-and-cleans-one-side-after",
    ),
    pytest.param(
        live("blacklist", "whitelist", rules=[(A, "allow", "active", "both")]),
        want(
            [(A, "allow", "active", "both")],
            inbound_filter_mode="whitelist",
            outbound_filter_mode="blacklist",
        ),
        [("set_modes", 1, {"inbound": "whitelist", "outbound": "blacklist"})],
        id="both-directional-modes-flip-in-one-write",
    ),
    pytest.param(
        live("blacklist", "whitelist"),
        want([], filter_mode="whitelist"),
        [("set_modes", 1, {"inbound": "whitelist"})],
        id="shared-mode-sets-only-the-side-that-moves",
    ),
]


@pytest.mark.parametrize(("before", "desired", "expected"), CASES)
def test_step_choice(before, desired, expected):
    plan = build_plan(desired, before)
    assert shape(plan.steps) == expected
    assert plan.safety.verified, plan.safety.violation


def test_plan_says_how_it_realises_staged_rules():
    assert build_plan(want([]), live()).staging == "harmless_active_row"
    assert build_plan(want([]), live(caps=PER_NUMBER)).staging == "paused_row"


def test_effects_and_text_name_sides_only_where_they_differ():
    plan = build_plan(
        want([(A, "allow", "active", "inbound"), (A, "block", "active", "outbound")]),
        live(rules=[(A, "allow", "active", "both")]),
    )
    (change,) = plan.changes
    assert [(e.caller, e.side, e.before, e.after) for e in change.effects] == [
        (A, "outbound", "delivered", "blocked"),
        (None, "both", "delivered", "delivered"),
    ]
    assert [(r.kind, r.direction) for r in change.rules] == [("update", "outbound")]
    text = render_text(plan)
    assert f"    {A} outbound: allowed -> blocked" in text.splitlines()
    assert f"    ~ {A} (outbound): allow/active -> block/active" in text.splitlines()
    assert (
        "API version test (staged rules are active rules with each side's harmless action)" in text
    )
    markdown = render_markdown(plan).splitlines()
    assert f"- {A} outbound: allowed -&gt; blocked" in markdown
    assert f"~ {A} (outbound): allow/active -> block/active" in markdown


def test_the_manifest_language_of_today_means_both_sides(tmp_path):
    """filter_mode is both sides' mode, and a rule as written today covers both sides."""
    from inkbox_sync.manifest import load_manifests
    from inkbox_sync.model import desired_mode, on_side

    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f'version: 1\nnumbers:\n  "{N}":\n    filter_mode: whitelist\n'
        f'    allow: ["{A}"]\n    block: [{{target: "{B}", status: paused}}]\n'
    )
    number = load_manifests([str(manifest)]).numbers[N]
    assert [desired_mode(number, side) for side in ("inbound", "outbound")] == ["whitelist"] * 2
    assert number.rules is not None
    for target, action, status in ((A, "allow", "active"), (B, "block", "paused")):
        for side in ("inbound", "outbound"):
            rule = on_side(number.rules[target], side)
            assert rule is not None and (rule.action, rule.status) == (action, status)


@pytest.mark.parametrize(
    ("state", "desired", "fragment"),
    [
        (
            live(caps=PER_NUMBER),
            want([(A, "allow", "active", "inbound")]),
            "this API has no one-way rules",
        ),
        (
            live(caps=PER_NUMBER),
            want([], inbound_filter_mode="whitelist"),
            "one filter mode for both sides",
        ),
        (live("greylist"), want([]), "live inbound filter mode is 'greylist'"),
        (live("greylist"), want(filter_mode="blacklist"), "'greylist'"),
        (
            live(incoming_call_action="ivr"),
            want(incoming_call_action="auto_reject"),
            "live incoming_call_action is 'ivr'",
        ),
        (
            live(),
            want(incoming_call_action="forward"),
            "forward needs a forwarding_phone_number or a forwarding_sip_uri",
        ),
    ],
    ids=[
        "one-way-rule-on-a-per-number-api",
        "directional-mode-on-a-per-number-api",
        "rules-managed-under-an-unknown-mode",
        "managed-mode-with-an-unknown-live-value",
        "managed-routing-with-an-unknown-live-action",
        "forward-without-a-target",
    ],
)
def test_what_cannot_be_planned_is_a_plan_error(state, desired, fragment):
    with pytest.raises(PlanError, match=fragment.replace("(", r"\(")):
        build_plan(desired, state)


def test_unknown_live_values_are_carried_where_unmanaged():
    state = live("greylist", incoming_call_action="ivr")
    assert build_plan(want(), state).steps == ()
    url = "https://hooks.example.com/x"
    plan = build_plan(want(incoming_call_webhook_url=url), state)
    assert shape(plan.steps) == [("update_routing", 0)]


def test_forwarding_patch_derives_the_target_type():
    plan = build_plan(
        want(incoming_call_action="forward", forwarding_sip_uri="sip:desk@pbx.example.com"),
        live(),
    )
    (step,) = plan.steps
    assert dict(step.fields or {}) == {
        "incoming_call_action": "forward",
        "forwarding_sip_uri": "sip:desk@pbx.example.com",
        "forwarding_target_type": "sip",
    }


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        (
            [Step(N, "bot", "update_rule", 0, target=A, action="block", apply_to="outbound")],
            "apply_to outbound is not possible",
        ),
        (
            [Step(N, "bot", "update_rule", 0, target=A, status="paused")],
            "cannot write a rule's status",
        ),
        (
            [Step(N, "bot", "create_rule", 0, target=A, action="block", direction="inbound")],
            "already covers its side",
        ),
    ],
    ids=["apply_to-without-the-capability", "status-not-writable", "create-on-a-covered-side"],
)
def test_checker_refuses_writes_the_api_cannot_make(steps, fragment):
    state = live(rules=[(A, "allow", "active", "both")])
    if "apply_to" in fragment:
        state = live(rules=[(A, "allow", "active", "both")], caps=PER_NUMBER)
    report = check_steps(state, steps)
    assert not report.verified and report.violation is not None
    assert fragment in report.violation.message


def test_checker_refutes_flip_first_on_one_side():
    # Whitelisting inbound before the allow pin: A inbound goes delivered -> blocked -> delivered.
    state = live("blacklist")
    bad = [
        Step(N, "bot", "set_modes", 1, modes={"inbound": "whitelist"}),
        Step(N, "bot", "create_rule", 2, target=A, action="allow", direction="inbound"),
    ]
    report = check_steps(state, bad)
    assert not report.verified and report.violation is not None
    assert report.violation.caller == A
    assert "inbound verdict" in report.violation.message


class _NoMerge(FakeServer):
    """A server that never consolidates rows: plans that counted on it must stop."""

    def _consolidate(self, row):  # type: ignore[no-untyped-def]
        return row


def test_apply_stops_rather_than_write_to_a_row_of_unexpected_coverage():
    state = live(rules=[(A, "allow", "active", "outbound")])
    steps = [
        # The plan expects the create to merge into one `both` row, then deletes it.
        Step(N, "bot", "create_rule", 0, target=A, action="allow", direction="inbound"),
        Step(N, "bot", "delete_rule", 0, target=A, side="inbound"),
    ]
    server = _NoMerge(state.numbers[N], PER_IDENTITY)
    result = asyncio.run(Executor(server, steps, capabilities=PER_IDENTITY).run())
    assert result.done == [0]
    ((index, message),) = result.failed
    assert index == 1 and "merged or split its rules differently" in message
    assert server.writes == 1


def test_apply_follows_a_split_by_the_ids_the_answers_give():
    state = live(rules=[(A, "allow", "active", "both")])
    plan = build_plan(
        want([(A, "block", "active", "inbound"), (A, "allow", "active", "outbound")]), state
    )
    server = FakeServer(state.numbers[N], PER_IDENTITY)
    assert asyncio.run(Executor(server, plan.steps, capabilities=PER_IDENTITY).run()).ok
    rows = server.state().numbers[N].rules[A]  # type: ignore[index]
    assert isinstance(rows, tuple)
    assert [(r.direction, r.action) for r in rows] == [("inbound", "block"), ("outbound", "allow")]
    assert (
        build_plan(
            want([(A, "block", "active", "inbound"), (A, "allow", "active", "outbound")]),
            server.state(),
        ).steps
        == ()
    )


def test_an_identity_managed_by_handle_is_planned_at_its_own_address():
    from inkbox_sync.model import DesiredAgent, LiveAgent

    desired = DesiredState(
        agents={"ops-bot": DesiredAgent("ops-bot", rules={A: DesiredRule(A, "block")})}
    )
    state = LiveState(
        agents={"ops-bot": LiveAgent("ident-9", "ops-bot", "blacklist", "blacklist", rules={})},
        capabilities=PER_IDENTITY,
    )
    plan = build_plan(desired, state)
    (step,) = plan.steps
    assert (step.number, step.address, step.kind, step.action) == (
        "ops-bot",
        "ops-bot",
        "create_rule",
        "block",
    )
    (change,) = plan.changes
    assert (change.number, change.number_id, change.agent) == ("ops-bot", "", "ops-bot")
    assert plan.safety.verified
    with pytest.raises(PlanError, match="ops-bot is not an agent identity of this organisation"):
        build_plan(desired, LiveState(capabilities=PER_IDENTITY))


def test_whitelist_valve_names_the_side_left_without_an_allow():
    plan = build_plan(
        want([(A, "allow", "active", "inbound")]),
        live("whitelist", rules=[(A, "allow", "active", "both")]),
    )
    messages = [w.message for w in plan.warnings if w.code == "whitelist_without_allow"]
    assert messages == [
        f"{N}: whitelist outbound with no active allow rule: every party will be blocked"
    ]
