"""Global options are accepted before or after the subcommand, with the same meaning.

The mechanism is checked option by option on a probe command (pure: what
`get_options` sees), then the real CLI is run both ways against a sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from inkbox_sync.cli import main as cli_main
from inkbox_sync.cli.context import GlobalOptions, SubCommand, get_options, global_options
from inkbox_sync.cli.main import cli
from tests.support.cli import EXAMPLES, run_cli
from tests.support.sandbox import SandboxProcess


def probe(args: list[str], env: dict[str, str] | None = None) -> GlobalOptions:
    """What a subcommand sees for `args`, parsed by a root and a subcommand that carry the
    same global options as the real CLI."""
    seen: list[GlobalOptions] = []

    @click.group()
    @global_options
    def root() -> None:
        pass

    @root.command("probe", cls=SubCommand)
    @global_options
    @click.pass_context
    def sub(ctx: click.Context) -> None:
        seen.append(get_options(ctx))

    result = CliRunner().invoke(root, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (options,) = seen
    return options


CASES: list[tuple[list[str], dict[str, Any]]] = [
    (["--api-key", "k-1"], {"api_key": "k-1"}),
    (["--base-url", "http://127.0.0.1:1"], {"base_url": "http://127.0.0.1:1"}),
    (["--sandbox", "demo.json"], {"sandbox": Path("demo.json")}),
    (["--api-version", "2026-06"], {"api_version": "2026-06"}),
    (["--concurrency", "3"], {"concurrency": 3}),
    (["--no-color"], {"no_color": True}),
    (["-v"], {"verbose": 1}),
    (["-vv"], {"verbose": 2}),
]


@pytest.mark.parametrize(("given", "expected"), CASES, ids=[c[0][0] for c in CASES])
def test_each_global_option_means_the_same_before_and_after(
    given: list[str], expected: dict[str, Any]
) -> None:
    before = probe([*given, "probe"])
    after = probe(["probe", *given])
    assert before == after == GlobalOptions(**expected)


def test_every_global_option_is_covered_by_the_table() -> None:
    covered = {name for _, expected in CASES for name in expected}
    declared = {p.name for p in cli.params if p.name not in ("help", "version")}
    assert covered == declared == set(GlobalOptions.__dataclass_fields__)


def test_the_key_never_shows_in_a_repr() -> None:
    options = probe(["probe", "--api-key", "k-secret-1"])
    assert options.api_key == "k-secret-1" and "k-secret-1" not in repr(options)


def test_after_the_subcommand_wins_and_verbosity_adds_up() -> None:
    options = probe(["--concurrency", "2", "-v", "probe", "--concurrency", "5", "-v"])
    assert (options.concurrency, options.verbose) == (5, 2)
    # An option given only before keeps its value; the subcommand's default does not undo it.
    assert probe(["--concurrency", "2", "probe"]).concurrency == 2


def test_the_environment_is_read_once_and_an_option_overrides_it() -> None:
    env = {"INKBOX_API_KEY": "from-env", "NO_COLOR": "1"}
    assert probe(["probe"], env=env) == GlobalOptions(api_key="from-env", no_color=True)
    assert probe(["probe", "--api-key", "given"], env=env).api_key == "given"


def test_a_bad_value_after_the_subcommand_is_a_usage_error() -> None:
    result = run_cli(["plan", EXAMPLES, "--concurrency", "0"])
    assert result.returncode == 1
    assert "--concurrency" in result.stderr and "0 is not in the range" in result.stderr


# --- the real CLI --------------------------------------------------------------------


def test_plan_with_sandbox_after_the_subcommand(tmp_path: Path) -> None:
    # The example: this used to fail with "No such option: --sandbox".
    sandbox = ["--sandbox", "demo.json", "--api-version", "2026-10"]
    after = run_cli(["plan", EXAMPLES, *sandbox], cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert (tmp_path / "demo.json").is_file()
    before = run_cli([*sandbox, "plan", EXAMPLES], cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    mixed = run_cli([*sandbox[2:], "plan", EXAMPLES, *sandbox[:2]], cwd=tmp_path)
    assert mixed.returncode == 0, mixed.stderr
    assert after.stdout == before.stdout == mixed.stdout and "Plan:" in after.stdout


def test_api_key_and_base_url_after_the_subcommand(box: SandboxProcess, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}  # no ~/.inkbox/config
    given = ["--api-key", box.api_key, "--base-url", box.base_url]
    after = run_cli(["plan", EXAMPLES, *given], env=env)
    before = run_cli([*given, "plan", EXAMPLES], env=env)
    assert after.returncode == before.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert box.api_key not in after.stdout + after.stderr
    # And a wrong key after the subcommand is really used (and refused by the API).
    wrong = run_cli(["plan", EXAMPLES, "--base-url", box.base_url, "--api-key", "nope"], env=env)
    assert wrong.returncode == 1 and "nope" not in wrong.stderr


def test_verbosity_after_the_subcommand(box: SandboxProcess) -> None:
    once = run_cli(["plan", EXAMPLES, "-v"], box=box)
    assert once.returncode == 0 and "requests (GET" in once.stderr
    assert "GET /api/v1/phone/numbers ->" not in once.stderr
    twice = run_cli(["-v", "plan", EXAMPLES, "-v"], box=box)
    assert "GET /api/v1/phone/numbers ->" in twice.stderr


@pytest.mark.parametrize("command", ["validate", "schema", "plan", "apply", "export"])
def test_help_of_each_command_lists_the_global_options(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], prog_name="inkbox-sync")
    assert result.exit_code == 0, result.output
    section = result.output.split("Global options (also accepted before the command):", 1)[1]
    for option in ("--api-key", "--base-url", "--sandbox", "--concurrency", "--no-color", "-v"):
        assert option in section, (command, option)


def test_an_api_key_after_the_subcommand_is_redacted_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bug whose message carries the key: only the redaction layer keeps it out of
    # the traceback, so this fails unless the key given after `plan` was registered.
    key = "sk-CANARY-after-7d1e"

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom with {key}")

    monkeypatch.setattr("inkbox_sync.cli.plan_cmd.loading", crash)
    monkeypatch.delenv("INKBOX_API_KEY", raising=False)
    with pytest.raises(SystemExit) as info:
        cli_main.main(["plan", "anything.yaml", "--api-key", key])
    assert info.value.code == 1
    printed = capsys.readouterr()
    assert "RuntimeError: boom with ***" in printed.err
    assert key not in printed.out + printed.err
