"""What the example workflows promise that running them cannot show: triggers,
permissions, concurrency, which secrets they need, and that the docs match."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.actions import load_workflow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "github-actions"
WORKFLOWS = EXAMPLE / ".github" / "workflows"
NAMES = ("inkbox-plan.yml", "inkbox-apply.yml", "inkbox-drift.yml")
API_STEPS = {"plan", "apply", "drift"}  # ids of steps that talk to the API
EXPECTED_ACTIONS = {
    "inkbox-plan.yml": [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/upload-artifact@v4",
        "actions/github-script@v7",
    ],
    "inkbox-apply.yml": [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/upload-artifact@v4",
    ],
    "inkbox-drift.yml": ["actions/checkout@v4", "actions/setup-python@v5"],
}


def workflow(name: str) -> dict[str, Any]:
    return load_workflow(WORKFLOWS / name)


def steps(name: str) -> list[dict[str, Any]]:
    (job,) = workflow(name)["jobs"].values()
    return list(job["steps"])


def test_the_workflows_are_where_a_user_copies_them_from() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_only_the_expected_actions_are_used(name: str) -> None:
    assert [s["uses"] for s in steps(name) if "uses" in s] == EXPECTED_ACTIONS[name]


@pytest.mark.parametrize("name", NAMES)
def test_one_secret_one_optional_variable(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"INKBOX_API_KEY"}
    assert set(re.findall(r"vars\.(\w+)", text)) == {"INKBOX_BASE_URL"}
    spec = workflow(name)
    assert spec["env"]["MANIFESTS"] == "manifests"
    # The key reaches only the steps that call the API, never install or validate.
    assert "INKBOX_API_KEY" not in spec["env"]
    (job,) = spec["jobs"].values()
    assert "INKBOX_API_KEY" not in job.get("env", {})
    for step in steps(name):
        has_key = "INKBOX_API_KEY" in step.get("env", {})
        assert has_key == (step.get("id") in API_STEPS or "nothing is left" in step.get("name", ""))


def test_every_workflow_installs_inkbox_sync_the_same_honest_way() -> None:
    installs = [next(s for s in steps(n) if s.get("id") == "install") for n in NAMES]
    assert all(s["run"] == installs[0]["run"] for s in installs)
    assert (
        'pip install --disable-pip-version-check --quiet "$INKBOX_SYNC_SPEC"' in installs[0]["run"]
    )
    specs = {workflow(n)["env"]["INKBOX_SYNC_SPEC"] for n in NAMES}
    assert specs == {"inkbox-sync @ git+https://github.com/YOUR-ORG/inkbox-sync@v0.1.0"}
    for name in NAMES:  # and says it is not on PyPI yet
        assert "not on PyPI yet" in (WORKFLOWS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["inkbox-plan.yml", "inkbox-apply.yml"])
def test_triggers_watch_the_manifest_directory(name: str) -> None:
    (event,) = [e for e in workflow(name)["on"] if e != "workflow_dispatch"]
    assert "manifests/**" in workflow(name)["on"][event]["paths"]


def test_plan_runs_on_pull_requests_without_exposing_secrets_to_forks() -> None:
    spec = workflow("inkbox-plan.yml")
    # pull_request, never pull_request_target: a fork's code never runs with the key.
    assert set(spec["on"]) == {"pull_request"}
    assert spec["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert spec["concurrency"]["cancel-in-progress"] is True


def test_the_comment_step_and_the_post_step_agree_on_the_marker() -> None:
    by_name = {s.get("name"): s for s in steps("inkbox-plan.yml")}
    script = by_name["Post or update the comment"]["with"]["script"]
    writer = by_name["Write the comment"]["run"]
    marker = "<!-- inkbox-sync-plan -->"
    assert f'echo "{marker}"' in writer and f'marker = "{marker}"' in script
    assert 'readFileSync("comment.md"' in script and "> comment.md" in writer
    assert "updateComment" in script and "createComment" in script


def test_apply_never_cancels_a_running_apply_and_applies_only_main() -> None:
    spec = workflow("inkbox-apply.yml")
    assert spec["concurrency"] == {"group": "inkbox-apply", "cancel-in-progress": False}
    assert spec["on"]["push"]["branches"] == ["main"]
    force = spec["on"]["workflow_dispatch"]["inputs"]["force"]
    assert (force["type"], force["default"]) == ("boolean", False)
    assert spec["permissions"] == {"contents": "read"}
    assert spec["jobs"]["apply"]["if"] == "${{ github.ref == 'refs/heads/main' }}"


def test_drift_runs_on_a_schedule_and_by_hand() -> None:
    spec = workflow("inkbox-drift.yml")
    assert set(spec["on"]) == {"schedule", "workflow_dispatch"}
    (cron,) = [entry["cron"] for entry in spec["on"]["schedule"]]
    assert len(cron.split()) == 5
    assert spec["permissions"] == {"contents": "read"}


def test_the_docs_name_what_a_user_must_set_up() -> None:
    guide = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for needed in ("INKBOX_API_KEY", "INKBOX_BASE_URL", "INKBOX_SYNC_SPEC", "GITHUB_TOKEN", *NAMES):
        assert needed in guide, needed
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- ci:start -->", 1)[1].split("<!-- ci:end -->", 1)[0]
    for needed in ("INKBOX_API_KEY", "inkbox-sync-validate", "--detailed-exitcode", *NAMES):
        assert needed in section, needed
