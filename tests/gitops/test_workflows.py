"""The example GitHub Actions workflows, run act-like against a real sandbox.

Each test lays out a user's repository (manifests in `manifests/`, the
workflows in `.github/workflows/`), then runs a workflow's job with
`actions.Runner`: the same bash, the same environment layering, the same
`if:` conditions and exit codes a hosted runner would see. The workflows are
a few lines around this repository's own composite action (`action.yml`),
which the runner expands and runs step by step, exactly as GitHub would after
resolving `YOUR_ORG/inkbox-sync@v0.1.0` to this checkout. Other `uses:` steps
are checked to be the expected actions and stood in for, except github-script,
whose script runs under Node against a fake GitHub API holding the pull
request's comments. Installing inkbox-sync is skipped (this environment has
it), except in one slow test that runs the action's install step for real.
The API is `inkbox-sync sandbox serve`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.actions import JobResult, Runner, load_workflow
from tests.gitops.conftest import Sandbox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE = shutil.which("node")  # github-script@v8 runs on Node 24; the script needs no more than 20
EXAMPLE = ROOT / "examples" / "github-actions"
WORKFLOWS = EXAMPLE / ".github" / "workflows"
ACTION = "YOUR_ORG/inkbox-sync@v0.1.0"  # how the example workflows name this repository
MARKER = "<!-- inkbox-sync-plan -->"
REPOSITORY = "acme/phone-policy"
ALICE = {"login": "alice", "type": "User"}
HEAD_SHA = "5e1f0c2a9b7d4e3f8a6c1b0d2e4f6a8c0b1d3e5f"
TOKEN = "ghs_the-runs-own-token"

# Demo organisation (inkbox_sync/sandbox/v2026_06/demo.py): sales-bot's +14155550001 is a
# blacklist number blocking +18005550199 and +12025550143; scheduler-bot's
# +14155550003 is a blacklist number with no rules.
SALES_ONE_MORE_BLOCK = """\
version: 1
numbers:
  "+14155550001":
    agent: sales-bot
    filter_mode: blacklist
    block: ["+18005550199", "+12025550143", "+12025550144"]
"""
SCHEDULER_TO_WHITELIST = """\
version: 1
numbers:
  "+14155550003":
    agent: scheduler-bot
    filter_mode: whitelist
    allow: ["+14155550100"]
"""
UNKNOWN_KEY_ON_LINE_5 = """\
version: 1
numbers:
  "+14155550001":
    agent: sales-bot
    filtr_mode: blacklist
"""
# Rules unmanaged (no allow/block/use), so the live block of +12025550143 stays.
EXPECT_BROKEN_BY_LIVE_ON_LINE_5 = """\
version: 1
numbers:
  "+14155550001":
    agent: sales-bot
    expect:
      delivered: ["+12025550143"]
"""
NOT_OWNED = """\
version: 1
numbers:
  "+19995550100":
    filter_mode: blacklist
