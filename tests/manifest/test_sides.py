"""Rules per (target, side) and modes per side: `direction`, overrides, directional modes."""

from __future__ import annotations

import pytest

from inkbox_sync.model import UNSET, DesiredRule, Location, by_side
from tests.manifest.helpers import errors, load, write

N = "+18335794607"
T = "+14155550100"


def rule(action: str, direction: str, line: int, column: int, **kw: object) -> DesiredRule:
    return DesiredRule(
        T,
        action,  # type: ignore[arg-type]
        location=Location(kw.pop("file", "m.yaml"), line, column),  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


# -- direction on a number's own rules ---------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            'allow: ["+14155550100"]',
            lambda: rule("allow", "both", 4, 13),
            id="a string covers both sides",
        ),
        pytest.param(
            'allow: [{target: "+14155550100", direction: both}]',
            lambda: rule("allow", "both", 4, 13),
            id="explicit both",
        ),
        pytest.param(
            'block: [{target: "+14155550100", direction: inbound}]',
            lambda: rule("block", "inbound", 4, 13),
            id="inbound only",
        ),
        pytest.param(
            'allow: [{target: "+14155550100", direction: outbound, status: paused}]',
            lambda: rule("allow", "outbound", 4, 13, status="paused"),
            id="outbound only, staged",
        ),
        pytest.param(
            'allow: [{target: "+14155550100", direction: inbound}]\n'
            '    block: [{target: "+14155550100", direction: outbound}]',
            lambda: (rule("allow", "inbound", 4, 13), rule("block", "outbound", 5, 13)),
            id="allow inbound beside block outbound: a pair",
        ),
        pytest.param(
            'allow:\n      - {target: "+14155550100", direction: outbound}\n'
            '      - {target: "+14155550100", direction: inbound}',
            lambda: (rule("allow", "inbound", 6, 9), rule("allow", "outbound", 5, 9)),
            id="two one-way allows: a pair, in side order",
        ),
    ],
)
def test_direction_of_a_rule(entries: str, expected: object) -> None:
    write("m.yaml", f'version: 1\nnumbers:\n  "{N}":\n    {entries}\n')
    rules = load("m.yaml").numbers[N].rules
    assert rules == {T: expected()}  # type: ignore[operator]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            'allow: ["+14155550100", {target: "+14155550100", direction: inbound}]',
            "m.yaml:4:29: +14155550100 is listed twice in allow of number +18335794607: "
            "here and at m.yaml:4:13 (both cover inbound)",
            id="both then inbound",
        ),
        pytest.param(
            'allow: [{target: "+14155550100", direction: outbound}]\n    block: ["+14155550100"]',
            "m.yaml:5:13: +14155550100 is in both allow and block of number +18335794607: "
            "allow at m.yaml:4:13, block here (both cover outbound)",
            id="allow outbound, block both",
        ),
        pytest.param(
            'block:\n      - {target: "+14155550100", direction: inbound}\n'
            '      - {target: "+1 415 555 0100", direction: inbound, status: paused}',
            "m.yaml:6:9: +14155550100 is listed twice in block of number +18335794607: "
            "here and at m.yaml:5:9 (both cover inbound)",
            id="same side written two ways",
        ),
        pytest.param(
            'allow: ["+14155550100"]\n    block: ["+14155550100"]',
            "m.yaml:5:13: +14155550100 is in both allow and block of number +18335794607: "
            "allow at m.yaml:4:13, block here",
            id="both sides: no side named",
        ),
    ],
)
def test_same_target_and_side_twice_names_both_places(entries: str, expected: str) -> None:
    write("m.yaml", f'version: 1\nnumbers:\n  "{N}":\n    {entries}\n')
    assert errors("m.yaml") == [expected]


def test_same_target_and_side_twice_in_a_policy() -> None:
    write(
        "m.yaml",
        'version: 1\npolicies:\n  p:\n    allow: [{target: "+14155550100", direction: inbound}]\n'
        '    block: [{target: "+14155550100", direction: both}]\n',
    )
    assert errors("m.yaml") == [
        "m.yaml:5:13: +14155550100 is in both allow and block of policy 'p': "
        "allow at m.yaml:4:13, block here (both cover inbound)"
    ]


def test_bad_direction_is_an_error_at_its_value() -> None:
    write(
        "m.yaml",
        f'version: 1\nnumbers:\n  "{N}":\n    allow: [{{target: "{T}", direction: in}}]\n',
    )
    assert errors("m.yaml") == [
        "m.yaml:4:49: direction must be 'inbound', 'outbound' or 'both', not 'in'"
    ]


# -- a number's rule over a policy's, per side ----------------------------------------------

