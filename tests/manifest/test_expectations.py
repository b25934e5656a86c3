"""`expect:` policy tests: the pure check, and its diagnostics at the entry's position."""

from __future__ import annotations

from inkbox_sync.manifest import check_expectations
from inkbox_sync.model import DesiredNumber, DesiredRule, Expectation, Rule
from tests.manifest.helpers import errors, load, write

NUMBER = "+18335794607"
A, B, C = "+14155550100", "+14155550101", "+14155550102"


def number(rules: dict[str, DesiredRule] | None, **kwargs: object) -> DesiredNumber:
    return DesiredNumber(NUMBER, rules=rules, **kwargs)  # type: ignore[arg-type]


def test_whitelist_without_allow_blocks() -> None:
    n = number({}, expect=Expectation(delivered=(A,)))
    [broken] = check_expectations(n, "whitelist")
    assert broken.message == (
        f"expect: {A} should be delivered but the desired policy blocks it "
        "(whitelist, no active allow rule)"
    )


def test_active_rule_decides_even_without_a_mode() -> None:
    rules = {A: DesiredRule(A, "block", origin="spammers"), B: DesiredRule(B, "allow")}
    n = number(rules, expect=Expectation(delivered=(A, B, C)))
    [broken] = check_expectations(n, None)
    assert broken.caller == A
    assert broken.reason == "active block rule from policy spammers"


def test_paused_rule_falls_back_to_the_mode() -> None:
    n = number({A: DesiredRule(A, "allow", "paused")}, expect=Expectation(delivered=(A,)))
    assert check_expectations(n, None) == []
    [broken] = check_expectations(n, "whitelist")
    assert broken.reason == "whitelist; its allow rule is paused"


def test_unmanaged_or_kept_rules_make_the_default_unknown() -> None:
    unmanaged = number(None, expect=Expectation(blocked=(A,)))
    keep = number({}, unmanaged_rules="keep", expect=Expectation(blocked=(A,)))
    for n in (unmanaged, keep):
        assert check_expectations(n, "blacklist") == []  # a live rule might block A
        assert [b.reason for b in check_expectations(n, "blacklist", kept={})] == [
            "blacklist, no active block rule"
        ]
        assert check_expectations(n, "blacklist", kept={A: Rule("block")}) == []
        assert check_expectations(n, "whitelist", kept={A: Rule("allow")})[0].reason == (
            "active allow rule kept from live"
        )


def test_broken_expectation_is_reported_at_its_entry() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        policies:
          spammers: {{block: ["{B}"]}}
        numbers:
          "{NUMBER}":
            filter_mode: whitelist
            use: [spammers]
            allow: ["{A}"]
            expect:
              delivered:
                - "{A}"
                - "{C}"
              blocked: ["{B}", "{A}"]
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:12:11: expect: {C} should be delivered but the desired policy blocks it "
        "(whitelist, no active allow rule)",
        f"m.yaml:13:33: expect: {A} is listed twice (delivered at m.yaml:11:11, blocked here)",
    ]


def test_without_filter_mode_only_callers_with_active_rules_are_checked() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "{NUMBER}":
            block: ["{A}"]
            expect:
              delivered: ["{A}", "{C}"]
              blocked: ["{B}"]
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:6:19: expect: {A} should be delivered but the desired policy blocks it "
        "(active block rule)"
    ]


def test_satisfied_expectations_load_with_their_location() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "{NUMBER}":
            filter_mode: blacklist
            block: ["{A}"]
            expect:
              delivered: ["{B}"]
              blocked: ["{A}"]
        """,
    )
    expect = load("m.yaml").numbers[NUMBER].expect
    assert expect is not None
    assert (expect.delivered, expect.blocked) == ((B,), (A,))
    assert str(expect.location) == "m.yaml:6:5"


# -- the outbound side: whom the agent may reach ---------------------------------------------


def test_outbound_expectations_are_judged_on_the_outbound_side() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "{NUMBER}":
            inbound_filter_mode: blacklist
            outbound_filter_mode: whitelist
            allow:
              - {{target: "{A}", direction: outbound}}
            block:
              - {{target: "{B}", direction: inbound}}
            expect:
              delivered: ["{A}", "{C}"]
              blocked: ["{B}"]
              outbound_allowed: ["{B}", "{C}"]
              outbound_blocked: ["{A}"]
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:13:26: expect: reaching {B} should be allowed outbound but the desired policy "
        "blocks it (whitelist, no active allow rule)",
        f"m.yaml:13:42: expect: reaching {C} should be allowed outbound but the desired policy "
        "blocks it (whitelist, no active allow rule)",
        f"m.yaml:14:26: expect: reaching {A} should be blocked outbound but the desired policy "
        "allows it (active allow rule)",
    ]


def test_a_side_whose_mode_is_unmanaged_judges_only_callers_with_rules() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        agents:
          research-bot:
            inbound_filter_mode: whitelist
            allow: [{{target: "{A}", direction: outbound}}]
            expect:
              outbound_allowed: ["{A}", "{B}"]
              delivered: ["{A}"]
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:8:19: expect: {A} should be delivered but the desired policy blocks it "
        "(whitelist, no active allow rule)"
    ]


def test_the_same_party_may_be_expected_on_each_side_but_once_per_side() -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "{NUMBER}":
            filter_mode: blacklist
            allow: []
            expect:
              delivered: ["{A}"]
              outbound_allowed: ["{A}"]
              outbound_blocked: ["{A}"]
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:9:26: expect: {A} is listed twice (outbound_allowed at m.yaml:8:26, "
        "outbound_blocked here)"
    ]