"""


@dataclass
class Recorder:
    """Stands in for the `uses:` actions and records what they were given.

    github-script really runs: its script, under Node as the action runs it,
    against a fake GitHub API whose pull-request comments live in `comments`.
    """

    comments: Path
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def handlers(self) -> dict[str, Any]:
        def record(action: str, check: Any) -> Any:
            def handler(with_: dict[str, str], workspace: Path, env: dict[str, str]) -> bool:
                self.calls.append((action, with_))
                return bool(check(with_, workspace, env))

            return handler

        return {
            "actions/checkout@v5": record(
                "checkout", lambda w, ws, env: (ws / "manifests").is_dir()
            ),
            "actions/setup-python@v6": record(
                "setup-python",
                lambda w, ws, env: tuple(map(int, w["python-version"].split("."))) >= (3, 11),
            ),
            # if-no-files-found defaults to "warn": a missing file does not fail the step.
            "actions/upload-artifact@v6": record("upload-artifact", lambda w, ws, env: True),
            "actions/github-script@v8": record("github-script", self._github_script),
        }

    def _github_script(self, with_: dict[str, str], workspace: Path, env: dict[str, str]) -> bool:
        if NODE is None:
            pytest.skip("node is not installed, so the github-script step cannot run here")
        script = workspace.parent / "github-script.js"
        script.write_text(with_["script"], encoding="utf-8")
        proc = subprocess.run(
            [NODE, str(HERE / "github_script_harness.js"), str(self.comments), str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return True

    def called(self, action: str) -> list[dict[str, str]]:
        return [with_ for name, with_ in self.calls if name == action]


def out(job: JobResult) -> Path:
    """Where the action keeps plan.md, plan.json, plan.err and comment.md: RUNNER_TEMP."""
    return job.temp / "inkbox-sync"


def read(job: JobResult, name: str) -> str:
    return (out(job) / name).read_text(encoding="utf-8")


@dataclass
class Repo:
    """A user's repository checked out on a runner, and the means to run its workflows."""

    workspace: Path
    sandbox: Sandbox
    home: Path
    #: Where `uses: YOUR_ORG/inkbox-sync@...` is checked out: this repository.
    action_dir: Path = ROOT
    skip_ids: frozenset[str] = frozenset({"install"})
    #: The runner's PATH: this test environment's inkbox-sync and python first.
    path: str = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"

    @property
    def comments(self) -> Path:
        """The pull request's comment thread, as the fake GitHub API keeps it."""
        return self.workspace.parent / "pr-comments.json"

    def comment_thread(self) -> list[dict[str, Any]]:
        thread: list[dict[str, Any]] = json.loads(self.comments.read_text(encoding="utf-8"))[
            "comments"
        ]
        return thread

    def write_manifests(self, files: dict[str, str]) -> None:
        manifests = self.workspace / "manifests"
        shutil.rmtree(manifests, ignore_errors=True)
        manifests.mkdir()
        for name, text in files.items():
            (manifests / name).write_text(text, encoding="utf-8")

    def run(
        self,
        workflow: str,
        *,
        event: str,
        ref: str = "refs/heads/main",
        inputs: dict[str, Any] | None = None,
        with_secret: bool = True,
        head_repo: str = REPOSITORY,
    ) -> tuple[JobResult, Recorder]:
        definition = load_workflow(self.workspace / ".github" / "workflows" / workflow)
        github = {
            "event_name": event,
            "ref": ref,
            "repository": REPOSITORY,
            "server_url": "https://github.com",
            "run_id": "4242",
            "sha": HEAD_SHA,
            "actor": "octocat",
            "token": TOKEN,
            "event": {
                "pull_request": {
                    "number": 7,
                    "head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}},
                }
                if event == "pull_request"
                else None
            },
        }
        base_env = {
            "PATH": self.path,
            "HOME": str(self.home),  # no ~/.inkbox/config of the developer's
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_REF": ref,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SHA": HEAD_SHA,
            "GITHUB_ACTOR": "octocat",
        }
        recorder = Recorder(self.comments)
        runner = Runner(
            workflow=definition,
            workspace=self.workspace,
            base_env=base_env,
            github=github,
            secrets={"INKBOX_API_KEY": self.sandbox.api_key} if with_secret else {},
            vars={"INKBOX_BASE_URL": self.sandbox.base_url},
            inputs=inputs or {},
            uses=recorder.handlers(),
            actions={ACTION: self.action_dir},
            skip_ids=self.skip_ids,
        )
        (job_name,) = definition["jobs"]
        return runner.run_job(job_name), recorder

    def cli(self, *args: str) -> int:
        """inkbox-sync run directly, as a person at a terminal would, outside any workflow."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(self.home),
            "INKBOX_API_KEY": self.sandbox.api_key,
            "INKBOX_BASE_URL": self.sandbox.base_url,
        }
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "inkbox-sync"), *args],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode


@pytest.fixture
def repo(tmp_path: Path, sandbox: Sandbox) -> Repo:
    workspace = tmp_path / "acme-phone-policy"
    shutil.copytree(EXAMPLE / ".github", workspace / ".github")
    home = tmp_path / "home"
    home.mkdir()
    result = Repo(workspace, sandbox, home)
    owner, name = REPOSITORY.split("/")
    thread = {"owner": owner, "repo": name, "issue_number": 7, "next_id": 1, "comments": []}
    result.comments.write_text(json.dumps(thread), encoding="utf-8")
    result.write_manifests({"sales.yaml": SALES_ONE_MORE_BLOCK})
    return result


def ran(job: JobResult, key: str) -> bool:
    return job.step(key).outcome != "skipped"


# --- pull request: validate, plan, comment ------------------------------------------


def test_pull_request_plans_the_examples_and_writes_one_comment(
    repo: Repo, sandbox: Sandbox
) -> None:
    shutil.rmtree(repo.workspace / "manifests")
    shutil.copytree(ROOT / "examples", repo.workspace / "manifests")
    # The copy holds these workflows too, under a hidden directory that the loader skips.
    assert (repo.workspace / "manifests" / "github-actions" / ".github" / "workflows").is_dir()

    job, actions = repo.run("inkbox-plan.yml", event="pull_request", ref="refs/pull/7/merge")

    assert job.conclusion == "success", job.log()
    assert [s.uses for s in job.steps] == ["actions/checkout@v5", ACTION]
    action = job.steps[1]
    assert action.kind == "composite" and action.outcome == "success", job.log()
    assert job.step("install").kind == "simulated"
    assert job.step("plan").outputs["changes"] == "true"  # exit 2, handled as success
    assert action.outputs == {
        "changes": "true",
        "plan-json": str(out(job) / "plan.json"),
        "plan-markdown": str(out(job) / "plan.md"),
    }
    plan_md = read(job, "plan.md")
    plan = json.loads(read(job, "plan.json"))
    assert plan["steps"] and plan["summary"]["create"] > 0
    assert "+18335794607" in plan_md and "support-bot" in plan_md
    assert plan_md in job.summary
    comment = read(job, "comment.md")
    assert comment.startswith(MARKER + "\n")
    assert plan_md in comment
    assert f"{HEAD_SHA[:12]}" in comment and "/acme/phone-policy/actions/runs/4242" in comment
    assert len(comment) < 65_536  # GitHub's comment limit
    assert actions.called("upload-artifact") == [
        {"name": "inkbox-plan", "path": str(out(job) / "plan.json")}
    ]
    (post,) = actions.called("github-script")
    assert post["github-token"] == TOKEN  # the action's default: the run's own token
    assert [c["body"] for c in repo.comment_thread()] == [comment]
    # A pull request only reads: not one write reached the API.
    assert sandbox.requests() and sandbox.writes() == []
    # Nothing written into the user's checkout.
    assert sorted(p.name for p in repo.workspace.iterdir()) == [".github", "manifests"]


def test_each_push_updates_the_one_plan_comment(repo: Repo) -> None:
    people = [
        {"id": 100, "issue_number": 7, "body": f"{MARKER} quoted in a review", "user": ALICE},
        {"id": 101, "issue_number": 7, "body": "looks good", "user": ALICE},
        {"id": 102, "issue_number": 7, "body": "one question", "user": ALICE},
    ]
    thread = json.loads(repo.comments.read_text(encoding="utf-8"))
    repo.comments.write_text(json.dumps({**thread, "comments": people, "next_id": 200}))

    def bot_comments() -> list[dict[str, Any]]:
        return [c for c in repo.comment_thread() if c["user"]["type"] == "Bot"]

    pushes = [
        ({"sales.yaml": SALES_ONE_MORE_BLOCK}, "success", "+12025550144"),
        ({"scheduler.yaml": SCHEDULER_TO_WHITELIST}, "success", "+14155550003"),
        ({"sales.yaml": UNKNOWN_KEY_ON_LINE_5}, "failure", "The manifests are invalid"),
    ]
    for manifests, conclusion, shown in pushes:
        repo.write_manifests(manifests)
        job, _ = repo.run("inkbox-plan.yml", event="pull_request")
        assert job.conclusion == conclusion, job.log()
        (comment,) = bot_comments()
        assert comment["id"] == 200  # created once, then updated in place
        assert comment["body"] == read(job, "comment.md")
        assert shown in comment["body"]
    assert [c for c in repo.comment_thread() if c["user"] == ALICE] == people


def test_pull_request_with_nothing_to_change(repo: Repo) -> None:
    assert repo.cli("apply", "manifests", "--auto-approve") == 0

    job, actions = repo.run("inkbox-plan.yml", event="pull_request")

    assert job.conclusion == "success", job.log()
    assert job.step("plan").outputs["changes"] == "false"
    comment = read(job, "comment.md")
    assert comment.startswith(MARKER) and "needs `--force`" not in comment
    assert len(actions.called("github-script")) == 1


def test_pull_request_warns_that_a_safety_valve_needs_a_forced_apply(repo: Repo) -> None:
    repo.write_manifests({"scheduler.yaml": SCHEDULER_TO_WHITELIST})

    job, _ = repo.run("inkbox-plan.yml", event="pull_request")

    assert job.conclusion == "success", job.log()
    comment = read(job, "comment.md")
    assert "safety valve(s) need `--force`" in comment
    assert "**inkbox-sync apply** workflow" in comment and "**force**" in comment
    (warning,) = job.step("plan").annotations  # from `plan` itself (issue 14)
    assert warning.level == "warning" and "filter_mode changes" in warning.message
    # The valve names a number: it is annotated where the number is declared.
    assert (warning.props["file"], warning.props["line"]) == ("manifests/scheduler.yaml", "3")


def test_a_broken_expectation_is_annotated_on_its_line(repo: Repo) -> None:
    repo.write_manifests({"sales.yaml": EXPECT_BROKEN_BY_LIVE_ON_LINE_5})

    job, _ = repo.run("inkbox-plan.yml", event="pull_request")

    # Valid as desired (validate passes); live breaks it, which the plan shows.
    assert job.conclusion == "success", job.log()
    assert job.step("plan").outputs["changes"] == "false"
    (warning,) = job.step("plan").annotations
    assert warning.level == "warning"
    assert (warning.props["file"], warning.props["line"]) == ("manifests/sales.yaml", "5")
    assert "expectation broken" in warning.message and "+12025550143" in warning.message
    comment = read(job, "comment.md")
    assert "expectation broken" in comment
    # Nothing to apply, so no "merge will not apply this" notice.
    assert "need `--force`" not in comment


def test_invalid_manifest_fails_the_pull_request_with_annotations(
    repo: Repo, sandbox: Sandbox
) -> None:
    repo.write_manifests({"sales.yaml": UNKNOWN_KEY_ON_LINE_5})

    job, actions = repo.run("inkbox-plan.yml", event="pull_request")

    assert job.conclusion == "failure"
    assert job.steps[1].outcome == "failure"  # the action's step fails the job
    validate = job.step("validate")
    assert (validate.outcome, validate.returncode) == ("failure", 1)
    assert job.step("plan").outcome == "skipped"
    assert job.step("Upload the plan").outcome == "skipped"
    errors = [a for a in job.annotations if a.level == "error"]
    assert errors, job.log()
    assert {(a.props["file"], a.props["line"]) for a in errors} == {("manifests/sales.yaml", "5")}
    assert all("filtr_mode" in a.message for a in errors)
    # The comment still runs, so an older plan comment is replaced, not left standing.
    comment = read(job, "comment.md")
    assert comment.startswith(MARKER) and "The manifests are invalid" in comment
    assert "manifests/sales.yaml:5:" in comment and "::error" not in comment
    assert len(actions.called("github-script")) == 1
    assert sandbox.requests() == []


def test_a_plan_error_fails_the_pull_request_and_is_commented(repo: Repo) -> None:
    repo.write_manifests({"other.yaml": NOT_OWNED})

    job, actions = repo.run("inkbox-plan.yml", event="pull_request")

    assert job.conclusion == "failure"
    assert job.step("validate").outcome == "success"
    plan = job.step("plan")
    assert (plan.outcome, plan.returncode) == ("failure", 1), job.log()
    assert any("plan failed (exit 1)" in a.message for a in plan.annotations)
    comment = read(job, "comment.md")
    assert "The plan failed" in comment and "+19995550100" in comment
    assert len(actions.called("github-script")) == 1


def test_a_pull_request_from_a_fork_gets_no_secret_and_posts_nothing(
    repo: Repo, sandbox: Sandbox
) -> None:
    job, actions = repo.run(
        "inkbox-plan.yml", event="pull_request", with_secret=False, head_repo="stranger/fork"
    )

    assert job.conclusion == "failure"
    plan = job.step("plan")
    assert plan.outcome == "failure"
    assert any("INKBOX_API_KEY secret is not available" in a.message for a in plan.annotations)
    assert job.step("comment").outcome == "success"
    # Its GITHUB_TOKEN cannot write to the pull request: the post step is skipped.
    assert job.step("actions/github-script").outcome == "skipped"
    assert actions.called("github-script") == [] and repo.comment_thread() == []
    assert sandbox.requests() == []


# --- merge to main: apply ---------------------------------------------------------


def test_merge_applies_and_converges(repo: Repo, sandbox: Sandbox) -> None:
    job, actions = repo.run("inkbox-apply.yml", event="push")

    assert job.conclusion == "success", job.log()
    assert job.step("plan").outputs["changes"] == "true"
    assert job.step("apply").outcome == "success"
    assert job.step("Check that nothing is left to do").outcome == "success"
    writes = sandbox.writes()
    assert [(w["method"], w["body"]["match_target"]) for w in writes] == [("POST", "+12025550144")]
    assert actions.called("upload-artifact") == [
        {"name": "inkbox-applied-plan", "path": str(out(job) / "plan.json")}
    ]
    assert actions.called("github-script") == []  # no pull request, no comment
    assert repo.cli("plan", "manifests", "--detailed-exitcode") == 0

    # The next push with nothing left to do plans, skips apply, writes nothing.
    sandbox.clear_requests()
    again, _ = repo.run("inkbox-apply.yml", event="push")
    assert again.conclusion == "success", again.log()
    assert again.step("plan").outputs["changes"] == "false"
    assert not ran(again, "apply") and not ran(again, "Upload the applied plan")
    assert "Nothing to do" in again.summary
    assert sandbox.writes() == []


def test_safety_valves_hold_the_merge_until_a_forced_manual_run(
    repo: Repo, sandbox: Sandbox
) -> None:
    repo.write_manifests({"scheduler.yaml": SCHEDULER_TO_WHITELIST})

    refused, _ = repo.run("inkbox-apply.yml", event="push")

    assert refused.conclusion == "failure"
    apply = refused.step("apply")
    assert (apply.outcome, apply.returncode) == ("failure", 1)
    assert any("'force' ticked" in a.message for a in apply.annotations)
    assert "refusing: 1 safety valve(s) tripped" in apply.stderr
    assert not ran(refused, "Check that nothing is left to do")
    assert sandbox.writes() == []

    forced, _ = repo.run("inkbox-apply.yml", event="workflow_dispatch", inputs={"force": True})

    assert forced.conclusion == "success", forced.log()
    assert any(a.level == "warning" for a in forced.step("apply").annotations)
    assert sandbox.writes()
    assert repo.cli("plan", "manifests", "--detailed-exitcode") == 0


def test_a_push_never_forces_even_with_a_force_input(repo: Repo, sandbox: Sandbox) -> None:
    # Only workflow_dispatch has inputs; the guard holds even if a push had one.
    repo.write_manifests({"scheduler.yaml": SCHEDULER_TO_WHITELIST})

    job, _ = repo.run("inkbox-apply.yml", event="push", inputs={"force": True})

    assert job.conclusion == "failure"
    assert job.step("apply").returncode == 1
    assert not any("Applying with --force" in a.message for a in job.annotations)
    assert sandbox.writes() == []


def test_a_manual_run_from_another_branch_applies_nothing(repo: Repo, sandbox: Sandbox) -> None:
    job, _ = repo.run(
        "inkbox-apply.yml", event="workflow_dispatch", ref="refs/heads/feature", inputs={}
    )

    assert job.conclusion == "skipped" and job.steps == []
    assert sandbox.requests() == []


# --- schedule: drift ----------------------------------------------------------------


def test_drift_check_passes_in_sync_and_fails_after_a_change_behind_its_back(
    repo: Repo, sandbox: Sandbox
) -> None:
    assert repo.cli("apply", "manifests", "--auto-approve") == 0

    quiet, _ = repo.run("inkbox-drift.yml", event="schedule")

    assert quiet.conclusion == "success", quiet.log()
    assert "No drift" in quiet.summary

    # Someone adds a rule in the dashboard.
    state = sandbox.state()
    sales = next(n for n in state["numbers"] if n["number"] == "+14155550001")
    state["rules"].append(
        {
            "phone_number_id": sales["id"],
            "action": "block",
            "match_type": "exact_number",
            "match_target": "+19005550100",
        }
    )
    sandbox.put_state(state)
    sandbox.clear_requests()

    drifted, _ = repo.run("inkbox-drift.yml", event="schedule")

    assert drifted.conclusion == "failure"
    check = drifted.step("drift")
    assert (check.outcome, check.returncode) == ("failure", 1)
    (error,) = [a for a in check.annotations if a.level == "error"]
    assert error.props["title"] == "Drift detected"
    assert "+19005550100" in drifted.summary
    assert sandbox.writes() == []  # a drift check never repairs


def test_drift_check_fails_on_an_expectation_live_state_broke_with_nothing_to_change(
    repo: Repo,
) -> None:
    """Issue 14: with no changes the drift job passed though an `expect:` was broken live."""
    repo.write_manifests({"sales.yaml": EXPECT_BROKEN_BY_LIVE_ON_LINE_5})

    job, _ = repo.run("inkbox-drift.yml", event="schedule")

    assert job.conclusion == "failure", job.log()
    plan = job.step("plan")
    assert plan.returncode == 1
    (warning,) = [a for a in plan.annotations if a.level == "warning"]
    assert (warning.props["file"], warning.props["line"]) == ("manifests/sales.yaml", "5")
    assert "expectation broken" in warning.message
    assert "--fail-on-warnings was given" in plan.stderr
    assert "expectation broken" in job.summary  # the plan is in the run's summary


def test_drift_check_fails_on_an_error_too(repo: Repo) -> None:
    repo.write_manifests({"other.yaml": NOT_OWNED})

    job, _ = repo.run("inkbox-drift.yml", event="workflow_dispatch")

    assert job.conclusion == "failure"
    assert job.step("plan").returncode == 1
    assert any("plan failed" in a.message for a in job.step("plan").annotations)
    assert job.step("drift").outcome == "skipped"


# --- the action's other inputs --------------------------------------------------------


def one_step_workflow(**with_: str) -> dict[str, Any]:
    return {
        "name": "probe",
        "on": {"push": {}},
        "jobs": {
            "probe": {
                "runs-on": "ubuntu-latest",
                "steps": [{"uses": "actions/checkout@v5"}, {"uses": ACTION, "with": with_}],
            }
        },
    }


def run_probe(repo: Repo, workflow: dict[str, Any]) -> tuple[JobResult, Recorder]:
    path = repo.workspace / ".github" / "workflows" / "probe.yml"
    path.write_text(json.dumps(workflow), encoding="utf-8")  # JSON is YAML
    try:
        return repo.run("probe.yml", event="push")
    finally:
        path.unlink()


def test_validate_needs_no_key_and_reads_no_api(repo: Repo, sandbox: Sandbox) -> None:
    job, actions = run_probe(repo, one_step_workflow(command="validate"))
    assert job.conclusion == "success", job.log()
    assert job.step("validate").stdout.startswith("valid: 1 file, 1 number")
    assert not ran(job, "plan") and actions.called("upload-artifact") == []
    assert sandbox.requests() == []

    repo.write_manifests({"sales.yaml": UNKNOWN_KEY_ON_LINE_5})
    failed, _ = run_probe(repo, one_step_workflow(command="validate"))
    assert failed.conclusion == "failure"
    assert {a.props.get("line") for a in failed.annotations if a.level == "error"} == {"5"}


@pytest.mark.parametrize(
    ("with_", "message"),
    [
        ({"command": "destroy"}, "command must be validate, plan, apply or drift, not 'destroy'"),
        ({"command": "plan", "force": "true"}, "force applies to command: apply only"),
    ],
)
def test_bad_inputs_fail_before_anything_runs(
    repo: Repo, sandbox: Sandbox, with_: dict[str, str], message: str
) -> None:
    job, _ = run_probe(repo, one_step_workflow(**with_))
    assert job.conclusion == "failure"
    assert any(message in a.message for a in job.step("inputs").annotations), job.log()
    assert not ran(job, "validate") and sandbox.requests() == []


@pytest.mark.slow
def test_the_action_installs_the_inkbox_sync_of_its_own_ref(
    repo: Repo, sandbox: Sandbox, tmp_path: Path
) -> None:
    # GitHub checks the action out at its ref into a directory of its own and runs
    # `pip install "$GITHUB_ACTION_PATH"` there: the same, into a fresh venv.
    checkout = tmp_path / "_actions" / "YOUR_ORG" / "inkbox-sync" / "v0.1.0"
    shutil.copytree(
        ROOT / "inkbox_sync",
        checkout / "inkbox_sync",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    repo.action_dir, repo.skip_ids = checkout, frozenset()
    # A PATH with a Python but without this environment's inkbox-sync: the steps after
    # the install can only find the one it installed (through GITHUB_PATH).
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    repo.path = f"{tools}:/usr/bin:/bin"
    assert shutil.which("inkbox-sync", path=repo.path) is None

    job, _ = repo.run("inkbox-drift.yml", event="schedule")

    install = job.step("install")
    assert install.outcome == "success", job.log()
    assert install.stdout.strip().startswith("inkbox-sync, version")
    assert os.access(job.temp / "inkbox-sync-venv" / "bin" / "inkbox-sync", os.X_OK)
    # The installed console script validated and planned: the demo organisation
    # differs from the manifests, so the drift check fails as it should.
    assert job.step("validate").outcome == job.step("plan").outcome == "success", job.log()
    assert job.step("plan").outputs["changes"] == "true"
    assert job.step("drift").outcome == "failure"
