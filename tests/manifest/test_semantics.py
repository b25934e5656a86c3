"""Semantic checks and the merge: E.164, URLs, routing, policies, duplicates across files."""

from __future__ import annotations

import pytest

from inkbox_sync.model import UNSET, DesiredRule, Location
from tests.manifest.helpers import assert_error, errors, load, load_set, write

# -- E.164 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("4155550100", "'4155550100' is not an E.164 number: it needs a leading '+'"),
        ("+0123456", "'+0123456' is not an E.164 number"),
        ("+1", "'+1' is not an E.164 number"),
        ("+1234567890123456", "'+1234567890123456' is not an E.164 number"),
        ("+1 415 CALL-NOW", "'+1 415 CALL-NOW' is not an E.164 number"),
        ("+1 415 555 0100 ", "'+1 415 555 0100 ' is not an E.164 number"),
        ("+(1) 415", "'+(1) 415' is not an E.164 number"),
    ],
)
def test_bad_e164_target(written: str, message: str) -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        policies:
          p:
            block: ["{written}"]
        """,
    )
    assert_error(errors("m.yaml"), f"m.yaml:4:13: {message}")


def test_bad_e164_number_key() -> None:
    write("m.yaml", 'version: 1\nnumbers:\n  "+44 (0) 20": {}\n  "18335794607": {}\n')
    found = errors("m.yaml")
    assert_error(found, "m.yaml:4:3: '18335794607' is not an E.164 number: it needs a leading '+'")
    assert len(found) == 1  # "+44 (0) 20" is +44020, a valid (if short) E.164 number


def test_numbers_and_targets_are_normalised() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+1 (833) 579-4607":
            allow: ["+1 415.555.0100", {target: "+1-415-555-0101", status: paused}]
            expect:
              delivered: ["+1 (415) 555-0100"]
        """,
    )
    number = load("m.yaml").numbers["+18335794607"]
    assert number.number == "+18335794607"
    assert number.rules is not None
    assert sorted(number.rules) == ["+14155550100", "+14155550101"]
    assert number.expect is not None and number.expect.delivered == ("+14155550100",)


def test_same_caller_written_two_ways_is_a_duplicate() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          p:
            allow:
              - "+14155550100"
              - "+1 415 555 0100"
        """,
    )
    assert errors("m.yaml") == [
        "m.yaml:6:9: +14155550100 is listed twice in allow of policy 'p': here and at m.yaml:5:9"
    ]


# -- URLs and routing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "url", "message"),
    [
        (
            "client_websocket_url",
            "ws://agent.example.com/ws",
            "plain ws://, allowed only for localhost",
        ),
        ("client_websocket_url", "https://agent.example.com/ws", "is not a wss:// URL"),
        ("client_websocket_url", "wss://", "'wss://' has no host"),
        ("client_websocket_url", "", "the URL is empty"),
        ("incoming_call_webhook_url", "http://hooks.example.com/x", "allowed only for localhost"),
        ("incoming_call_webhook_url", "https://hooks.example.com:99999/", "is not a valid URL"),
        ("incoming_call_webhook_url", "ftp://hooks.example.com/", "is not a https:// URL"),
        ("incoming_call_webhook_url", "https://hooks example.com/", "contains whitespace"),
    ],
)
def test_bad_url(field: str, url: str, message: str) -> None:
    write("m.yaml", f'version: 1\nnumbers:\n  "+18335794607":\n    {field}: "{url}"\n')
    column = 5 + len(field) + 2
    assert_error(errors("m.yaml"), f"m.yaml:4:{column}: {field}: ")
    assert message in errors("m.yaml")[0]


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("client_websocket_url", "ws://localhost:8080/ws"),
        ("client_websocket_url", "ws://127.0.0.1/ws"),
        ("client_websocket_url", "ws://[::1]:9000"),
        ("client_websocket_url", "wss://agent.example.com/ws?x=1"),
        ("incoming_call_webhook_url", "http://localhost:3000/hook"),
        ("incoming_call_webhook_url", "https://hooks.example.com/inkbox"),
    ],
)
def test_good_url(field: str, url: str) -> None:
    write("m.yaml", f'version: 1\nnumbers:\n  "+18335794607":\n    {field}: "{url}"\n')
    assert getattr(load("m.yaml").numbers["+18335794607"], field) == url


def test_url_null_means_must_be_empty_and_omitted_means_unmanaged() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            client_websocket_url: null
        """,
    )
    number = load("m.yaml").numbers["+18335794607"]
    assert number.client_websocket_url is None
    assert number.incoming_call_webhook_url is UNSET
    assert number.incoming_call_action is UNSET
    assert number.filter_mode is UNSET
    assert number.rules is None


