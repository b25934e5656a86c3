"""schemas/manifest.schema.json is the models' schema, and every example is valid both ways."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from inkbox_sync.client.v2026_06 import CAPABILITIES as CAPABILITIES_2026_06
from inkbox_sync.manifest import (
    load_manifest_set,
    manifest_json_schema,
    schema_text,
    version_problems,
)
from inkbox_sync.manifest.files import manifest_files
from inkbox_sync.manifest.normalize import E164_INPUT_PATTERN

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "manifest.schema.json"
EXAMPLES = ROOT / "examples"
#: Examples of what only API version 2026-10 expresses: a set of their own (they name
#: the same numbers as examples/, which plans them against either version today).
EXAMPLES_2026_10 = ROOT / "examples-2026-10"
# The manifests are what the loader reads from examples/ (hidden directories such as
# examples/github-actions/.github/ hold workflows, not manifests).
EXAMPLE_FILES = [path for _, path in manifest_files([EXAMPLES])[0]]
EXAMPLE_DIRS = sorted({EXAMPLES / p.relative_to(EXAMPLES).parts[0] for p in EXAMPLE_FILES})
ALL_EXAMPLE_FILES = EXAMPLE_FILES + [path for _, path in manifest_files([EXAMPLES_2026_10])[0]]
VALIDATOR = jsonschema.Draft202012Validator(manifest_json_schema())


def test_schema_file_is_the_generated_schema() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "schemas/manifest.schema.json is out of date: "
        "run `inkbox-sync schema > schemas/manifest.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema_with_patterns_and_enums() -> None:
    schema = manifest_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    text = json.dumps(schema)
    assert json.dumps(E164_INPUT_PATTERN) in text
    for value in (
        *("auto_reject", "auto_accept", "webhook", "hosted_agent", "forward"),
        *("blacklist", "whitelist", "paused", "inbound", "outbound", "both"),
    ):
        assert f'"{value}"' in text


def test_there_are_examples() -> None:
    names = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLE_FILES}
    assert {"single/support.yaml", "fleet/policies.yaml", "staged/partner.yaml"} <= names


@pytest.mark.parametrize("path", ALL_EXAMPLE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_validates_against_the_json_schema(path: Path) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize("path", ALL_EXAMPLE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == SCHEMA_FILE


@pytest.mark.parametrize(
    "target", [EXAMPLES, *EXAMPLE_DIRS, EXAMPLES_2026_10], ids=lambda p: p.name
)
def test_examples_validate_through_the_loader(target: Path) -> None:
    loaded = load_manifest_set([target], env={})
    assert loaded.state.numbers


def test_2026_10_examples_show_every_key_2026_06_cannot_express() -> None:
    state = load_manifest_set([EXAMPLES_2026_10], env={}).state
    problems = version_problems(state, CAPABILITIES_2026_06, "2026-06")
    found = {d.message.split(" cannot ")[0] for d in problems}
    assert found == {
        "direction: inbound",
        "direction: outbound",
        "inbound_filter_mode",
        "outbound_filter_mode",
        "incoming_call_action: hosted_agent",
        "incoming_call_action: forward",
        "forwarding_phone_number",
        "forwarding_sip_uri",
        "agents: 'support-bot'",
        "agents: 'research-bot'",
        "expect: outbound_allowed",
        "expect: outbound_blocked",
    }
    # ...and their names are the 2026-10 demo organisation's (agents without a number too).
    assert set(state.numbers) <= set(load_manifest_set([EXAMPLES], env={}).state.numbers)
    assert set(state.agents) == {"support-bot", "research-bot"}


def test_examples_name_each_demo_number_once() -> None:
    state = load_manifest_set([EXAMPLES], env={}).state
    assert sorted(state.numbers) == [
        "+12125550100",
        "+14155550001",
        "+14155550002",
        "+14155550003",
        "+18335794607",
    ]
    assert {n.agent for n in state.numbers.values()} == {
        "support-bot",
        "sales-bot",
        "billing-bot",
        "scheduler-bot",
        "partner-bot",
    }


def test_schema_rejects_what_the_loader_rejects() -> None:
    # the schema is not just decoration: editors flag the same mistakes
    bad = [
        {"version": 1, "numbers": {"18335794607": {}}},
        {"version": 1, "numbers": {"+18335794607": {"filtermode": "whitelist"}}},
        {"version": 1, "numbers": {"+18335794607": {"filter_mode": None}}},
        {"version": 1, "numbers": {"+18335794607": {"allow": [14155550100]}}},
        {"version": 1, "policies": {"p": {"block": [{"target": "+14155550100", "status": "off"}]}}},
        {"version": 1, "numbers": {"+18335794607": {"client_websocket_url": "http://x.example"}}},
        {"version": 2},
        {"version": 1, "policies": {"p": {"allow": [{"target": "+1415555", "direction": "in"}]}}},
        {"version": 1, "numbers": {"+18335794607": {"forwarding_sip_uri": "tel:+1415"}}},
        {"version": 1, "numbers": {"+18335794607": {"forwarding_phone_number": "4155550100"}}},
        {"version": 1, "numbers": {"+18335794607": {"inbound_filter_mode": None}}},
        {"version": 1, "numbers": {"+18335794607": {"expect": {"outbound": ["+14155550100"]}}}},
        {"version": 1, "agents": {"bot": {"incoming_call_action": "webhook"}}},
        {"version": 1, "agents": {"": {}}},
    ]
    for document in bad:
        assert not VALIDATOR.is_valid(document), document
