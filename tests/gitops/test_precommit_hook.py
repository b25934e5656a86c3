""".pre-commit-hooks.yaml, run the way pre-commit runs a hook (pre-commit itself is not
installed: it would build the hook's own virtualenv from this repository, which is
slow and needs the network; what it then executes is exactly what is run here).

pre-commit selects the staged files matching `files` (and not `exclude`), runs
nothing if none match, and otherwise runs `entry` + `args`, plus the file names
when `pass_filenames` is true, from the repository root; exit 0 passes.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HOOK_ID = "inkbox-sync-validate"

POLICIES = """\
version: 1
policies:
  spammers:
    block: ["+18005550199"]
"""
SALES = """\
version: 1
numbers:
  "+14155550001":
    filter_mode: blacklist
    use: [spammers]
"""
SALES_BROKEN = """\
version: 1
numbers:
  +14155550001:
    filter_mode: blacklist
    use: [spammers]
"""


def hook() -> dict[str, Any]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (found,) = [h for h in hooks if h["id"] == HOOK_ID]
    return dict(found)


def run_hook(repo: Path, staged: list[str], args: list[str] | None = None) -> tuple[int, str]:
    """What `pre-commit run` does for this hook, with `args` from the user's config."""
    spec = hook()
    include = re.compile(spec.get("files", ""))
    exclude = re.compile(spec.get("exclude", "^$"))
    selected = [f for f in staged if include.search(f) and not exclude.search(f)]
    if not selected:
        return 0, "(skipped: no files)"
    command = shlex.split(spec["entry"]) + (spec.get("args", []) if args is None else args)
    if spec.get("pass_filenames", True):
        command += selected
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        command,
        cwd=repo,
        env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(repo), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "policies.yaml").write_text(POLICIES, encoding="utf-8")
    (tmp_path / "manifests" / "sales.yaml").write_text(SALES, encoding="utf-8")
    # Other YAML in the repository is not a manifest and must not be validated as one.
    (tmp_path / "docker-compose.yml").write_text("services: {}\n", encoding="utf-8")
    return tmp_path


def test_the_hook_is_a_python_hook_over_the_manifest_directory() -> None:
    spec = hook()
    assert spec["language"] == "python"  # pre-commit pip-installs this repository
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert shlex.split(spec["entry"])[0] in scripts
    assert spec["pass_filenames"] is False and spec["args"] == ["manifests/"]


def test_valid_manifests_pass(repo: Path) -> None:
    code, output = run_hook(repo, ["manifests/sales.yaml"])
    assert code == 0, output
    assert "valid: 2 files" in output


def test_an_invalid_manifest_fails_the_commit_with_its_position(repo: Path) -> None:
    (repo / "manifests" / "sales.yaml").write_text(SALES_BROKEN, encoding="utf-8")
    code, output = run_hook(repo, ["manifests/sales.yaml"])
    assert code == 1
    assert "manifests/sales.yaml:3:" in output


def test_a_change_to_any_yaml_file_revalidates_the_manifests(repo: Path) -> None:
    (repo / "manifests" / "sales.yaml").write_text(SALES_BROKEN, encoding="utf-8")
    assert run_hook(repo, ["docker-compose.yml"])[0] == 1
    assert run_hook(repo, ["README.md"]) == (0, "(skipped: no files)")


def test_user_args_point_it_at_another_directory(repo: Path) -> None:
    (repo / "manifests").rename(repo / "phone")
    assert run_hook(repo, ["phone/sales.yaml"], args=["phone/"])[0] == 0
    assert run_hook(repo, ["phone/sales.yaml"])[0] == 1  # the default, manifests/, is gone


def test_why_not_pass_filenames_a_changed_file_alone_lacks_its_policies(repo: Path) -> None:
    """Validated alone, sales.yaml cannot see the policy it uses from policies.yaml."""
    bindir = Path(sys.executable).parent
    alone = subprocess.run(
        [str(bindir / "inkbox-sync"), "validate", "manifests/sales.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert alone.returncode == 1 and "unknown policy 'spammers'" in alone.stderr
    assert run_hook(repo, ["manifests/sales.yaml"])[0] == 0
