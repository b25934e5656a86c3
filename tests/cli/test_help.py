"""Every command's --help has examples; apply's names every valve --force overrides."""

from __future__ import annotations

import re

import click
import pytest

from inkbox_sync.cli.main import cli
from tests.support.cli import run_cli


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


PATHS = command_paths(cli)


def test_the_command_tree_is_what_the_readme_documents() -> None:
    assert PATHS == [
        (),
        ("apply",),
        ("export",),
        ("plan",),
        ("sandbox",),
        ("sandbox", "serve"),
        ("schema",),
        ("validate",),
    ]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "inkbox-sync")
def test_every_command_help_has_examples(path: tuple[str, ...]) -> None:
    result = run_cli([*path, "--help"])
    assert result.returncode == 0, result.stderr
    examples = re.search(r"\n  (Examples|Typical flow):\n((?:    .*\n)+)", result.stdout)
    assert examples is not None, result.stdout
    lines = examples.group(2).splitlines()
    assert all(line.strip().startswith("inkbox-sync") for line in lines), lines


def test_apply_help_names_every_valve_force_overrides() -> None:
    text = " ".join(run_cli(["apply", "--help"]).stdout.split())
    force = text.split("--force Apply despite", 1)[1]  # the option's own help
    for valve in ("filter_mode change", "30%", "no active allow rule", "expect:"):
        assert valve in force, valve
    assert "Never overrides an unsafe step order" in force
