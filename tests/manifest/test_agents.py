"""`agents:`: identities whose policy is managed by handle, with or without a number."""

from __future__ import annotations

import pytest

from inkbox_sync.model import UNSET, DesiredAgent, DesiredRule, Expectation, Location
from tests.manifest.helpers import errors, load, load_set, write


def test_an_agent_has_the_policy_keys() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          vip: {allow: ["+14155550110"]}
        agents:
          research-bot:
            outbound_filter_mode: whitelist
            use: [vip]
            allow:
              - {target: "+14155550100", direction: outbound}
            unmanaged_rules: keep
            expect:
              outbound_allowed: ["+14155550100", "+14155550110"]
              outbound_blocked: ["+14155550199"]
        """,
    )
    loaded = load_set("m.yaml")
    assert loaded.summary["agents"] == 1 and loaded.summary["numbers"] == 0
    agent = loaded.state.agents["research-bot"]
    assert agent == DesiredAgent(
        handle="research-bot",
        location=Location("m.yaml", 5, 3),
        outbound_filter_mode="whitelist",
        rules={
            "+14155550110": DesiredRule(
                "+14155550110", "allow", origin="vip", location=Location("m.yaml", 3, 17)
            ),
            "+14155550100": DesiredRule(
                "+14155550100",
                "allow",
                location=Location("m.yaml", 9, 9),
                direction="outbound",
            ),
        },
        unmanaged_rules="keep",
        expect=Expectation(
            location=Location("m.yaml", 11, 5),
            outbound_allowed=("+14155550100", "+14155550110"),
            outbound_blocked=("+14155550199",),
        ),
    )
    assert agent.filter_mode is UNSET and agent.inbound_filter_mode is UNSET


def test_an_empty_agent_manages_nothing() -> None:
    write("m.yaml", "version: 1\nagents:\n  research-bot: {}\n")
    agent = load("m.yaml").agents["research-bot"]
    assert agent.rules is None and agent.expect is None and agent.filter_mode is UNSET


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"m.yaml": "version: 1\nagents:\n  a: {}\n  a: {}\n"},
            ["m.yaml:4:3: duplicate key 'a'"],
            id="twice in one mapping",
        ),
        pytest.param(
            {
                "a.yaml": "version: 1\nagents:\n  a: {}\n",
                "b.yaml": "version: 1\nagents:\n  a: {}\n",
            },
            ["b.yaml:3:3: agent 'a' is declared twice: here and at a.yaml:3:3"],
            id="across files",
        ),
        pytest.param(
            {"m.yaml": "version: 1\nagents:\n  a: {agent: a}\n"},
            ["m.yaml:3:7: unknown key 'agent'"],
            id="an agent has no agent: key",
        ),
        pytest.param(
            {"m.yaml": "version: 1\nagents:\n  a: {incoming_call_action: webhook}\n"},
            ["m.yaml:3:7: unknown key 'incoming_call_action'"],
            id="routing belongs to a number",
        ),
        pytest.param(
            {"m.yaml": "version: 1\nagents:\n  a: {unmanaged_rules: keep}\n"},
            ["m.yaml:3:7: unmanaged_rules applies only when the agent manages its rules"],
            id="unmanaged_rules without rules",
        ),
        pytest.param(
            {"m.yaml": "version: 1\nagents:\n  a: {use: [nope]}\n"},
            ["m.yaml:3:13: unknown policy 'nope': no policies are declared in the files given"],
            id="unknown policy",
        ),
        pytest.param(
            {"m.yaml": 'version: 1\nagents:\n  "": {}\n'},
            ["m.yaml:3:3: an agent handle must not be empty"],
            id="empty handle",
        ),
        pytest.param(
            {
                "m.yaml": "version: 1\nagents:\n  a: {filter_mode: whitelist, allow: [],\n"
                "    expect: {delivered: ['+14155550100']}}\n"
            },
            [
                "m.yaml:4:26: expect: +14155550100 should be delivered but the desired policy "
                "blocks it (whitelist, no active allow rule)"
            ],
            id="expectations are checked",
        ),
    ],
)
def test_agent_errors(files: dict[str, str], expected: list[str]) -> None:
    for name, text in files.items():
        write(name, text)
    found = errors(*files)
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), found


NUMBER_AND_AGENT = """
version: 1
numbers:
  "+18335794607":
    agent: support-bot
    incoming_call_action: hosted_agent
{policy}
agents:
  support-bot:
    filter_mode: blacklist
"""


@pytest.mark.parametrize(
    ("policy", "keys"),
    [
        ("    filter_mode: whitelist", "filter_mode"),
        ("    outbound_filter_mode: whitelist", "outbound_filter_mode"),
        ('    allow: ["+14155550100"]\n    unmanaged_rules: keep', "allow, unmanaged_rules"),
        ("    use: []", "use"),
        ('    expect: {delivered: ["+14155550100"]}', "expect"),
    ],
)
def test_identity_managed_twice_names_both_places(policy: str, keys: str) -> None:
    write("m.yaml", NUMBER_AND_AGENT.format(policy=policy))
    assert errors("m.yaml") == [
        f"m.yaml:4:12: agent 'support-bot' is declared under agents: at m.yaml:{8 + policy.count(chr(10))}:3, "
        f"and number +18335794607 also manages its policy ({keys}); manage it in one place: "
        "move those keys under agents:, or remove the agents: entry (a number may keep "
        "`agent:` beside it, to assert its owner)"
    ]


def test_number_asserting_its_owner_beside_the_agent_entry_is_fine() -> None:
    # The number manages routing and asserts its owner; the agent entry manages policy.
    write("m.yaml", NUMBER_AND_AGENT.format(policy=""))
    state = load("m.yaml")
    assert state.numbers["+18335794607"].agent == "support-bot"
    assert state.agents["support-bot"].filter_mode == "blacklist"
