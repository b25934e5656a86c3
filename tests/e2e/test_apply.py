"""`inkbox-sync apply` end to end: convergence, idempotence, safety of what really happened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inkbox_sync.safety import check_steps
from tests.support.cli import EXAMPLES, run_cli
from tests.support.replay import duplicate_targets, live_from_document, steps_from_log
from tests.support.sandbox import (
    API_VERSIONS,
    SandboxProcess,
    add_rule,
    api_writes,
    mode_writes,
    sandbox_process,
)

SALES = "+14155550001"


def assert_safe_history(before: dict[str, Any], log: list[dict[str, Any]]) -> None:
    steps = steps_from_log(before, log)
    report = check_steps(live_from_document(before), steps)
    assert report.verified, report.violation


def number_doc(document: dict[str, Any], number: str) -> dict[str, Any]:
    return next(n for n in document["numbers"] if n["number"] == number)


def flip_manifest(box: SandboxProcess, tmp_path: Path) -> Path:
    """A manifest that flips the sales number's filter_mode and pins one caller."""
    mode = number_doc(box.get_state(), SALES)["filter_mode"]
    other = "whitelist" if mode == "blacklist" else "blacklist"
    path = tmp_path / "flip.yaml"
    path.write_text(
        f'version: 1\nnumbers:\n  "{SALES}":\n    filter_mode: {other}\n'
        '    allow: ["+14155550100"]\n    block: ["+14155550101"]\n'
    )
    return path


def test_apply_converges_is_idempotent_and_every_verdict_changes_once(box: SandboxProcess) -> None:
    before = box.get_state()
    box.clear_requests()
    result = run_cli(["apply", EXAMPLES, "--auto-approve", "--force"], box=box)
    assert result.returncode == 0, result.stderr
    assert "Applied" in result.stdout
    log = box.requests()
    assert api_writes(log), "the examples differ from the demo organisation"
    assert_safe_history(before, log)

    assert run_cli(["plan", EXAMPLES, "--detailed-exitcode"], box=box).returncode == 0
    box.clear_requests()
    again = run_cli(["apply", EXAMPLES, "--auto-approve"], box=box)
    assert again.returncode == 0 and "Nothing to do." in again.stdout
    assert api_writes(box.requests()) == []


def test_apply_makes_exactly_the_writes_its_plan_lists(box: SandboxProcess, tmp_path: Path) -> None:
    import json

    plan = json.loads(run_cli(["plan", EXAMPLES, "--format", "json"], box=box).stdout)
    box.clear_requests()
    assert run_cli(["apply", EXAMPLES, "--auto-approve", "--force"], box=box).returncode == 0
    assert len(api_writes(box.requests())) == len(plan["steps"])


def test_filter_mode_flip_is_safe_and_needs_force(box: SandboxProcess, tmp_path: Path) -> None:
    manifest = flip_manifest(box, tmp_path)
    box.clear_requests()
    refused = run_cli(["apply", manifest, "--auto-approve"], box=box)
    assert refused.returncode == 1
    assert "safety valve" in refused.stderr and "filter_mode changes" in refused.stderr
    assert api_writes(box.requests()) == []

    before = box.get_state()
    box.clear_requests()
    forced = run_cli(["apply", manifest, "--auto-approve", "--force"], box=box)
    assert forced.returncode == 0, forced.stderr
    log = box.requests()
    assert len(mode_writes(log)) == 1
    assert_safe_history(before, log)
    assert run_cli(["plan", manifest, "--detailed-exitcode"], box=box).returncode == 0


def test_no_terminal_and_no_auto_approve_refuses(box: SandboxProcess) -> None:
    box.clear_requests()
    result = run_cli(["apply", EXAMPLES, "--force"], box=box, input="y\n")
    assert result.returncode == 1 and "no terminal to confirm on" in result.stderr
    assert api_writes(box.requests()) == []


