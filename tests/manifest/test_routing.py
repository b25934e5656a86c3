"""Routing: hosted_agent and forward with their targets, offline and against a live number."""

from __future__ import annotations

import dataclasses

import pytest

from inkbox_sync.errors import PlanError
from inkbox_sync.manifest import final_routing, routing_problem, sip_uri_problem
from inkbox_sync.model import UNSET, DesiredNumber, DesiredState, LiveNumber, LiveState
from inkbox_sync.planner import build_plan
from tests.manifest.helpers import errors, load, write

N = "+18335794607"


def manifest(*lines: str) -> str:
    return "version: 1\nnumbers:\n  " + f'"{N}":\n' + "".join(f"    {x}\n" for x in lines)


# -- the loader ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "fields"),
    [
        (["incoming_call_action: hosted_agent"], {"incoming_call_action": "hosted_agent"}),
        (
            ["incoming_call_action: forward", 'forwarding_phone_number: "+1 (415) 555-9000"'],
            {"incoming_call_action": "forward", "forwarding_phone_number": "+14155559000"},
        ),
        (
            ["incoming_call_action: forward", "forwarding_sip_uri: sip:desk@pbx.example.com"],
            {"incoming_call_action": "forward", "forwarding_sip_uri": "sip:desk@pbx.example.com"},
        ),
        (
            ["incoming_call_action: webhook", "forwarding_phone_number: null"],
            {"incoming_call_action": "webhook", "forwarding_phone_number": None},
        ),
        (
            ["forwarding_sip_uri: sips:pbx.example.com:5061;transport=tls"],
            {"forwarding_sip_uri": "sips:pbx.example.com:5061;transport=tls"},
        ),
    ],
)
def test_routing_keys_load(lines: list[str], fields: dict[str, object]) -> None:
    write("m.yaml", manifest(*lines))
    number = load("m.yaml").numbers[N]
    for name in ("incoming_call_action", "forwarding_phone_number", "forwarding_sip_uri"):
        assert getattr(number, name) == fields.get(name, UNSET)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [
                "incoming_call_action: forward",
                "forwarding_phone_number: null",
                "forwarding_sip_uri: null",
            ],
            "m.yaml:4:27: incoming_call_action forward needs a forwarding_phone_number or a "
            "forwarding_sip_uri, but the manifest sets both to null (lines 5, 6)",
            id="forward with both targets null",
        ),
        pytest.param(
            [
                'forwarding_phone_number: "+14155559000"',
                "forwarding_sip_uri: sip:a@pbx.example.com",
            ],
            "m.yaml:5:25: forwarding_phone_number and forwarding_sip_uri are both set; a number "
            "has one forwarding target: leave one of them out (line 4)",
            id="two targets",
        ),
        pytest.param(
            ["forwarding_sip_uri: sip:desk@10.0.0.7"],
            "m.yaml:4:25: forwarding_sip_uri: 'sip:desk@10.0.0.7': the host must be a public DNS "
            "name (not an IP address or a local name)",
            id="SIP to an IP address",
        ),
        pytest.param(
            ["forwarding_sip_uri: https://pbx.example.com"],
            "m.yaml:4:25: forwarding_sip_uri: 'https://pbx.example.com' is not a sip: or sips: URI",
            id="not a SIP URI",
        ),
        pytest.param(
            ['forwarding_phone_number: "4155559000"'],
            "m.yaml:4:30: '4155559000' is not an E.164 number: it needs a leading '+'",
            id="forwarding number without +",
        ),
        pytest.param(
            ["incoming_call_action: forward_to"],
            "m.yaml:4:27: incoming_call_action must be 'auto_reject', 'auto_accept', 'webhook', "
            "'hosted_agent' or 'forward', not 'forward_to'",
            id="unknown action",
        ),
    ],
)
def test_routing_errors_at_their_node(lines: list[str], expected: str) -> None:
    write("m.yaml", manifest(*lines))
    found = errors("m.yaml")
    assert len(found) == 1 and found[0].startswith(expected), found


def test_sip_uri_from_the_environment_is_checked_after_expansion() -> None:
    write("m.yaml", manifest("forwarding_sip_uri: ${PBX}"))
    assert load("m.yaml", env={"PBX": "sip:desk@pbx.example.com"}).numbers[N].forwarding_sip_uri
    assert errors("m.yaml", env={"PBX": "sip:desk"}) == [
        "m.yaml:4:25: forwarding_sip_uri: 'sip:desk': the host must be a public DNS name "
        "(not an IP address or a local name)"
    ]


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("sip:reception@pbx.partners.example.com", None),
        ("SIPS:pbx.example.com:5061", None),
        ("sip:pbx.example.com?subject=x", None),
        ("sip:", "has no host"),
        ("sip:desk@pbx", "must be a public DNS name"),
        ("sip:[::1]", "is not a sip: or sips: URI"),
        ("sip:a@pbx.example.com:0", "has an invalid port"),
        ("sip:a b@pbx.example.com", "contains whitespace"),
        ("tel:+14155550100", "is not a sip: or sips: URI"),
    ],
)
def test_sip_uri_problem(uri: str, problem: str | None) -> None:
    found = sip_uri_problem(uri)
    assert (found is None) if problem is None else (found is not None and problem in found)