@pytest.mark.parametrize(
    ("action", "field", "column"),
    [("auto_accept", "client_websocket_url", 27), ("webhook", "incoming_call_webhook_url", 27)],
)
def test_action_without_its_url_is_an_error(action: str, field: str, column: int) -> None:
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "+18335794607":
            incoming_call_action: {action}
            {field}: null
        """,
    )
    assert errors("m.yaml") == [
        f"m.yaml:4:{column}: incoming_call_action {action} needs a {field}, "
        f"but the manifest sets {field}: null (line 5)"
    ]


def test_action_with_url_left_unmanaged_is_left_to_plan_time() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            incoming_call_action: webhook
            client_websocket_url: null
        """,
    )
    number = load("m.yaml").numbers["+18335794607"]
    assert number.incoming_call_action == "webhook"
    assert number.incoming_call_webhook_url is UNSET


# -- policies and rules ------------------------------------------------------------


def test_policies_merge_into_numbers_and_the_number_wins() -> None:
    write(
        "policies.yaml",
        """
        version: 1
        policies:
          vip:
            allow: ["+14155550100", "+14155550101"]
          spammers:
            block:
              - target: "+18005550199"
                note: robocaller
        """,
    )
    write(
        "numbers.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            use: [vip, spammers]
            block: ["+14155550101"]
        """,
    )
    rules = load(".").numbers["+18335794607"].rules
    assert rules == {
        "+14155550100": DesiredRule(
            "+14155550100", "allow", origin="vip", location=Location("policies.yaml", 4, 13)
        ),
        "+14155550101": DesiredRule(
            "+14155550101", "block", location=Location("numbers.yaml", 5, 13)
        ),
        "+18005550199": DesiredRule(
            "+18005550199",
            "block",
            note="robocaller",
            origin="spammers",
            location=Location("policies.yaml", 7, 9),
        ),
    }


def test_rules_are_managed_only_with_allow_block_or_use() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          empty: {}
        numbers:
          "+14155550001": {}
          "+14155550002": {allow: []}
          "+14155550003": {use: [empty]}
          "+14155550004": {block: [], unmanaged_rules: keep}
        """,
    )
    numbers = load("m.yaml").numbers
    assert numbers["+14155550001"].rules is None
    assert numbers["+14155550002"].rules == {}
    assert numbers["+14155550003"].rules == {}
    assert numbers["+14155550004"].unmanaged_rules == "keep"
    assert numbers["+14155550001"].unmanaged_rules == "delete"


def test_unmanaged_rules_without_rules_is_an_error() -> None:
    write("m.yaml", 'version: 1\nnumbers:\n  "+18335794607":\n    unmanaged_rules: delete\n')
    assert_error(
        errors("m.yaml"),
        "m.yaml:4:5: unmanaged_rules applies only when the number manages its rules",
    )


def test_unknown_policy_in_use() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          vip: {}
          spammers: {}
        numbers:
          "+18335794607":
            use: [vip, vipp, partners]
        """,
    )
    assert errors("m.yaml") == [
        "m.yaml:7:16: unknown policy 'vipp' (did you mean 'vip'?)",
        "m.yaml:7:22: unknown policy 'partners'; declared policies: spammers, vip",
    ]


def test_policy_listed_twice_in_use() -> None:
    write("m.yaml", 'version: 1\npolicies: {p: {}}\nnumbers:\n  "+18335794607": {use: [p, p]}\n')
    assert errors("m.yaml") == ["m.yaml:4:29: policy 'p' is listed twice in use (also line 4)"]


def test_invalid_policy_is_not_also_unknown() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          vip:
            allow: [+14155550100]
        numbers:
          "+18335794607": {use: [vip]}
        """,
    )
    assert errors("m.yaml") == [
        'm.yaml:4:13: +14155550100 was read by YAML as the integer 14155550100; quote it: "+14155550100"'
    ]


