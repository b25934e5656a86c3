"""`inkbox-sync plan` end to end: the CLI subprocess against a sandbox subprocess."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from tests.support.cli import EXAMPLES, REPO, run_cli
from tests.support.sandbox import SandboxProcess, api_writes, sandbox_process

PLAN_SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text())


def test_detailed_exitcode_is_2_with_changes_and_0_without(box: SandboxProcess) -> None:
    changes = run_cli(["plan", EXAMPLES, "--detailed-exitcode"], box=box)
    assert changes.returncode == 2, changes.stderr
    assert "transition safety: verified" in changes.stdout
    assert run_cli(["plan", EXAMPLES], box=box).returncode == 0  # without the flag: 0

    applied = run_cli(["apply", EXAMPLES, "--auto-approve", "--force"], box=box)
    assert applied.returncode == 0, applied.stderr
    after = run_cli(["plan", EXAMPLES, "--detailed-exitcode"], box=box)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "No changes." in after.stdout


def test_plan_only_reads(box: SandboxProcess) -> None:
    box.clear_requests()
    result = run_cli(["plan", EXAMPLES, "--out", box.state_path.parent / "p.json"], box=box)  # type: ignore[union-attr]
    assert result.returncode == 0, result.stderr
    log = box.requests()
    assert log and all(entry["method"] == "GET" for entry in log)
    assert api_writes(log) == []


def test_json_plan_validates_against_its_schema_and_target_limits_it(box: SandboxProcess) -> None:
    whole = run_cli(["plan", EXAMPLES, "--format", "json"], box=box)
    document = json.loads(whole.stdout)
    jsonschema.validate(document, PLAN_SCHEMA)
    assert len({c["number"] for c in document["changes"]}) > 1
    assert document["summary"]["create"] > 0 and document["safety"]["verified"] is True

    one = run_cli(["plan", EXAMPLES, "--format", "json", "--target", "+1 (415) 555-0001"], box=box)
    limited = json.loads(one.stdout)
    jsonschema.validate(limited, PLAN_SCHEMA)
    assert {c["number"] for c in limited["changes"]} == {"+14155550001"}
    assert {s["number"] for s in limited["steps"]} == {"+14155550001"}


def test_markdown_plan_is_a_collapsible_pr_comment(box: SandboxProcess) -> None:
    result = run_cli(["plan", EXAMPLES, "--format", "markdown"], box=box)
    assert result.returncode == 0
    assert result.stdout.startswith("### inkbox-sync plan")
    assert "<details>" in result.stdout and "| `+14155550001` |" in result.stdout


def test_errors_exit_1(box: SandboxProcess, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.yaml"
    stranger.write_text('version: 1\nnumbers:\n  "+19995550123":\n    filter_mode: blacklist\n')
    result = run_cli(["plan", stranger, "--detailed-exitcode"], box=box)
    assert result.returncode == 1
    assert "stranger.yaml:3:3: +19995550123 is not a number of this organisation" in result.stderr

    wrong_agent = tmp_path / "agent.yaml"
    wrong_agent.write_text('version: 1\nnumbers:\n  "+14155550001":\n    agent: billing-bot\n')
    result = run_cli(["plan", wrong_agent], box=box)
    assert result.returncode == 1 and "belongs to agent 'sales-bot' live" in result.stderr

    bad_key = run_cli(["plan", EXAMPLES], box=box, env={"INKBOX_API_KEY": "not-the-key"})
    assert bad_key.returncode == 1 and "401" in bad_key.stderr

    no_key = run_cli(["plan", EXAMPLES], env={"HOME": str(tmp_path)})
    assert no_key.returncode == 1 and "no API key" in no_key.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nnumbers:\n  +14155550001: {}\n")
    result = run_cli(["plan", broken, "--detailed-exitcode"], box=box)
    assert result.returncode == 1 and "broken.yaml:3:3:" in result.stderr


def test_reads_survive_injected_500s_and_429s(tmp_path: Path) -> None:
    with sandbox_process(tmp_path / "calm.json") as calm:
        expected = json.loads(run_cli(["plan", EXAMPLES, "--format", "json"], box=calm).stdout)
    with sandbox_process(tmp_path / "rough.json", fail_rate=0.3, seed=7, rate_limit=20) as rough:
        result = run_cli(["-v", "plan", EXAMPLES, "--format", "json"], box=rough)
        assert result.returncode == 0, result.stderr
        statuses = [entry["status"] for entry in rough.requests()]
    assert 500 in statuses, "the fault knob should have injected some 500s"
    got = json.loads(result.stdout)
    assert got["changes"] == expected["changes"] and got["steps"] == expected["steps"]
    assert "retries" in result.stderr


def test_v_names_the_detected_version_and_each_notice_shows_once(box: SandboxProcess) -> None:
    result = run_cli(["-v", "plan", EXAMPLES], box=box)
    assert result.returncode == 0, result.stderr
    assert f"API version {box.api_version} (detected: its numbers carry" in result.stderr
    assert f"API version {box.api_version} (staged rules are" in result.stdout
    notices = [line for line in result.stderr.splitlines() if line.startswith("Inkbox notice")]
    if box.api_version == "2026-10":  # every numbers read carries the mirror notice: one line
        assert notices == [
            "Inkbox notice (info, phone_number_filter_mode_mirror): A phone number's "
            "filter_mode, inbound_filter_mode and outbound_filter_mode are read-only mirrors "
            "of its agent identity's phone filter modes; read and change them on "
            "/api/v1/identities/{agent_handle}."
        ]
    else:
        assert notices == []
    forced = run_cli(["-v", "--api-version", box.api_version, "plan", EXAMPLES], box=box)
    assert f"API version {box.api_version} (as --api-version says)" in forced.stderr


def test_forcing_2026_06_against_2026_10_names_the_version_problem(tmp_path: Path) -> None:
    with sandbox_process(tmp_path / "org.json") as box:  # 2026-10
        box.clear_requests()
        one = ["--api-version", "2026-06", "plan", EXAMPLES, "--target", "+14155550001"]
        result = run_cli(one, box=box)
        assert result.returncode == 1
        assert "410" in result.stderr and "--api-version auto" in result.stderr
        gone = [e for e in box.requests() if e["status"] == 410]
        assert len(gone) == 1  # not retried


def test_the_manifests_load_in_a_child_forked_before_the_reads_start(box: SandboxProcess) -> None:
    # `-v`'s phases line: the loader's span starts at the fork, before the client is
    # even imported; loaded in a thread it would start after the reads.
    result = run_cli(["plan", EXAMPLES, "-v"], box=box)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("phases: "))
    spans = {
        name: (float(start), float(end))
        for name, start, end in re.findall(r"(\w+) (\d+\.\d+)-(\d+\.\d+)", line)
    }
    assert spans["manifests"][0] < spans["reads"][0] < spans["manifests"][1]
    assert "No changes." in result.stdout or "to create" in result.stdout