# -- routing_problem: the pure check, offline and against live ------------------------------


def live(action: str = "auto_reject", **fields: str | None) -> LiveNumber:
    return LiveNumber(
        "id",
        N,
        action,
        fields.pop("client_websocket_url", None),
        fields.pop("incoming_call_webhook_url", None),
        "blacklist",
        "blacklist",
        **fields,  # type: ignore[arg-type]
    )


def want(**fields: object) -> DesiredNumber:
    return DesiredNumber(N, **fields)  # type: ignore[arg-type]


PHONE, SIP = "+14155559000", "sip:desk@pbx.example.com"


@pytest.mark.parametrize(
    ("desired", "current", "problem"),
    [
        pytest.param(want(), None, None, id="nothing managed"),
        pytest.param(want(incoming_call_action="hosted_agent"), None, None, id="hosted_agent"),
        pytest.param(
            want(incoming_call_action="forward", forwarding_phone_number=None),
            None,
            None,
            id="offline: the other target may be live",
        ),
        pytest.param(
            want(incoming_call_action="forward", forwarding_phone_number=None),
            live("forward", forwarding_phone_number=PHONE),
            ("incoming_call_action", "neither the manifest nor live state has one"),
            id="live: clearing the only target of a forward",
        ),
        pytest.param(
            want(forwarding_phone_number=None),
            live("forward", forwarding_phone_number=PHONE),
            ("forwarding_phone_number", "possible only while switching incoming_call_action"),
            id="live: clearing while staying on forward",
        ),
        pytest.param(
            want(incoming_call_action="webhook", forwarding_phone_number=None),
            live(
                "forward",
                forwarding_phone_number=PHONE,
                incoming_call_webhook_url="https://h.example",
            ),
            None,
            id="live: clearing while switching away",
        ),
        pytest.param(
            want(forwarding_sip_uri=SIP),
            live("forward", forwarding_phone_number=PHONE),
            None,
            id="live: a new target replaces the other",
        ),
        pytest.param(
            want(incoming_call_action="forward"),
            live("webhook", incoming_call_webhook_url="https://h.example"),
            ("incoming_call_action", "neither the manifest nor live state has one"),
            id="live: forward with no target anywhere",
        ),
        pytest.param(
            want(incoming_call_action="webhook"),
            live("auto_reject"),
            ("incoming_call_action", "but there is no incoming_call_webhook_url live"),
            id="live: webhook without its URL",
        ),
        pytest.param(
            want(incoming_call_webhook_url=None),
            live("webhook", incoming_call_webhook_url="https://h.example"),
            ("incoming_call_webhook_url", "the manifest sets incoming_call_webhook_url: null"),
            id="live: clearing the URL the live action needs",
        ),
        pytest.param(
            want(incoming_call_webhook_url=None),
            live("ring_twice"),
            None,
            id="live: an action this tool does not know needs nothing",
        ),
    ],
)
def test_routing_problem(
    desired: DesiredNumber, current: LiveNumber | None, problem: tuple[str, str] | None
) -> None:
    found = routing_problem(desired, current)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.field == problem[0] and problem[1] in found.message


def test_final_routing_clears_the_replaced_target() -> None:
    final = final_routing(
        want(forwarding_sip_uri=SIP), live("forward", forwarding_phone_number=PHONE)
    )
    assert (final["forwarding_phone_number"], final["forwarding_sip_uri"]) == (None, SIP)
    kept = final_routing(
        want(incoming_call_action="webhook"), live("forward", forwarding_phone_number=PHONE)
    )
    assert kept["forwarding_phone_number"] == PHONE  # not managed: as it is live


def test_plan_switching_the_forwarding_target_clears_the_other_in_one_patch() -> None:
    # The planner judges and computes routing with these same functions.
    number = dataclasses.replace(live("forward", forwarding_sip_uri=SIP), agent_handle=None)
    plan = build_plan(
        DesiredState({N: want(forwarding_phone_number=PHONE)}), LiveState({N: number})
    )
    [step] = plan.steps
    assert step.kind == "update_routing"
    assert step.fields == {
        "forwarding_phone_number": PHONE,
        "forwarding_sip_uri": None,
        "forwarding_target_type": "phone",
    }
    with pytest.raises(PlanError, match="clearing the forwarding target is possible only"):
        build_plan(DesiredState({N: want(forwarding_sip_uri=None)}), LiveState({N: number}))