def test_stale_saved_plan_is_refused_with_zero_writes(box: SandboxProcess, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", EXAMPLES, "--out", saved], box=box).returncode == 0
    # Someone changes a planned number behind the plan's back.
    add_rule(box, SALES, "+15555550123")
    box.clear_requests()
    stale = run_cli(["apply", "--plan", saved, "--auto-approve", "--force"], box=box)
    assert stale.returncode == 1
    assert "is stale" in stale.stderr and SALES in stale.stderr
    assert api_writes(box.requests()) == []

    fresh = tmp_path / "fresh.json"
    assert run_cli(["plan", EXAMPLES, "--out", fresh], box=box).returncode == 0
    applied = run_cli(["apply", "--plan", fresh, "--auto-approve", "--force"], box=box)
    assert applied.returncode == 0, applied.stderr
    assert run_cli(["plan", EXAMPLES, "--detailed-exitcode"], box=box).returncode == 0


def test_saved_plan_of_another_api_version_is_refused_with_zero_writes(
    box: SandboxProcess, tmp_path: Path
) -> None:
    import json

    saved = tmp_path / "plan.json"
    assert run_cli(["plan", EXAMPLES, "--out", saved], box=box).returncode == 0
    document = json.loads(saved.read_text())
    assert document["api_version"] == box.api_version  # detected, and recorded
    other = next(v for v in API_VERSIONS if v != box.api_version)
    document["api_version"] = other  # as if planned against the other version
    saved.write_text(json.dumps(document))
    box.clear_requests()
    result = run_cli(["apply", "--plan", saved, "--auto-approve", "--force"], box=box)
    assert result.returncode == 1
    assert f"made against API version {other}, but this API speaks {box.api_version}" in (
        result.stderr
    )
    assert api_writes(box.requests()) == []
    # Forcing the plan's version does not help: the plan still names another API.
    forced = run_cli(
        ["--api-version", box.api_version, "apply", "--plan", saved, "--auto-approve"], box=box
    )
    assert forced.returncode == 1 and "run plan again" in forced.stderr
    assert api_writes(box.requests()) == []


def test_saved_plan_that_is_not_a_plan_is_a_clear_error(
    box: SandboxProcess, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"format_version": 99}')
    result = run_cli(["apply", "--plan", junk, "--auto-approve"], box=box)
    assert result.returncode == 1 and "is not an inkbox-sync plan" in result.stderr


@pytest.mark.parametrize(("api_version", "seed"), [("2026-10", 1), ("2026-06", 2)])
def test_apply_under_500s_and_rate_limits_converges(
    tmp_path: Path, api_version: str, seed: int
) -> None:
    with sandbox_process(
        tmp_path / "org.json", api_version=api_version, fail_rate=0.25, seed=seed, rate_limit=40
    ) as box:
        before = box.get_state()
        box.clear_requests()
        runs = []
        for _ in range(3):
            result = run_cli(["apply", EXAMPLES, "--auto-approve", "--force"], box=box)
            runs.append(result.returncode)
            if result.returncode == 0:
                break
            assert "run apply again" in result.stderr  # a clean failure says what to do
        assert runs[-1] == 0, runs
        log = box.requests()
        assert any(e.get("fault") == "after_commit" for e in log), "faults were injected"
        assert_safe_history(before, log)
        after = box.get_state()
        assert duplicate_targets(after) == []
        box.set_faults(fail_rate=0.0)
        assert run_cli(["plan", EXAMPLES, "--detailed-exitcode"], box=box).returncode == 0


def test_the_2026_10_examples_apply_safely_and_converge(tmp_path: Path) -> None:
    """examples-2026-10/: one-way rules, directional modes, forwarding, a hosted agent,
    an identity managed by handle with no number; the server merges and splits rows."""
    examples = EXAMPLES.parent / "examples-2026-10"
    with sandbox_process(tmp_path / "org.json") as box:
        before = box.get_state()
        box.clear_requests()
        result = run_cli(["apply", examples, "--auto-approve", "--force"], box=box)
        assert result.returncode == 0, result.stderr
        log = box.requests()
        assert any("/identities/research-bot/" in e["path"] for e in api_writes(log))
        assert_safe_history(before, log)
        assert run_cli(["plan", examples, "--detailed-exitcode"], box=box).returncode == 0
        box.clear_requests()
        again = run_cli(["apply", examples, "--auto-approve"], box=box)
        assert again.returncode == 0 and api_writes(box.requests()) == []
