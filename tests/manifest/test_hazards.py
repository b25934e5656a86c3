"""YAML hazards are errors, never guesses: each case is a real file, and the exact
`file:line:column` of the offending node is asserted (the key for key problems,
the value for value problems)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.manifest.helpers import assert_error, errors, write

CASES = [
    # -- unquoted E.164: YAML reads an integer ----------------------------------
    (
        "unquoted number key",
        """
        version: 1
        numbers:
          +18335794607: {}
        """,
        'm.yaml:3:3: +18335794607 was read by YAML as the integer 18335794607; quote it: "+18335794607"',
    ),
    (
        "unquoted allow entry",
        """
        version: 1
        numbers:
          "+18335794607":
            allow: ["+14155550100", +14155550101]
        """,
        'm.yaml:4:29: +14155550101 was read by YAML as the integer 14155550101; quote it: "+14155550101"',
    ),
    (
        "unquoted rule target",
        """
        version: 1
        policies:
          vip:
            allow:
              - target: +14155550100
        """,
        "m.yaml:5:17: +14155550100 was read by YAML as the integer 14155550100",
    ),
    (
        "unquoted expect entry",
        """
        version: 1
        numbers:
          "+18335794607":
            expect:
              blocked:
                - +1_415_555_0100
        """,
        'm.yaml:6:11: +1_415_555_0100 was read by YAML as the integer 14155550100; quote it: "+1_415_555_0100"',
    ),
    # -- duplicate keys ---------------------------------------------------------
    (
        "duplicate top-level key",
        """
        version: 1
        numbers: {}
        numbers: {}
        """,
        "m.yaml:3:1: duplicate key 'numbers': already at line 2 column 1",
    ),
    (
        "duplicate number key",
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: blacklist
            filter_mode: whitelist
        """,
        "m.yaml:5:5: duplicate key 'filter_mode': already at line 4 column 5; YAML would silently keep only the last one",
    ),
    (
        "duplicate number",
        """
        version: 1
        numbers:
          "+18335794607": {}
          "+18335794607": {}
        """,
        "m.yaml:4:3: duplicate key '+18335794607': already at line 3 column 3",
    ),
    # -- yes/no/on/off ------------------------------------------------------------
    (
        "yes as agent",
        """
        version: 1
        numbers:
          "+18335794607":
            agent: yes
        """,
        'm.yaml:4:12: yes is read by YAML as a boolean; quote it if you mean the string "yes"',
    ),
    (
        "off as filter_mode",
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode: off
        """,
        'm.yaml:4:18: off is read by YAML as a boolean; quote it if you mean the string "off"',
    ),
    (
        "no as rule status",
        """
        version: 1
        policies:
          p:
            block:
              - target: "+14155550100"
                status: no
        """,
        "m.yaml:6:17: no is read by YAML as a boolean",
    ),
    (
        "On as a note",
        """
        version: 1
        policies:
          p:
            block:
              - target: "+14155550100"
                note: On
        """,
        'm.yaml:6:15: On is read by YAML as a boolean; quote it if you mean the string "On"',
    ),
    (
        "on as a key",
        """
        version: 1
        policies:
          on: {}
        """,
        'm.yaml:3:3: on is read by YAML as a boolean; quote it if you mean the string "on"',
    ),
    (
        "yes as a policy name in use",
        """
        version: 1
        numbers:
          "+18335794607":
            use: [yes]
        """,
        "m.yaml:4:11: yes is read by YAML as a boolean",
    ),
    # -- other implicit types ---------------------------------------------------------
    (
        "integer note",
        """
        version: 1
        policies:
          p:
            block:
              - target: "+14155550100"
                note: 2024
        """,
        'm.yaml:6:15: 2024 was read by YAML as an integer; quote it if you mean the string "2024"',
    ),
    (
        "date note",
        """
        version: 1
        policies:
          p:
            description: 2024-06-01
        """,
        'm.yaml:4:18: 2024-06-01 was read by YAML as a date; quote it if you mean the string "2024-06-01"',
    ),
    (
        "null filter_mode",
        """
        version: 1
        numbers:
          "+18335794607":
            filter_mode:
        """,
        "m.yaml:4:17: filter_mode is null (an empty value or ~ is null in YAML); give it a value, "
        "or remove the key to leave it unmanaged",
    ),
    (
        "null allow",
        """
        version: 1
        numbers:
          "+18335794607":
            allow: ~
        """,
        "m.yaml:4:12: allow is null (an empty value or ~ is null in YAML); write [] for an empty list",
    ),
    (
        "null numbers",
        """
        version: 1
        numbers:
        """,
        "m.yaml:2:9: numbers is null (an empty value or ~ is null in YAML); write {} for an empty mapping",
    ),
    (
        "null number",
        """
        version: 1
        numbers:
          "+18335794607":
        """,
        "m.yaml:3:18: number '+18335794607' is null (an empty value or ~ is null in YAML); write {}",
    ),
    # -- anchors, aliases, merge keys, tags ------------------------------------------
    (
        "anchor on a mapping",
        """
        version: 1
        policies:
          base: &base
            allow: ["+14155550100"]
        """,
        "m.yaml:3:9: anchors and aliases are not allowed; use policies: to share rules",
    ),
    (
        "alias",
        """
        version: 1
        policies:
          a:
            allow: ["+14155550100"]
        numbers:
          "+18335794607":
            allow: *x
        """,
        "m.yaml:7:12: anchors and aliases are not allowed; use policies: to share rules",
    ),
    (
        "anchor on a scalar",
        """
        version: 1
        numbers:
          "+18335794607":
            agent: &a support-bot
        """,
        "m.yaml:4:12: anchors and aliases are not allowed",
    ),
    (
        "merge key",
        """
        version: 1
        numbers:
          "+18335794607":
            <<: {}
        """,
        "m.yaml:4:5: merge keys (<<) are not allowed; use policies: to share rules",
    ),
    (
        "core tag",
        """
        version: 1
        numbers:
          "+18335794607":
            agent: !!str 123
        """,
        "m.yaml:4:12: YAML tags (!!str) are not allowed",
    ),
    (
        "local tag on a mapping",
        """
        version: 1
        numbers:
          "+18335794607": !number {}
        """,
        "m.yaml:3:19: YAML tags (!number) are not allowed",
    ),
    # -- unknown keys, with suggestions --------------------------------------------------
    (
        "unknown top-level key",
        """
        version: 1
        number: {}
        """,
        "m.yaml:2:1: unknown key 'number' (did you mean 'numbers'?)",
    ),
    (
        "number outside numbers:",
        """
        version: 1
        "+18335794607": {}
        """,
        "m.yaml:2:1: unknown key '+18335794607': numbers go under `numbers:`",
    ),
    (
        "unknown number key",
        """
        version: 1
        numbers:
          "+18335794607":
            filtermode: whitelist
        """,
        "m.yaml:4:5: unknown key 'filtermode' (did you mean 'filter_mode'?)",
    ),
    (
        "number setting in a policy",
        """
        version: 1
        policies:
          p:
            filter_mode: whitelist
        """,
        "m.yaml:4:5: unknown key 'filter_mode'; a policy may have: allow, block, description",
    ),
    (
        "unknown rule key",
        """
        version: 1
        policies:
          p:
            allow:
              - target: "+14155550100"
                stauts: paused
        """,
        "m.yaml:6:9: unknown key 'stauts' (did you mean 'status'?)",
    ),
    (
        "unknown expect key",
        """
        version: 1
        numbers:
          "+18335794607":
            expect:
              deliver: ["+14155550100"]
        """,
        "m.yaml:5:7: unknown key 'deliver' (did you mean 'delivered'?)",
    ),
    (
        "missing rule target",
        """
        version: 1
        policies:
          p:
            allow:
              - note: who?
        """,
        "m.yaml:5:9: missing required key 'target'",
    ),
    # -- enum values and versions ----------------------------------------------------------
    (
        "misspelt enum",
        """
        version: 1
        numbers:
          "+18335794607":
            incoming_call_action: accept
        """,
        "m.yaml:4:27: incoming_call_action must be 'auto_reject', 'auto_accept', 'webhook', 'hosted_agent' or 'forward', not 'accept'",
    ),
    (
        "missing version",
        """
        numbers: {}
        """,
        "m.yaml:1:1: missing required key 'version'; a manifest starts with `version: 1`",
    ),
    (
        "version 2",
        "version: 2\n",
        "m.yaml:1:10: version must be 1 (the only manifest format so far), not 2",
    ),
    ("quoted version", 'version: "1"\n', "m.yaml:1:10: version must be 1"),
    ("boolean version", "version: true\n", "m.yaml:1:10: version must be 1"),
    # -- whole-file problems ---------------------------------------------------------------
    ("empty file", "", "m.yaml:1:1: the file is empty; a manifest starts with `version: 1`"),
    ("comments only", "# nothing\n", "m.yaml:1:1: the file is empty"),
    (
        "two documents",
        """
        version: 1
        ---
        version: 1
        """,
        "m.yaml:2:1: a manifest file holds one YAML document",
    ),
    ("not a mapping", "- version: 1\n", "m.yaml:1:1: a manifest must be a mapping, not a list"),
    (
        "YAML syntax error",
        """
        version: 1
        numbers:
          "+18335794607": {agent: x
        """,
        "m.yaml:4:1: invalid YAML: while parsing a flow mapping",  # the rest is libyaml's wording
    ),
    # -- tabs: libyaml says "found character that cannot start any token" ----------------
    (
        "tab indentation",
        "version: 1\nnumbers:\n\t'+18335794607': {}\n",
        "m.yaml:3:1: this line is indented with a tab; YAML allows only spaces for indentation",
    ),
    (
        "tab after the spaces of an indentation",
        "version: 1\nnumbers:\n  '+18335794607':\n  \tagent: x\n",
        "m.yaml:4:3: this line is indented with a tab; YAML allows only spaces for indentation",
    ),
    (
        "tab indenting a key below a value",  # libyaml: "a tab character that violates indentation"
        "version: 1\nnumbers:\n  '+18335794607':\n    agent: x\n\tfilter_mode: y\n",
        "m.yaml:5:1: this line is indented with a tab",
    ),
    (
        "tab after a dash",
        "version: 1\npolicies:\n  p:\n    allow:\n    -\t'+14155550100'\n",
        "m.yaml:5:6: a tab where YAML needs a space",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hazard_is_an_error_at_its_node(text: str, expected: str) -> None:
    write("m.yaml", text)
    assert_error(errors("m.yaml"), expected)


def test_non_utf8_file_names_the_bad_byte() -> None:
    Path("latin1.yaml").write_bytes(
        b'version: 1\nnumbers:\n  "+18335794607":\n    agent: caf\xe9\n'
    )
    assert errors("latin1.yaml") == [
        "latin1.yaml:4:15: the file is not UTF-8 (byte 0xe9 cannot be decoded); save it as UTF-8"
    ]


def test_utf16_file_is_not_utf8() -> None:
    Path("wide.yaml").write_bytes("version: 1\n".encode("utf-16"))
    assert_error(errors("wide.yaml"), "wide.yaml:1:1: the file is not UTF-8")


def test_utf8_bom_and_non_ascii_columns() -> None:
    # columns count characters, not bytes; a BOM is tolerated
    Path("bom.yaml").write_bytes(
        '\ufeffversion: 1\nnumbers:\n  "+18335794607": {agent: "été", filter_mode: yes}\n'.encode()
    )
    assert_error(errors("bom.yaml"), "bom.yaml:3:47: yes is read by YAML as a boolean")


def test_control_character_is_located() -> None:
    Path("ctl.yaml").write_bytes(b"version: 1\npolicies:\n  p: {description: a\x07b}\n")
    assert_error(errors("ctl.yaml"), "ctl.yaml:3:21: invalid YAML: ")


def test_quoted_values_are_strings() -> None:
    # the same hazards, quoted, are exactly what the user meant
    write(
        "ok.yaml",
        """
        version: 1
        policies:
          "on":
            description: "yes"
            allow: ["+14155550100"]
        numbers:
          "+18335794607":
            agent: "no"
            use: ["on"]
        """,
    )
    from tests.manifest.helpers import load

    state = load("ok.yaml")
    number = state.numbers["+18335794607"]
    assert number.agent == "no"
    assert number.rules is not None and number.rules["+14155550100"].origin == "on"


def test_tab_messages_say_it_in_plain_words() -> None:
    write("tabs.yaml", "version: 1\nnumbers:\n\t'+18335794607': {}\n")
    (only,) = errors("tabs.yaml")
    assert "cannot start any token" not in only and "invalid YAML" not in only
    assert "replace the tab with spaces" in only


def test_everything_below_an_unquoted_number_key_is_still_checked() -> None:
    # The example: the unquoted key used to hide both problems below it.
    write(
        "sales.yaml",
        """
        version: 1
        numbers:
          +14155550001:
            agent: sales-bot
            filtr_mode: blacklist
            block: [+18005550199]
          "+14155550003":
            filter_mode: whitelst
        """,
    )
    assert errors("sales.yaml") == [
        'sales.yaml:3:3: +14155550001 was read by YAML as the integer 14155550001; quote it: "+14155550001"',
        "sales.yaml:5:5: unknown key 'filtr_mode' (did you mean 'filter_mode'?)",
        'sales.yaml:6:13: +18005550199 was read by YAML as the integer 18005550199; quote it: "+18005550199"',
        "sales.yaml:8:18: filter_mode must be 'blacklist' or 'whitelist', not 'whitelst'",
    ]


def test_below_other_typed_keys_too() -> None:
    write(
        "m.yaml",
        """
        version: 1
        policies:
          on:
            allow: ["+14155550100", +14155550101]
            alow: []
        numbers:
          +14155550001: {agent: x}
          "+14155550001": {agent: y}
        """,
    )
    found = errors("m.yaml")
    assert_error(found, "m.yaml:3:3: on is read by YAML as a boolean")
    assert_error(found, "m.yaml:4:29: +14155550101 was read by YAML as the integer 14155550101")
    assert_error(found, "m.yaml:5:5: unknown key 'alow' (did you mean 'allow'?)")
    assert_error(found, "m.yaml:7:3: +14155550001 was read by YAML as the integer")
    # The same number quoted and unquoted in one mapping: declared twice, said once each.
    assert_error(found, "m.yaml:8:3: duplicate key '+14155550001'")
    assert len(found) == 5, found


def test_an_unquoted_number_key_in_one_file_and_quoted_in_another() -> None:
    write("a.yaml", "version: 1\nnumbers:\n  +14155550001: {}\n")
    write("b.yaml", 'version: 1\nnumbers:\n  "+14155550001": {}\n')
    found = errors("a.yaml", "b.yaml")
    assert_error(found, "a.yaml:3:3: +14155550001 was read by YAML as the integer")
    assert_error(found, "b.yaml:3:3: number +14155550001 is declared twice: here and at a.yaml:3:3")