def test_same_target_in_allow_and_block_names_both_lines() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            allow:
              - "+14155550100"
            block:
              - target: "+14155550100"
                status: paused
        """,
    )
    assert errors("m.yaml") == [
        "m.yaml:7:9: +14155550100 is in both allow and block of number +18335794607: "
        "allow at m.yaml:5:9, block here"
    ]


def test_same_target_in_allow_and_block_of_a_policy() -> None:
    write(
        "m.yaml", 'version: 1\npolicies:\n  p: {allow: ["+14155550100"], block: ["+14155550100"]}\n'
    )
    assert errors("m.yaml") == [
        "m.yaml:3:40: +14155550100 is in both allow and block of policy 'p': "
        "allow at m.yaml:3:15, block here"
    ]


def test_policies_that_disagree_name_both_places() -> None:
    write("a.yaml", 'version: 1\npolicies:\n  friends: {allow: ["+14155550100"]}\n')
    write("b.yaml", 'version: 1\npolicies:\n  foes: {block: ["+14155550100"]}\n')
    write(
        "c.yaml",
        """
        version: 1
        numbers:
          "+18335794607": {use: [friends, foes]}
          "+18335794608": {use: [friends, foes], allow: ["+14155550100"]}
        """,
    )
    assert errors(".") == [
        "c.yaml:3:35: policies 'friends' and 'foes' disagree on +14155550100: "
        "active allow at a.yaml:3:21, active block at b.yaml:3:18; write the rule on the number to decide"
    ]


def test_policies_that_agree_are_fine() -> None:
    write(
        "a.yaml",
        'version: 1\npolicies:\n  p1: {block: ["+14155550100"]}\n  p2: {block: ["+14155550100"]}\n',
    )
    write("b.yaml", 'version: 1\nnumbers:\n  "+18335794607": {use: [p1, p2]}\n')
    rules = load(".").numbers["+18335794607"].rules
    assert rules is not None and rules["+14155550100"].origin == "p1"


def test_number_declared_twice_across_files_names_both() -> None:
    write("a.yaml", 'version: 1\nnumbers:\n  "+18335794607": {}\n')
    write("sub/b.yaml", 'version: 1\nnumbers:\n  "+1 833 579 4607": {agent: x}\n')
    assert errors(".") == [
        "sub/b.yaml:3:3: number +18335794607 (written '+1 833 579 4607') is declared twice: "
        "here and at a.yaml:3:3"
    ]


def test_policy_declared_twice_across_files_names_both() -> None:
    write("a.yaml", "version: 1\npolicies:\n  vip: {}\n")
    write("b.yaml", "version: 1\npolicies:\n  vip:\n    allow: []\n")
    assert errors("a.yaml", "b.yaml") == [
        "b.yaml:3:3: policy 'vip' is declared twice: here and at a.yaml:3:3"
    ]


def test_invalid_number_still_counts_as_declared() -> None:
    write("a.yaml", 'version: 1\nnumbers:\n  "+18335794607": {filter_mode: sometimes}\n')
    write("b.yaml", 'version: 1\nnumbers:\n  "+18335794607": {}\n')
    found = errors(".")
    assert_error(
        found, "a.yaml:3:33: filter_mode must be 'blacklist' or 'whitelist', not 'sometimes'"
    )
    assert_error(found, "b.yaml:3:3: number +18335794607 is declared twice: here and at a.yaml:3:3")


def test_bad_policy_name() -> None:
    write("m.yaml", "version: 1\npolicies:\n  'my policy': {}\n")
    assert_error(errors("m.yaml"), "m.yaml:3:3: 'my policy' is not a valid policy name")


def test_empty_agent() -> None:
    write("m.yaml", 'version: 1\nnumbers:\n  "+18335794607": {agent: ""}\n')
    assert errors("m.yaml") == ["m.yaml:3:27: agent must not be empty"]


# -- all errors at once --------------------------------------------------------------


def test_every_error_in_every_file_is_reported_together_and_sorted() -> None:
    write("a.yaml", 'version: 1\nnumbers:\n  "+18335794607": {agent: yes, filter_mode: nope}\n')
    write("b.yaml", "version: 2\npolicies:\n  p: {allow: [+14155550100]}\n")
    write("c.yaml", 'version: 1\nnumbers:\n  "+18335794608": {use: [q]}\n')
    found = errors(".")
    assert [d.split(": ", 1)[0] for d in found] == [
        "a.yaml:3:27",
        "a.yaml:3:45",
        "b.yaml:1:10",
        "b.yaml:3:15",
        "c.yaml:3:26",
    ]


def test_a_bad_entry_does_not_hide_semantic_errors_of_the_others() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607": {filter_mode: 1}
          "+18335794608": {use: [nope]}
        """,
    )
    found = errors("m.yaml")
    assert_error(found, "m.yaml:3:33: 1 was read by YAML as an integer")
    assert_error(found, "m.yaml:4:26: unknown policy 'nope'")


