"""Keys an API cannot express: plan-time errors at the key, judged on Capabilities."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inkbox_sync.cli.main import main
from inkbox_sync.client.v2026_06 import CAPABILITIES as CAPABILITIES_2026_06
from inkbox_sync.client.v2026_10 import CAPABILITIES as CAPABILITIES_2026_10
from inkbox_sync.manifest import version_problems
from inkbox_sync.model import CALL_ACTIONS, Capabilities
from tests.manifest.helpers import load, write
from tests.support.cli import run_cli
from tests.support.sandbox import api_writes, sandbox_process

PER_NUMBER = CAPABILITIES_2026_06  # what the 2026-06 adapter says its API can express
PER_IDENTITY = CAPABILITIES_2026_10  # ...and the 2026-10 one
N = "+18335794607"


def problems(text: str, caps: Capabilities = PER_NUMBER) -> list[str]:
    write("m.yaml", text)
    return [str(d) for d in version_problems(load("m.yaml"), caps, "2026-06")]


def number(*lines: str) -> str:
    return f'version: 1\nnumbers:\n  "{N}":\n' + "".join(f"    {x}\n" for x in lines)


@pytest.mark.parametrize(
    ("text", "expected", "capability"),
    [
        pytest.param(
            number('allow: [{target: "+14155550100", direction: inbound}]'),
            "m.yaml:4:38: direction: inbound cannot be expressed by API version 2026-06: "
            "its rules always cover both directions",
            "directional_rules",
            id="direction",
        ),
        pytest.param(
            number("inbound_filter_mode: whitelist"),
            "m.yaml:4:5: inbound_filter_mode cannot be expressed by API version 2026-06: one "
            "filter_mode governs both directions there; use filter_mode",
            "separate_modes",
            id="inbound mode",
        ),
        pytest.param(
            number("outbound_filter_mode: whitelist"),
            "m.yaml:4:5: outbound_filter_mode cannot be expressed by API version 2026-06: one "
            "filter_mode governs both directions there; use filter_mode",
            "separate_modes",
            id="outbound mode",
        ),
        pytest.param(
            number("incoming_call_action: hosted_agent"),
            "m.yaml:4:5: incoming_call_action: hosted_agent cannot be expressed by API version "
            "2026-06: it accepts auto_reject, auto_accept, webhook",
            "call_actions",
            id="hosted_agent",
        ),
        pytest.param(
            number("forwarding_sip_uri: null"),
            "m.yaml:4:5: forwarding_sip_uri cannot be expressed by API version 2026-06: it "
            "cannot forward calls",
            "call_actions",
            id="forwarding target, even null",
        ),
        pytest.param(
            number("allow: []", "expect:", '  outbound_blocked: ["+14155550100"]'),
            "m.yaml:6:7: expect: outbound_blocked cannot be checked against API version "
            "2026-06: its policy governs only inbound calls and texts",
            "outbound_side",
            id="outbound expectation",
        ),
        pytest.param(
            "version: 1\nagents:\n  research-bot: {}\n",
            "m.yaml:3:3: agents: 'research-bot' cannot be expressed by API version 2026-06: its "
            "policy belongs to numbers, not to agent identities; manage it under numbers:",
            "identity_policy",
            id="agents",
        ),
    ],
)
def test_each_key_an_api_cannot_express(text: str, expected: str, capability: str) -> None:
    assert problems(text) == [expected]
    assert problems(text, PER_IDENTITY) == []
    # Keyed on that one capability (the others do not matter):
    value = CALL_ACTIONS if capability == "call_actions" else True
    assert problems(text, dataclasses.replace(PER_NUMBER, **{capability: value})) == []


def test_every_key_at_once_and_a_policy_rule_once() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        policies:
          spam:
            block: ["+18005550199", {{target: "+18005550198", direction: inbound}}]
        numbers:
          "{N}":
            incoming_call_action: forward
            forwarding_phone_number: "+14155559000"
            use: [spam]
          "+18335794608":
            use: [spam]
            allow: [{{target: "+18005550199", direction: inbound}}]
        """,
    )
    found = [str(d) for d in version_problems(load("m.yaml"), PER_NUMBER, "2026-06")]
    assert [d.split(": ")[0:2] for d in found] == [
        ["m.yaml:4:54", "direction"],  # the policy's one-way rule: once for both numbers
        ["m.yaml:7:5", "incoming_call_action"],
        ["m.yaml:8:5", "forwarding_phone_number cannot be expressed by API version 2026-06"],
        ["m.yaml:12:38", "direction"],
    ]
    # spam's `both` block of +18005550199 is one-way on the second number only because the
    # number overrides its inbound side: it is reported there, not at the policy's line 4:13.


def test_targets_limit_the_check_and_an_unnamed_api_is_this_api() -> None:
    write(
        "m.yaml",
        f'version: 1\nnumbers:\n  "{N}": {{inbound_filter_mode: whitelist}}\n'
        '  "+18335794608": {filter_mode: whitelist}\n',
    )
    state = load("m.yaml")
    assert version_problems(state, PER_NUMBER, targets=["+18335794608"]) == []
    [problem] = version_problems(state, PER_NUMBER, targets=[N])
    assert problem.message.startswith("inbound_filter_mode cannot be expressed by this API:")


def test_2026_06_manifests_have_no_version_problems() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert version_problems(load(examples), PER_NUMBER, "2026-06") == []


# -- wired into plan and apply: the real CLI against a 2026-06 sandbox -------------------------


def test_plan_and_apply_refuse_what_the_api_cannot_express(tmp_path: Path) -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "{N}":
            agent: support-bot
            inbound_filter_mode: whitelist
            allow: [{{target: "+14155550100", direction: inbound}}]
        """,
    )
    expected = [
        "m.yaml:5:5: inbound_filter_mode cannot be expressed by API version 2026-06: one "
        "filter_mode governs both directions there; use filter_mode",
        "m.yaml:6:38: direction: inbound cannot be expressed by API version 2026-06: its rules "
        "always cover both directions",
        "error: 2 errors in manifests",
    ]
    assert run_cli(["validate", "m.yaml"], cwd=Path.cwd()).returncode == 0  # offline: accepted
    with sandbox_process(tmp_path / "org.json", api_version="2026-06") as box:
        box.clear_requests()
        for command in (["plan", "m.yaml"], ["apply", "m.yaml", "--auto-approve", "--force"]):
            result = run_cli(command, box=box, cwd=Path.cwd())
            assert result.returncode == 1, result.stdout
            assert result.stderr.splitlines() == expected
        assert api_writes(box.requests()) == []


@pytest.mark.parametrize(
    ("version", "code"), [("auto", 0), ("2026-10", 0), ("2026-06", 1)], ids=str
)
def test_validate_checks_versions_only_when_told_which(
    version: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    write("m.yaml", number("incoming_call_action: hosted_agent"))
    with pytest.raises(SystemExit) as exited:
        main(["--api-version", version, "validate", "m.yaml"])
    assert exited.value.code == code
    err = capsys.readouterr().err
    if code:
        assert err.splitlines()[0] == (
            "m.yaml:4:5: incoming_call_action: hosted_agent cannot be expressed by API version "
            "2026-06: it accepts auto_reject, auto_accept, webhook"
        )
