"""Table tests: specific transitions, their exact step orders, warnings and errors."""

from __future__ import annotations

import pytest

from inkbox_sync.errors import PlanError
from inkbox_sync.model import (
    DesiredNumber,
    DesiredRule,
    DesiredState,
    LiveNumber,
    LiveRule,
    LiveState,
    Location,
)
from inkbox_sync.plan import Step
from inkbox_sync.planner import build_plan
from inkbox_sync.safety import check_steps

N = "+18335794607"
BOTH_WHITELIST = {"inbound": "whitelist", "outbound": "whitelist"}
A, B, C = "+14155550100", "+14155550101", "+14155550102"


def live(mode="blacklist", rules=(), **fields) -> LiveState:
    base = {
        "incoming_call_action": "auto_reject",
        "client_websocket_url": None,
        "incoming_call_webhook_url": None,
    }
    base.update(fields)
    ln = LiveNumber(
        id="n1",
        number=N,
        inbound_filter_mode=mode,
        outbound_filter_mode=mode,
        agent_handle="support-bot",
        rules={t: LiveRule(f"r-{t[-3:]}", t, a, s) for t, a, s in rules},
        **base,
    )
    return LiveState({N: ln})


def want(rules=None, **kw) -> DesiredState:
    rule_map = None if rules is None else {t: DesiredRule(t, a, s) for t, a, s in rules}
    return DesiredState({N: DesiredNumber(number=N, rules=rule_map, **kw)})


def shape(steps) -> list[tuple]:
    return [
        (s.kind, s.phase, s.target, s.action, s.status, dict(s.fields or s.modes or {}))
        for s in steps
    ]


CASES = [
    pytest.param(
        live(),
        want([(A, "block", "active")]),
        [("create_rule", 0, A, "block", None, {})],
        id="create-active",
    ),
    pytest.param(
        live("blacklist"),
        want([(A, "block", "paused")]),
        [
            ("create_rule", 0, A, "allow", None, {}),
            ("update_rule", 0, A, "block", "paused", {}),
        ],
        id="staged-block-created-harmless-then-paused",
    ),
    pytest.param(
        live("whitelist"),
        want([(A, "block", "paused")]),
        [
            ("create_rule", 0, A, "block", None, {}),
            ("update_rule", 0, A, None, "paused", {}),
        ],
        id="staged-block-under-whitelist-is-already-harmless",
    ),
    pytest.param(
        live("blacklist", [(A, "allow", "paused")]),
        want([(A, "allow", "active")]),
        [("update_rule", 0, A, None, "active", {})],
        id="activate-staged",
    ),
    pytest.param(
        live("blacklist", [(A, "block", "active"), (B, "allow", "active")]),
        want([(B, "allow", "active")]),
        [("delete_rule", 0, A, None, None, {})],
        id="delete-unmanaged",
    ),
    pytest.param(
        live("blacklist", [(A, "block", "active"), (B, "allow", "active")]),
        want([], unmanaged_rules="keep"),
        [],
        id="keep-unmanaged",
    ),
    pytest.param(
        live("blacklist", [(B, "block", "active"), (C, "allow", "active")]),
        want([(A, "allow", "active")], filter_mode="whitelist"),
        [
            ("create_rule", 0, A, "allow", None, {}),
            ("set_modes", 1, None, None, None, BOTH_WHITELIST),
            ("delete_rule", 2, B, None, None, {}),
            ("delete_rule", 2, C, None, None, {}),
        ],
        id="to-whitelist-pins-first-cleans-after",
    ),
    pytest.param(
        live("whitelist", [(A, "allow", "active")]),
        want([(B, "block", "paused")], filter_mode="blacklist"),
        [
            ("set_modes", 1, None, None, None, {"inbound": "blacklist", "outbound": "blacklist"}),
            ("delete_rule", 2, A, None, None, {}),
            ("create_rule", 2, B, "allow", None, {}),
            ("update_rule", 2, B, "block", "paused", {}),
        ],
        id="to-blacklist-paused-created-harmless-under-new-mode",
    ),
    pytest.param(
        live(incoming_call_action="auto_reject"),
        want(
            incoming_call_action="auto_accept",
            client_websocket_url="wss://agent.example.com/ws",
        ),
        [
            (
                "update_routing",
                0,
                None,
                None,
                None,
                {
                    "incoming_call_action": "auto_accept",
                    "client_websocket_url": "wss://agent.example.com/ws",
                },
            )
        ],
        id="routing-in-one-patch",
    ),
]


@pytest.mark.parametrize(("before", "desired", "expected"), CASES)
def test_step_order(before, desired, expected):
    plan = build_plan(desired, before)
    assert shape(plan.steps) == expected
    assert plan.safety.verified


def test_no_change_plan_is_empty():
    plan = build_plan(want([(A, "allow", "active")]), live("blacklist", [(A, "allow", "active")]))
    assert plan.steps == () and plan.changes == () and plan.summary.total == 0


def test_effects_name_changed_callers_and_everyone_else():
    plan = build_plan(
        want([(A, "allow", "active"), (B, "allow", "active")], filter_mode="whitelist"),
        live("blacklist", [(B, "allow", "active")]),
    )
    (change,) = plan.changes
    effects = {(e.caller, e.before, e.after) for e in change.effects}
    # A and B stay delivered (pinned); everyone else goes from delivered to blocked.
    assert effects == {(None, "delivered", "blocked")}
    assert change.unchanged_callers == 2


