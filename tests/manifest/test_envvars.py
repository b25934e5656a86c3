"""`${VAR}` / `${VAR:-default}` expansion: unit rules, then through real files."""

from __future__ import annotations

import pytest

from inkbox_sync.manifest.envvars import expand
from tests.manifest.helpers import assert_error, errors, load, write

ENV = {"ENV": "staging", "EMPTY": "", "HOST": "hooks.example.com"}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("plain", "plain"),
        ("https://${HOST}/x", "https://hooks.example.com/x"),
        ("${ENV:-prod}", "staging"),
        ("${UNSET:-prod}", "prod"),
        ("${EMPTY:-prod}", "prod"),  # like the shell's :-, empty counts as unset
        ("${EMPTY}", ""),
        ("${UNSET:-}", ""),
        ("${UNSET:-a:b/c}", "a:b/c"),
        ("costs $$5 and $$ENV", "costs $5 and $ENV"),
        ("$5 or $ at the end $", "$5 or $ at the end $"),
        ("${ENV}${ENV}", "stagingstaging"),
    ],
)
def test_expand(text: str, expanded: str) -> None:
    assert expand(text, ENV) == (expanded, [])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "${UNSET}",
            "environment variable UNSET is not set (write ${UNSET:-default} to give a default)",
        ),
        ("$ENV/x", "$ENV is not expanded; write ${ENV} for the variable, or $$ENV for a literal $"),
        ("${ENV", "unclosed '${' in '${ENV'"),
        ("${1X}", "'${1X}' is not a variable reference"),
        ("${}", "'${}' is not a variable reference"),
    ],
)
def test_expand_problems(text: str, problem: str) -> None:
    _, problems = expand(text, ENV)
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_every_unset_variable_in_a_value_is_reported() -> None:
    _, problems = expand("${A}-${B}", {})
    assert len(problems) == 2


def test_expansion_happens_before_type_validation() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            agent: ${AGENT:-support-bot}
            incoming_call_action: ${ACTION}
            incoming_call_webhook_url: https://${HOST}/inkbox/${ENV:-prod}
            filter_mode: "${MODE}"
            allow: ["${VIP}"]
        """,
    )
    env = {
        "ACTION": "webhook",
        "HOST": "hooks.example.com",
        "MODE": "whitelist",
        "VIP": "+14155550100",
    }
    number = load("m.yaml", env=env).numbers["+18335794607"]
    assert number.agent == "support-bot"
    assert number.incoming_call_action == "webhook"
    assert number.incoming_call_webhook_url == "https://hooks.example.com/inkbox/prod"
    assert number.filter_mode == "whitelist"
    assert number.rules is not None and list(number.rules) == ["+14155550100"]


def test_unset_variable_is_an_error_at_the_scalar() -> None:
    write(
        "m.yaml",
        """
        version: 1
        numbers:
          "+18335794607":
            incoming_call_webhook_url: "https://hooks.example.com/${ENV}"
        """,
    )
    assert errors("m.yaml") == [
        "m.yaml:4:32: environment variable ENV is not set (write ${ENV:-default} to give a default)"
    ]


def test_expanded_values_are_still_validated() -> None:
    write("m.yaml", 'version: 1\nnumbers:\n  "+18335794607":\n    filter_mode: ${MODE}\n')
    assert_error(
        errors("m.yaml", env={"MODE": "greylist"}),
        "m.yaml:4:18: filter_mode must be 'blacklist' or 'whitelist', not 'greylist'",
    )


def test_keys_are_not_expanded() -> None:
    write("m.yaml", "version: 1\npolicies:\n  ${NAME}: {}\n")
    assert_error(
        errors("m.yaml", env={"NAME": "vip"}), "m.yaml:3:3: '${NAME}' is not a valid policy name"
    )


def test_dollar_escape_survives() -> None:
    write("m.yaml", 'version: 1\npolicies:\n  p: {description: "costs $$5"}\n')
    load("m.yaml")  # valid: the literal $ does not need an environment


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from inkbox_sync.manifest import load_manifests

    monkeypatch.setenv("MANIFEST_TEST_AGENT", "from-env")
    write("m.yaml", 'version: 1\nnumbers:\n  "+18335794607": {agent: "${MANIFEST_TEST_AGENT}"}\n')
    assert load_manifests(["m.yaml"]).numbers["+18335794607"].agent == "from-env"


@pytest.mark.parametrize(
    "reference",
    ["${INKBOX_API_KEY}", "${INKBOX_API_KEY:-x}", "${inkbox_api_key}", "$INKBOX_API_KEY"],
)
def test_inkbox_variables_are_refused_at_their_value(reference: str) -> None:
    """Finding 1: `?token=${INKBOX_API_KEY}` validated and put the key in a PR comment."""
    write(
        "m.yaml",
        f"""
        version: 1
        numbers:
          "+18335794607":
            incoming_call_action: webhook
            incoming_call_webhook_url: https://hooks.example.com/inkbox?token={reference}
        """,
    )
    found = errors("m.yaml", env={"INKBOX_API_KEY": "sk-CANARY-in-env"})
    assert_error(found, "m.yaml:5:32: ${")
    assert any("is refused: manifests may not read INKBOX_* variables" in d for d in found)
    assert not any("sk-CANARY-in-env" in d for d in found)
