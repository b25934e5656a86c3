"""Every command's --help has examples; apply's names every valve --force overrides.

Help is rendered in-process by the real command tree (no API, nothing to start):
a subprocess per command would only add interpreter start-ups."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from inkbox_sync.cli.main import cli


def help_text(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="inkbox-sync", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root imports its commands when asked (lazily)
        command = group.get_command(ctx, name)
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
    text = help_text(*path)
    examples = re.search(r"\n  (Examples|Typical flow):\n((?:    .*\n)+)", text)
    assert examples is not None, text
    lines = examples.group(2).splitlines()
    assert all(line.strip().startswith("inkbox-sync") for line in lines), lines


def test_apply_help_names_every_valve_force_overrides() -> None:
    text = " ".join(help_text("apply").split())
    force = text.split("--force Apply despite", 1)[1]  # the option's own help
    for valve in ("filter_mode change", "30%", "no active allow rule", "expect:"):
        assert valve in force, valve
    assert "Never overrides an unsafe step order" in force