def test_checker_names_first_caller_and_step_that_flicker():
    # Flip to whitelist before pinning A: A goes delivered -> blocked -> delivered.
    state = live("blacklist")
    bad = [
        Step(N, "n1", "set_modes", 1, modes=BOTH_WHITELIST),
        Step(N, "n1", "create_rule", 2, target=A, action="allow"),
    ]
    report = check_steps(state, bad)
    assert not report.verified
    assert report.violation is not None
    assert report.violation.caller == A and report.violation.step_index == 1
    assert "delivered -> blocked -> delivered" in report.violation.message


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        (
            [
                Step(N, "n1", "create_rule", 0, target=A, action="allow"),
                Step(N, "n1", "create_rule", 0, target=A, action="allow"),
            ],
            "already covers its side",
        ),
        ([Step(N, "n1", "delete_rule", 0, target=A, rule_id="x")], "no such rule"),
        (
            [
                Step(N, "n1", "set_modes", 1, modes=BOTH_WHITELIST),
                Step(
                    N, "n1", "set_modes", 1, modes={"inbound": "blacklist", "outbound": "blacklist"}
                ),
            ],
            "more than once",
        ),
        (
            [
                Step(N, "n1", "set_modes", 1, modes=BOTH_WHITELIST),
                Step(N, "n1", "create_rule", 0, target=A, action="allow"),
            ],
            "phase order",
        ),
    ],
    ids=["create-taken-slot", "delete-missing", "two-flips", "phase-order"],
)
def test_checker_refutes_broken_lists(steps, fragment):
    report = check_steps(live("blacklist"), steps)
    assert not report.verified
    assert report.violation is not None and fragment in report.violation.message


def test_valves_warn_mode_change_mass_change_and_empty_whitelist():
    rules = [(f"+1415555{i:04d}", "block", "active") for i in range(10)]
    plan = build_plan(want([], filter_mode="whitelist"), live("blacklist", rules))
    codes = {w.code for w in plan.warnings}
    assert codes == {"filter_mode_change", "mass_rule_change", "whitelist_without_allow"}
    assert all(w.needs_force for w in plan.warnings)


def test_mass_change_threshold_is_thirty_percent_of_ten_or_more():
    rules = [(f"+1415555{i:04d}", "block", "active") for i in range(10)]
    keep7 = [(t, a, s) for t, a, s in rules[:7]]
    keep6 = [(t, a, s) for t, a, s in rules[:6]]
    assert not build_plan(want(keep7), live("blacklist", rules)).warnings  # 3 of 10
    (warning,) = build_plan(want(keep6), live("blacklist", rules)).warnings  # 4 of 10
    assert warning.code == "mass_rule_change"


def test_plan_errors_name_every_problem_with_location():
    loc = Location("m.yaml", 3, 3)
    desired = DesiredState(
        {
            N: DesiredNumber(number=N, agent="other-bot", location=loc),
            "+19995550000": DesiredNumber(number="+19995550000", location=Location("m.yaml", 9, 3)),
        }
    )
    with pytest.raises(PlanError) as info:
        build_plan(desired, live())
    text = str(info.value)
    assert "m.yaml:3:3: +18335794607 belongs to agent 'support-bot' live" in text
    assert "m.yaml:9:3: +19995550000 is not a number of this organisation" in text


def test_incoherent_final_routing_is_a_plan_error():
    with pytest.raises(PlanError, match="webhook needs an incoming_call_webhook_url"):
        build_plan(want(incoming_call_action="webhook"), live())


def test_target_limits_and_unknown_target_errors():
    assert build_plan(want([(A, "allow", "active")]), live(), targets=[N]).steps
    with pytest.raises(PlanError, match="--target names numbers no manifest declares"):
        build_plan(want(), live(), targets=["+10000000000"])


def test_expectations_judged_with_live_mode_and_kept_rules():
    from inkbox_sync.model import Expectation

    loc = Location("m.yaml", 7, 5)
    expect = Expectation(delivered=(A,), blocked=(B,), location=loc)
    # Mode unmanaged (live whitelist); B is blocked by default; A's live allow is kept.
    desired = DesiredState(
        {N: DesiredNumber(number=N, rules={}, unmanaged_rules="keep", expect=expect)}
    )
    ok = build_plan(desired, live("whitelist", [(A, "allow", "active")]))
    assert [w for w in ok.warnings if w.code == "expectation_broken"] == []

    # Live blacklist: B would be delivered; that breaks the expectation and needs --force.
    bad = build_plan(desired, live("blacklist", [(A, "allow", "active")]))
    (warning,) = bad.warnings
    assert warning.code == "expectation_broken" and warning.needs_force
    assert warning.message.startswith("m.yaml:7:5: expectation broken: expect: +14155550101")


def test_expectation_not_met_live_but_fixed_by_the_plan_is_a_note():
    from inkbox_sync.model import Expectation

    expect = Expectation(blocked=(B,), location=Location("m.yaml", 7, 5))
    desired = DesiredState(
        {N: DesiredNumber(number=N, rules={B: DesiredRule(B, "block")}, expect=expect)}
    )
    plan = build_plan(desired, live("blacklist"))
    assert plan.warnings == ()  # a note, kept apart from the warnings (issue 14)
    (note,) = plan.notes
    assert note.code == "expectation_unmet_live" and not note.needs_force
    assert "not met live yet: +14155550101 should be blocked" in note.message
