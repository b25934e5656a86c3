"""What the README's quickstart writes into the checkout is ignored by Git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quickstart_commands() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("<!-- quickstart:start -->", 1)[1].split("<!-- quickstart:end -->", 1)[0]


def test_the_quickstart_writes_what_this_test_checks() -> None:
    text = quickstart_commands()
    assert re.findall(r"--sandbox (\S+)", text) and set(re.findall(r"--sandbox (\S+)", text)) == {
        "demo.json"
    }
    assert "--output-dir adopted/" in text


@pytest.mark.parametrize(
    "path", ["demo.json", "demo.json.journal", "adopted/support-bot.yaml", ".venv/bin/python"]
)
def test_quickstart_artefacts_are_ignored(path: str) -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a Git checkout")
    result = subprocess.run([git, "check-ignore", "-q", path], cwd=ROOT, check=False)
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


def test_examples_are_not_ignored() -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a Git checkout")
    result = subprocess.run(
        [git, "check-ignore", "-q", "examples/demo.json"], cwd=ROOT, check=False
    )
    assert result.returncode == 1  # anchored: only the checkout's own quickstart files
