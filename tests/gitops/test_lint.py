"""actionlint over the example workflows and the action they use, shellcheck over the
action's shell. Both come with the test extra as wheels that carry their binary."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "examples" / "github-actions" / ".github" / "workflows"
ACTION = "YOUR_ORG/inkbox-sync@v0.1.0"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}:/usr/bin:/bin")
    assert found, f"{name} is missing: pip install -e '.[test]' installs it"
    return found


def user_repository(root: Path, workflows: dict[str, str]) -> Path:
    """A repository as a user has it, except that the workflows name this checkout's
    action.yml as `./`, so actionlint reads its inputs and checks every `with:`."""
    repo = root / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy2(ROOT / "action.yml", repo / "action.yml")
    for name, text in workflows.items():
        local = text.replace(f"uses: {ACTION}", "uses: ./")
        (repo / ".github" / "workflows" / name).write_text(local, encoding="utf-8")
    return repo


def actionlint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("actionlint"), "-oneline", "-no-color", "-shellcheck", tool("shellcheck")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_actionlint_passes_the_workflows_and_the_action(tmp_path: Path) -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(WORKFLOWS.glob("*.yml"))}
    assert all(f"uses: {ACTION}" in text for text in texts.values())
    result = actionlint(user_repository(tmp_path, texts))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reads_the_action_s_inputs(tmp_path: Path) -> None:
    # The control: a workflow giving the action an input it does not have is caught,
    # so the pass above means the inputs were checked.
    text = (WORKFLOWS / "inkbox-drift.yml").read_text(encoding="utf-8")
    broken = text.replace("command: drift", "command: drift\n          dry-run: true")
    result = actionlint(user_repository(tmp_path, {"inkbox-drift.yml": broken}))
    assert result.returncode == 1
    assert 'input "dry-run" is not defined in action "inkbox-sync"' in result.stdout


def action_scripts() -> list[tuple[str, str]]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    found = []
    for step in data["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash", step["name"]
            # `${{ }}` never appears in these scripts (a test says so); keep shellcheck sane anyway.
            script = re.sub(r"\$\{\{.*?\}\}", "${GITHUB_EXPRESSION}", step["run"], flags=re.S)
            found.append((step["name"], script))
    return found


def shellcheck(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("shellcheck"), "--shell=bash", "--severity=style", "--format=gcc", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SCRIPTS = action_scripts()


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_shellcheck_passes_each_script_of_the_action(name: str, script: str) -> None:
    result = shellcheck(script)
    assert result.returncode == 0, f"{name}:\n{result.stdout}"


def test_shellcheck_catches_what_it_should() -> None:
    result = shellcheck("out=$RUNNER_TEMP/x\nmkdir -p $out\n")
    assert result.returncode == 1 and "SC2086" in result.stdout
