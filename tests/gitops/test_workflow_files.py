"""What the action and the example workflows promise that running them cannot show:
triggers, permissions, concurrency, which secrets they need, and that the docs match."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitops.actions import load_workflow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "github-actions"
WORKFLOWS = EXAMPLE / ".github" / "workflows"
NAMES = ("inkbox-plan.yml", "inkbox-apply.yml", "inkbox-drift.yml")
ACTION = "YOUR_ORG/inkbox-sync@v0.1.0"
COMMANDS = {"inkbox-plan.yml": "plan", "inkbox-apply.yml": "apply", "inkbox-drift.yml": "drift"}
API_STEPS = {"plan", "apply", "check"}  # ids of the action's steps that talk to the API


def workflow(name: str) -> dict[str, Any]:
    return load_workflow(WORKFLOWS / name)


def steps(name: str) -> list[dict[str, Any]]:
    (job,) = workflow(name)["jobs"].values()
    return list(job["steps"])


def action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def action_steps() -> list[dict[str, Any]]:
    return list(action()["runs"]["steps"])


def test_the_workflows_are_where_a_user_copies_them_from() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_workflow_is_a_checkout_and_the_action(name: str) -> None:
    assert [s["uses"] for s in steps(name)] == ["actions/checkout@v5", ACTION]
    with_ = steps(name)[1]["with"]
    assert with_["command"] == COMMANDS[name] and with_["manifests"] == "manifests"
    assert set(with_) <= set(action()["inputs"])
    body = [line for line in (WORKFLOWS / name).read_text().splitlines() if line.strip()]
    assert len([line for line in body if not line.lstrip().startswith("#")]) < 45


@pytest.mark.parametrize("name", NAMES)
def test_one_secret_one_optional_variable(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"INKBOX_API_KEY"}
    assert set(re.findall(r"vars\.(\w+)", text)) == {"INKBOX_BASE_URL"}
    # The key is handed to the action as an input, nowhere else.
    spec = workflow(name)
    assert "env" not in spec and all("env" not in job for job in spec["jobs"].values())
    assert steps(name)[1]["with"]["api-key"] == "${{ secrets.INKBOX_API_KEY }}"


def test_the_placeholder_owner_cannot_be_a_github_account() -> None:
    # An unedited copy must fail to resolve, never run code someone published under it.
    owner = ACTION.split("/", 1)[0]
    github_login = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
    assert github_login.fullmatch(owner) is None


def test_the_action_gives_the_key_only_to_the_steps_that_call_the_api() -> None:
    for step in action_steps():
        env = step.get("env", {})
        assert ("INKBOX_API_KEY" in env) == (step.get("id") in API_STEPS), step.get("name")
        if "INKBOX_API_KEY" in env:
            assert env["INKBOX_API_KEY"] == "${{ inputs.api-key }}"


def test_the_action_installs_its_own_ref_into_a_venv_of_its_own() -> None:
    (install,) = [s for s in action_steps() if s.get("id") == "install"]
    assert (
        'pip install --disable-pip-version-check --quiet "${INSTALL:-$GITHUB_ACTION_PATH}"'
        in (install["run"])
    )
    assert 'python3 -m venv "$venv"' in install["run"] and "GITHUB_PATH" in install["run"]
    assert action()["inputs"]["install"]["default"] == ""
    for name in NAMES:  # the old per-workflow install line is gone
        assert "INKBOX_SYNC_SPEC" not in (WORKFLOWS / name).read_text(encoding="utf-8")


def test_the_action_never_interpolates_inputs_into_scripts() -> None:
    # Inputs reach scripts through env only, so no value can become shell code.
    for step in action_steps():
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")


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
    by_name = {s.get("name"): s for s in action_steps()}
    script = by_name["Post or update the comment"]["with"]["script"]
    writer = by_name["Write the comment"]["run"]
    marker = "<!-- inkbox-sync-plan -->"
    assert f'echo "{marker}"' in writer and f'marker = "{marker}"' in script
    assert "readFileSync(process.env.COMMENT_PATH" in script and '> "$out/comment.md"' in writer
    assert "updateComment" in script and "createComment" in script


def test_apply_never_cancels_a_running_apply_and_applies_only_main() -> None:
    spec = workflow("inkbox-apply.yml")
    assert spec["concurrency"] == {"group": "inkbox-apply", "cancel-in-progress": False}
    assert spec["on"]["push"]["branches"] == ["main"]
    force = spec["on"]["workflow_dispatch"]["inputs"]["force"]
    assert (force["type"], force["default"]) == ("boolean", False)
    assert spec["permissions"] == {"contents": "read"}
    assert spec["jobs"]["apply"]["if"] == "${{ github.ref == 'refs/heads/main' }}"
    # --force only from a run started by hand; a push never forces.
    assert steps("inkbox-apply.yml")[1]["with"]["force"] == (
        "${{ github.event_name == 'workflow_dispatch' && inputs.force }}"
    )
    assert action()["inputs"]["force"]["default"] == "false"


def test_drift_runs_on_a_schedule_and_by_hand() -> None:
    spec = workflow("inkbox-drift.yml")
    assert set(spec["on"]) == {"schedule", "workflow_dispatch"}
    (cron,) = [entry["cron"] for entry in spec["on"]["schedule"]]
    assert len(cron.split()) == 5
    assert spec["permissions"] == {"contents": "read"}
    assert spec["concurrency"] == {"group": "inkbox-drift", "cancel-in-progress": True}


def test_the_docs_name_what_a_user_must_set_up() -> None:
    guide = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for needed in ("INKBOX_API_KEY", "INKBOX_BASE_URL", "YOUR_ORG", "GITHUB_TOKEN", *NAMES):
        assert needed in guide, needed
    for name in action()["inputs"]:  # every input of the action is documented
        assert f"`{name}`" in guide, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- ci:start -->", 1)[1].split("<!-- ci:end -->", 1)[0]
    for needed in ("INKBOX_API_KEY", "inkbox-sync-validate", "--detailed-exitcode", "action.yml"):
        assert needed in section, needed
    for name in NAMES:
        assert name in section, name
