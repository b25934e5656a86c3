"""Crash matrix: kill apply after write k, for every k; the next apply converges safely.

The sandbox is told to commit exactly k writes and hold every later one
uncommitted (`hold_writes_after`). The killed apply runs with --concurrency 1,
so its only request in flight is the held one (with more, a write still on its
way to the gate could commit after the release and race the re-run, which is
concurrent applies, not a crash). Once apply is stuck on a held write, the
test SIGKILLs it, releases the held requests (answered 503, never committed),
and runs apply again. Across both runs the request log, replayed through the
safety checker from the state before, must show every caller's verdict
changing at most once; the end state must match the manifest with no
duplicate rule.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inkbox_sync.safety import check_steps
from tests.support.cli import run_cli, wait_until
from tests.support.replay import committed, duplicate_targets, live_from_document, steps_from_log
from tests.support.sandbox import SandboxProcess, api_writes, sandbox_process

SALES = "+14155550001"
ENTRY = "from inkbox_sync.cli.main import main; main()"


def crash_manifest(box: SandboxProcess, path: Path) -> Path:
    """Every kind of write: routing, a filter_mode flip with pins before and
    clean-up after, a staged (paused) rule, and deletes."""
    sales = next(n for n in box.get_state()["numbers"] if n["number"] == SALES)
    other = "whitelist" if sales["filter_mode"] == "blacklist" else "blacklist"
    path.write_text(
        "version: 1\n"
        "numbers:\n"
        f'  "{SALES}":\n'
        "    incoming_call_action: auto_reject\n"
        f"    filter_mode: {other}\n"
        '    allow: ["+15550001001", "+15550001002"]\n'
        "    block:\n"
        '      - "+15550001003"\n'
        '      - target: "+15550001004"\n'
        "        status: paused\n"
    )
    return path


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


def test_crash_after_every_write_converges_safely(tmp_path: Path) -> None:
    with sandbox_process(tmp_path / "probe.json") as probe:
        total = writes_needed(probe, crash_manifest(probe, tmp_path / "m.yaml"))
    assert total >= 8, "the manifest should exercise a real multi-step plan"

    for k in range(total):
        with sandbox_process(tmp_path / f"org-{k}.json") as box:
            manifest = crash_manifest(box, tmp_path / f"m-{k}.yaml")
            before = box.get_state()
            box.clear_requests()
            apply_until_held(box, manifest, k)
            assert sum(committed(e) for e in api_writes(box.requests())) == k

            rerun = run_cli(["apply", manifest, "--auto-approve", "--force"], box=box)
            assert rerun.returncode == 0, f"k={k}: {rerun.stderr}"
            log = box.requests()
            report = check_steps(live_from_document(before), steps_from_log(before, log))
            assert report.verified, f"k={k}: {report.violation}"
            assert duplicate_targets(box.get_state()) == []
            final = run_cli(["plan", manifest, "--detailed-exitcode"], box=box)
            assert final.returncode == 0, f"k={k}: {final.stdout}"


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