def test_summary_counts() -> None:
    write("a.yaml", 'version: 1\npolicies:\n  p: {block: ["+14155550100", "+14155550101"]}\n')
    write("b.yaml", 'version: 1\nnumbers:\n  "+18335794607": {use: [p], allow: ["+14155550102"]}\n')
    write("c.yaml", 'version: 1\nnumbers:\n  "+18335794608": {}\n')
    assert load_set(".").summary == {
        "files": 3,
        "numbers": 2,
        "agents": 0,
        "rules": 3,
        "policies": 1,
    }


def test_a_bad_setting_does_not_hide_the_numbers_other_errors() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: off
            allow: ["+14155550100"]
            block: ["+14155550100"]
        """,
    )
    assert errors("m.yaml") == [
        'm.yaml:4:18: off is read by YAML as a boolean; quote it if you mean the string "off"',
        "m.yaml:6:13: +14155550100 is in both allow and block of number +18335794607: "
        "allow at m.yaml:5:13, block here",
    ]


PARTIAL = [
    # The vip policy is invalid, so its allow rule would be missing from the merge
    # and +14155550100 would look blocked under whitelist.
    (
        """
        version: 1
        policies:
          vip: {allow: [+14155550100]}
        numbers:
          "+18335794607":
            filter_mode: whitelist
            use: [vip]
            expect: {delivered: ["+14155550100"]}
        """,
        "m.yaml:3:17: +14155550100 was read by YAML as the integer",
    ),
    # A duplicate key: which filter_mode was meant is unknown, so nothing is judged.
    (
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: whitelist
            filter_mode: blacklist
            allow: []
            expect: {delivered: ["+14155550199"]}
        """,
        "m.yaml:5:5: duplicate key 'filter_mode'",
    ),
    # The allow list has an error and is dropped: unmanaged_rules is not blamed for it,
    # and the allowed caller is not reported as blocked.
    (
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: whitelist
            allow: ["+14155550100", 12]
            unmanaged_rules: keep
            expect: {delivered: ["+14155550100"]}
        """,
        "m.yaml:5:29: 12 was read by YAML as an integer",
    ),
    # A caller both allowed and blocked: only that is reported.
    (
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: whitelist
            allow: ["+14155550100"]
            block: ["+14155550100"]
            expect: {delivered: ["+14155550100"]}
        """,
        "m.yaml:6:13: +14155550100 is in both allow and block",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARTIAL)
def test_no_follow_on_errors_from_a_partial_entry(text: str, expected: str) -> None:
    write("m.yaml", text)
    found = errors("m.yaml")
    assert len(found) == 1, found
    assert_error(found, expected)
