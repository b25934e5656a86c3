"""The act-like runner is only as good as its reading of GitHub's rules: check those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gitops.actions import (
    ExpressionError,
    Runner,
    condition,
    interpolate,
    parse_annotations,
    parse_file_commands,
)

CONTEXTS: dict[str, Any] = {
    "steps": {
        "plan": {"outcome": "success", "outputs": {"changes": "true"}},
        "comment-body": {"outcome": "skipped", "outputs": {}},
    },
    "inputs": {"force": True},
    "github": {"ref": "refs/heads/main", "repository": "acme/x"},
    "vars": {},
}
OK = {"success": True, "failure": False, "always": True, "cancelled": False}
FAILED = {"success": False, "failure": True, "always": True, "cancelled": False}


@pytest.mark.parametrize(
    ("expression", "status", "expected"),
    [
        (None, OK, True),
        (None, FAILED, False),
        # No status function: GitHub wraps it in success() && (...).
        ("${{ steps.plan.outputs.changes == 'true' }}", OK, True),
        ("${{ steps.plan.outputs.changes == 'true' }}", FAILED, False),
        ("steps.plan.outputs.changes == 'TRUE'", OK, True),  # strings ignore case
        ("${{ !cancelled() }}", FAILED, True),
        ("${{ !cancelled() && steps.comment-body.outcome == 'success' }}", FAILED, False),
        ("${{ failure() }}", FAILED, True),
        ("${{ always() }}", FAILED, True),
        ("${{ steps.nope.outputs.x == '' }}", OK, True),  # missing is null, null == ''
        ("${{ github.repository == 'acme/x' || false }}", OK, True),
        ("${{ inputs.force }}", OK, True),
    ],
)
def test_conditions(expression: str | None, status: dict[str, bool], expected: bool) -> None:
    assert condition(expression, CONTEXTS, status) is expected


def test_interpolation_renders_like_github() -> None:
    text = "${{ inputs.force }}|${{ vars.MISSING }}|${{ github.ref }}"
    assert interpolate(text, CONTEXTS, OK) == "true||refs/heads/main"


def test_what_is_not_modelled_is_an_error_not_a_guess() -> None:
    with pytest.raises(ExpressionError):
        condition("${{ contains(github.ref, 'main') }}", CONTEXTS, OK)
    with pytest.raises(ExpressionError):
        interpolate("${{ matrix.os }}", CONTEXTS, OK)


def test_file_commands_and_annotations() -> None:
    assert parse_file_commands("a=1\nbody<<EOF\nx=y\nz\nEOF\nb=\n") == {
        "a": "1",
        "body": "x=y\nz",
        "b": "",
    }
    (note,) = parse_annotations("noise\n::error file=m/a.yaml,line=5,col=3::bad key\n")
    assert (note.level, note.props, note.message) == (
        "error",
        {"file": "m/a.yaml", "line": "5", "col": "3"},
        "bad key",
    )


def test_a_failed_step_fails_the_job_and_skips_what_follows(tmp_path: Path) -> None:
    workflow = {
        "env": {"WHO": "${{ github.repository }}"},
        "defaults": {"run": {"shell": "bash"}},
        "jobs": {
            "j": {
                "steps": [
                    {"id": "a", "run": 'echo "who=$WHO" >> "$GITHUB_OUTPUT"'},
                    {"id": "b", "run": "false | true\necho unreachable"},  # pipefail
                    {"id": "c", "run": "echo skipped"},
                    {"id": "d", "if": "${{ failure() }}", "run": "echo ${{ steps.a.outputs.who }}"},
                ]
            }
        },
    }
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = Runner(workflow, workspace, {"PATH": "/usr/bin:/bin"}, github={"repository": "o/r"})
    job = runner.run_job("j")
    assert job.conclusion == "failure"
    assert [s.outcome for s in job.steps] == ["success", "failure", "skipped", "success"]
    assert "unreachable" not in job.step("b").stdout
    assert job.step("d").stdout == "o/r\n"