POLICIES = f"""
version: 1
policies:
  spam:
    block: ["{T}"]
  friends:
    allow: [{{target: "{T}", direction: outbound}}]
"""


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(
            '{use: [spam], allow: [{target: "+14155550100", direction: inbound}]}',
            lambda: (
                rule("allow", "inbound", 3, 41, file="n.yaml"),
                rule("block", "outbound", 4, 13, file="p.yaml", origin="spam"),
            ),
            id="inbound override keeps the policy's block outbound",
        ),
        pytest.param(
            '{use: [spam], allow: ["+14155550100"]}',
            lambda: rule("allow", "both", 3, 41, file="n.yaml"),
            id="both override replaces the policy's rule",
        ),
        pytest.param(
            "{use: [spam, friends]}",
            None,  # disagree on outbound: an error, below
            id="policies disagreeing on a side",
        ),
        pytest.param(
            '{use: [spam, friends], block: [{target: "+14155550100", direction: outbound}]}',
            lambda: (
                rule("block", "inbound", 4, 13, file="p.yaml", origin="spam"),
                rule("block", "outbound", 3, 50, file="n.yaml"),
            ),
            id="the number decides the side they disagree on",
        ),
        pytest.param(
            '{use: [friends], block: [{target: "+14155550100", direction: inbound}]}',
            lambda: (
                rule("block", "inbound", 3, 44, file="n.yaml"),
                rule("allow", "outbound", 6, 13, file="p.yaml", origin="friends"),
            ),
            id="a one-way policy rule beside the number's other side",
        ),
    ],
)
def test_number_rule_over_policy_rule_per_side(number: str, expected: object) -> None:
    write("p.yaml", POLICIES)
    write("n.yaml", f'version: 1\nnumbers:\n  "{N}": {number}\n')
    if expected is None:
        assert errors("p.yaml", "n.yaml") == [
            f"n.yaml:3:32: policies 'spam' and 'friends' disagree on {T} (outbound): "
            "active block at p.yaml:4:13, active allow at p.yaml:6:13; "
            "write the rule on the number to decide"
        ]
        return
    rules = load("p.yaml", "n.yaml").numbers[N].rules
    assert rules == {T: expected()}  # type: ignore[operator]


def test_policies_agreeing_on_the_side_they_share_merge() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        policies:
          a:
            block: [{{target: "{T}", direction: inbound}}]
          b:
            block: ["{T}"]
        numbers:
          "{N}": {{use: [a, b]}}
        """,
    )
    inbound, outbound = by_side(load("m.yaml").numbers[N].rules[T])  # type: ignore[index]
    assert (inbound, outbound) == (
        rule("block", "inbound", 4, 13, origin="a"),
        rule("block", "outbound", 6, 13, origin="b"),
    )


# -- directional modes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "modes"),
    [
        ("filter_mode: whitelist", ("whitelist", UNSET, UNSET)),
        ("inbound_filter_mode: whitelist", (UNSET, "whitelist", UNSET)),
        ("outbound_filter_mode: blacklist", (UNSET, UNSET, "blacklist")),
        (
            "inbound_filter_mode: blacklist\n    outbound_filter_mode: whitelist",
            (UNSET, "blacklist", "whitelist"),
        ),
    ],
)
def test_modes_per_side_and_a_side_left_out_is_unmanaged(keys: str, modes: tuple) -> None:  # type: ignore[type-arg]
    write("m.yaml", f'version: 1\nnumbers:\n  "{N}":\n    {keys}\n')
    number = load("m.yaml").numbers[N]
    assert (number.filter_mode, number.inbound_filter_mode, number.outbound_filter_mode) == modes


@pytest.mark.parametrize(
    ("section", "key", "noun"),
    [
        ("numbers", f'"{N}"', "number"),
        ("agents", "support-bot", "agent"),
    ],
)
@pytest.mark.parametrize("side", ["inbound", "outbound"])
def test_filter_mode_beside_a_directional_mode_names_both_keys(
    section: str, key: str, noun: str, side: str
) -> None:
    write(
        "m.yaml",
        f"version: 1\n{section}:\n  {key}:\n    filter_mode: whitelist\n"
        f"    {side}_filter_mode: blacklist\n",
    )
    assert errors("m.yaml") == [
        f"m.yaml:5:5: {side}_filter_mode and filter_mode (at m.yaml:4:5) cannot both be set "
        f"on one {noun}: filter_mode sets both sides; write inbound_filter_mode and "
        "outbound_filter_mode instead"
    ]


def test_directional_mode_must_be_a_mode() -> None:
    write("m.yaml", f'version: 1\nnumbers:\n  "{N}":\n    outbound_filter_mode: greylist\n')
    assert errors("m.yaml") == [
        "m.yaml:4:27: outbound_filter_mode must be 'blacklist' or 'whitelist', not 'greylist'"
    ]
