"""The README's tables and commands are true: what they say is checked against the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from inkbox_sync.cli.main import cli
from inkbox_sync.sandbox.v2026_06.demo import demo_document

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
E164 = re.compile(r"\+\d{2,15}")


def section(heading: str) -> str:
    start = README.index(f"\n{heading}\n")
    following = re.search(r"\n#{2,3} ", README[start + len(heading) + 2 :])
    end = start + len(heading) + 2 + (following.start() if following else len(README))
    return README[start:end]


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return [row for row in cells[2:]]  # after the header and its rule


def test_the_2026_06_demo_organisation_table_matches_the_demo() -> None:
    demo = demo_document()
    handles = {i["id"]: i["agent_handle"] for i in demo["identities"]}
    by_handle = {handles[n["agent_identity_id"]]: n for n in demo["numbers"]}
    table = section("### The demo organisations").split("\n**2026-06**", 1)[1]
    rows = table_rows(table.split("\n\n", 2)[1])
    assert [row[0].strip("`") for row in rows] == list(by_handle)
    for handle, number, routing, mode, rules in rows:
        live = by_handle[handle.strip("`")]
        assert number.split()[0].strip("`") == live["number"], handle
        assert routing.strip("`") == live["incoming_call_action"], handle
        assert mode.split()[0].strip("`") == live["filter_mode"], handle
        targets = {r["match_target"] for r in demo["rules"] if r["phone_number_id"] == live["id"]}
        assert set(E164.findall(rules)) == targets, handle
        paused = {
            r["match_target"]
            for r in demo["rules"]
            if r["phone_number_id"] == live["id"] and r["status"] == "paused"
        }
        for target in paused:  # a paused rule is called paused
            assert re.search(rf"paused \w+ of `\{target}`", rules), (handle, target)


def command_options(path: list[str]) -> set[str]:
    command: click.Command | None = cli
    for name in path:  # get_command: the root imports its commands when asked (lazily)
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None, path
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def test_every_option_in_the_commands_table_exists() -> None:
    rows = table_rows(section("## Commands"))
    assert len(rows) == 6
    for row in rows:
        usage = row[0]
        words = re.findall(r"`([^`]+)`", usage)[0].split()
        path = words[:2] if words[0] == "sandbox" else words[:1]
        options = set(re.findall(r"--[a-z][a-z-]*", " ".join(re.findall(r"`([^`]+)`", usage))))
        assert options <= command_options(path), (path, options - command_options(path))


def test_the_global_options_paragraph_names_every_global_option() -> None:
    paragraph = README.split("Global options: ", 1)[1].split("\n\n", 1)[0]
    for param in cli.params:
        if param.name in ("help", "version"):
            continue
        assert any(f"`{opt}" in paragraph for opt in param.opts), param.name


def test_shell_completion_as_the_readme_documents_it() -> None:
    for shell in ("bash", "zsh", "fish"):
        assert f"_INKBOX_SYNC_COMPLETE={shell}_source inkbox-sync" in README
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    line = re.search(r'eval "\$\(_INKBOX_SYNC_COMPLETE=bash_source inkbox-sync\)"', README)
    assert line is not None
    script = "\n".join(
        [
            line.group(0),
            'complete() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=();',
            '  _inkbox_sync_completion inkbox-sync; printf "%s\\n" "${COMPREPLY[@]}"; echo --; }',
            "complete inkbox-sync pl",
            "complete inkbox-sync plan examples/ --sa",
            "complete inkbox-sync plan --format ''",
        ]
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/nonexistent"}
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, second, third, _ = result.stdout.split("--\n")
    assert first.split() == ["plan"]
    assert "--sandbox" in second.split()  # a global option, after the subcommand
    assert third.split() == ["text", "json", "markdown"]
