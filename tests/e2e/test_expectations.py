"""`expect:` policy tests at plan time: judged with live state, shown with file:line:column."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.sandbox import SandboxProcess, api_writes

SCHEDULER = "+14155550003"


def test_plan_shows_broken_expectation_at_its_line_and_apply_needs_force(
    box: SandboxProcess, tmp_path: Path
) -> None:
    mode = next(n for n in box.get_state()["numbers"] if n["number"] == SCHEDULER)["filter_mode"]
    # filter_mode is left unmanaged, so only live state can say what an unnamed caller gets:
    # expect the opposite of the live default for one caller the manifest does not name.
    wrong = "blocked" if mode == "blacklist" else "delivered"
    manifest = tmp_path / "expect.yaml"
    manifest.write_text(
        "version: 1\n"
        "numbers:\n"
        f'  "{SCHEDULER}":\n'
        "    unmanaged_rules: delete\n"
        "    allow: []\n"
        '    block: ["+15550009999"]\n'
        "    expect:\n"
        f'      {wrong}: ["+15550001234"]\n'
    )
    valid = run_cli(["validate", manifest])
    assert valid.returncode == 0, valid.stderr  # offline, the mode is unknown: not judged

    plan = run_cli(["plan", manifest], box=box)
    assert plan.returncode == 0, plan.stderr
    assert f"{manifest}:7:5: expectation broken" in plan.stdout
    assert "+15550001234" in plan.stdout

    box.clear_requests()
    refused = run_cli(["apply", manifest, "--auto-approve"], box=box)
    assert refused.returncode == 1 and "expectation broken" in refused.stderr
    assert api_writes(box.requests()) == []
