"""Crash matrix: kill apply after write k, for every k; the next apply converges safely.

The sandbox is told to commit exactly k writes and hold every later one
uncommitted (`hold_writes_after`). The killed apply runs with --concurrency 1,
so its only request in flight is the held one (with more, a write still on its
way to the gate could commit after the release and race the re-run, which is
concurrent applies, not a crash). Once apply is stuck on a held write, the
test SIGKILLs it, releases the held requests (answered 503, never committed),
and runs apply again. Across both runs the request log, replayed through the
safety checker from the state before, must show every caller's verdict
changing at most once on each side; the end state must match the manifest
with no duplicate rule.

One sandbox per API version serves every k: its state is put back to the demo
organisation before each one (a process start per k would double the time).
The 2026-10 plan has what only 2026-10 has: each side's mode flipping its own
way, rules pinned across the flip by a direction update and moved back after
it, staged rules realised as harmless active rows (one per side where the
sides' defaults differ), and legacy paused rows (one deleted and created
again to become active, one kept as the staged rule it already is).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inkbox_sync.safety import check_steps
from tests.support.cli import run_cli, wait_until
from tests.support.replay import committed, duplicate_targets, live_from_document, steps_from_log
from tests.support.sandbox import API_VERSIONS, SandboxProcess, api_writes, sandbox_process

SALES, BILLING = "+14155550001", "+14155550002"
ENTRY = "from inkbox_sync.cli.main import main; main()"

#: 2026-06: routing, a filter_mode flip with pins before and clean-up after, a staged
#: (paused) rule, and deletes. `{other}` is the mode sales does not have.
MANIFEST_2026_06 = f"""\
version: 1
numbers:
  "{SALES}":
    incoming_call_action: auto_reject
    filter_mode: {{other}}
    allow: ["+15550001001", "+15550001002"]
    block:
      - "+15550001003"
      - target: "+15550001004"
        status: paused
"""
#: 2026-10 (demo: sales inbound blacklist / outbound whitelist, an inbound-only block
#: of +18005550190 and an outbound-only allow of +14155550110; billing blacklist with a
#: legacy paused allow of +14155550131; support a legacy paused block of +14155550167).
MANIFEST_2026_10 = f"""\
version: 1
numbers:
  "{SALES}":
    incoming_call_action: auto_reject
    inbound_filter_mode: whitelist
    outbound_filter_mode: blacklist
    allow: ["+15550001001", "+14155550110"]
    block:
      - "+15550001003"
      - target: "+15550001004"
        status: paused
      - target: "+18005550190"
        direction: outbound
  "{BILLING}":
    filter_mode: whitelist
    allow:
      - "+14155550110"
      - "+14155550131"
      - target: "+15550001005"
        status: paused
    block:
      - target: "+18005550199"
        direction: inbound
  "+18335794607":
    unmanaged_rules: keep
    block:
      - target: "+14155550167"
        status: paused
      - "+15550001006"
"""


def crash_manifest(box: SandboxProcess, path: Path) -> Path:
    if box.api_version == "2026-10":
        path.write_text(MANIFEST_2026_10)
        return path
    sales = next(n for n in box.get_state()["numbers"] if n["number"] == SALES)
    other = "whitelist" if sales["filter_mode"] == "blacklist" else "blacklist"
    path.write_text(MANIFEST_2026_06.format(other=other))
    return path


@pytest.fixture(params=API_VERSIONS)
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SandboxProcess]:
    with sandbox_process(tmp_path / "org.json", api_version=request.param) as box:
        yield box


def reset(box: SandboxProcess, document: dict[str, Any]) -> None:
    box.put_state(document)
    box.clear_requests()


def apply_until_held(box: SandboxProcess, manifest: Path, k: int) -> None:
    """Start apply, one request at a time, with the sandbox holding every write
    after the k-th; SIGKILL apply once it waits on a held write; release them."""
    box.set_faults(hold_writes_after=k)
    apply = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ENTRY,
            "--concurrency",
            "1",
            "apply",
            str(manifest),
            "--auto-approve",
            "--force",
        ],
        env={**_base_env(), "INKBOX_BASE_URL": box.base_url, "INKBOX_API_KEY": box.api_key},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: box.get_faults()["held"] > 0)
    finally:
        apply.send_signal(signal.SIGKILL)
        apply.wait()
    box.set_faults(hold_writes_after=None)  # held writes answer 503, uncommitted
    wait_until(lambda: box.get_faults()["held"] == 0)


def writes_needed(box: SandboxProcess, manifest: Path) -> int:
    plan = json.loads(run_cli(["plan", manifest, "--format", "json"], box=box).stdout)
    return len(plan["steps"])


def assert_converged_safely(box: SandboxProcess, manifest: Path, before: dict[str, Any]) -> None:
    log = box.requests()
    report = check_steps(live_from_document(before), steps_from_log(before, log))
    assert report.verified, report.violation
    assert duplicate_targets(box.get_state()) == []
    final = run_cli(["plan", manifest, "--detailed-exitcode"], box=box)
    assert final.returncode == 0, final.stdout


def test_crash_after_every_write_converges_safely(demo: SandboxProcess, tmp_path: Path) -> None:
    before = demo.get_state()
    manifest = crash_manifest(demo, tmp_path / "m.yaml")
    total = writes_needed(demo, manifest)
    assert total >= 8, "the manifest should exercise a real multi-step plan"

    for k in range(total):
        reset(demo, before)
        apply_until_held(demo, manifest, k)
        assert sum(committed(e) for e in api_writes(demo.requests())) == k, f"k={k}"
        rerun = run_cli(["apply", manifest, "--auto-approve", "--force"], box=demo)
        assert rerun.returncode == 0, f"k={k}: {rerun.stderr}"
        try:
            assert_converged_safely(demo, manifest, before)
        except AssertionError as exc:
            raise AssertionError(f"k={k}: {exc}") from None


@pytest.mark.parametrize("seed", [3, 4])
def test_500s_after_commit_on_a_2026_10_plan_converge_safely(tmp_path: Path, seed: int) -> None:
    """Half the injected failures of writes come after the write committed: the client
    retries a create whose first attempt landed (and the server may have merged it),
    so adoption, not a duplicate, must follow; then a rerun finishes."""
    with sandbox_process(tmp_path / "org.json", fail_rate=0.3, seed=seed) as box:
        before = box.get_state()
        manifest = crash_manifest(box, tmp_path / "m.yaml")
        box.clear_requests()
        for _ in range(4):
            result = run_cli(["apply", manifest, "--auto-approve", "--force"], box=box)
            if result.returncode == 0:
                break
            assert "run apply again" in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
        log = box.requests()
        assert any(e.get("fault") == "after_commit" for e in api_writes(log)), "no fault hit"
        box.set_faults(fail_rate=0.0)
        assert_converged_safely(box, manifest, before)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INKBOX_")}


@pytest.mark.parametrize("k", [0, 3])
def test_held_writes_are_never_committed(tmp_path: Path, k: int) -> None:
    """The knob itself: with a hold after k writes, exactly k commit."""
    with sandbox_process(tmp_path / "org.json") as box:
        manifest = crash_manifest(box, tmp_path / "m.yaml")
        box.clear_requests()
        apply_until_held(box, manifest, k)
        assert sum(committed(e) for e in api_writes(box.requests())) == k
