"""Start-up imports only what a command uses, and the exit skips only what nobody sees.

Each import check runs in a fresh interpreter (an import already made by the
test process would hide one) and compares module names, never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import pytest

import inkbox_sync.client
import inkbox_sync.manifest
from inkbox_sync.cli import exiting
from inkbox_sync.client.adapter import ADAPTERS
from inkbox_sync.client.versions import API_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
#: The heavy modules each check looks for.
WATCHED = (
    "asyncio",
    "httpx",
    "h11",
    "pydantic",
    "yaml",
    "inkbox_sync.client.api",
    "inkbox_sync.manifest.loader",
    "inkbox_sync.plan_file",
    "inkbox_sync.sandbox",
    "inkbox_sync.sandbox.server",
)


def imported_after(code: str) -> set[str]:
    """Which of WATCHED a fresh interpreter has imported after running `code`."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps([name for name in {WATCHED!r} if name in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


RESOLVE = """
import click
from inkbox_sync.cli.main import cli
command = cli.get_command(click.Context(cli), {name!r})
assert command is not None
"""


def test_the_root_imports_no_command() -> None:
    # `inkbox-sync --version` and the root's option parsing: click and the root only.
    assert imported_after("import inkbox_sync.cli.main") == set()


CLIENT = {"asyncio", "httpx", "h11", "inkbox_sync.client.api"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # plan and apply fork the manifest loader first, and import the client beside it
        ("plan", {"inkbox_sync.plan_file"}),
        ("apply", {"asyncio", "inkbox_sync.plan_file"}),
        ("export", CLIENT),
    ],
)
def test_the_api_commands_import_neither_the_loader_nor_the_sandbox(
    name: str, expected: set[str]
) -> None:
    # The manifest loader (PyYAML, pydantic) is imported when the command loads
    # the manifests (in the forked child, for plan and apply); the sandbox only for
    # --sandbox FILE; pydantic's plan document only for --format json, --out, --plan.
    assert imported_after(RESOLVE.format(name=name)) == expected


def test_validate_and_schema_import_no_client() -> None:
    # (the loader imports pydantic only once it has composed the files: see _load)
    assert imported_after(RESOLVE.format(name="validate")) == {
        "yaml",
        "inkbox_sync.manifest.loader",
    }
    assert imported_after(RESOLVE.format(name="schema")) == {"pydantic"}


def test_only_the_sandbox_command_imports_the_sandbox_server() -> None:
    assert "inkbox_sync.sandbox.server" in imported_after(RESOLVE.format(name="sandbox"))


def test_the_client_imports_no_manifest_module() -> None:
    code = """
    import inkbox_sync.client
    for name in inkbox_sync.client.__all__:
        getattr(inkbox_sync.client, name)
    """
    assert imported_after(code) == CLIENT


def test_the_manifest_loader_imports_no_client() -> None:
    code = """
    import inkbox_sync.manifest
    for name in inkbox_sync.manifest.__all__:
        getattr(inkbox_sync.manifest, name)
    from inkbox_sync.manifest.loader import load_manifests
    """
    assert imported_after(code) == {"pydantic", "yaml", "inkbox_sync.manifest.loader"}


def test_importing_the_manifest_loaders_does_not_load_the_loader() -> None:
    code = "from inkbox_sync.manifest import load_manifest_set, load_manifests, version_problems"
    assert imported_after(code) == set()


@pytest.mark.parametrize("package", [inkbox_sync.client, inkbox_sync.manifest])
def test_every_exported_name_resolves(package: object) -> None:
    for name in package.__all__:  # type: ignore[attr-defined]
        value = getattr(package, name)
        assert value is not None, name
    with pytest.raises(AttributeError):
        _ = package.no_such_name  # type: ignore[attr-defined]


def test_the_loaders_stand_ins_call_the_loader(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text('version: 1\nnumbers:\n  "+14155550100": {}\n')
    state = inkbox_sync.manifest.load_manifests([tmp_path])
    assert list(state.numbers) == ["+14155550100"]
    assert inkbox_sync.manifest.load_manifest_set([tmp_path]).state == state


def test_the_version_names_are_the_adapters() -> None:
    assert tuple(ADAPTERS) == API_VERSIONS
    assert all(name == cls.VERSION for name, cls in ADAPTERS.items())


# -- the exit ----------------------------------------------------------------------------

#: The console script's entry with `sys.argv`, after `preamble`; "after main" is
#: printed only if `main` returns control to its caller (the ordinary exit:
#: SystemExit), as a profiler's report or a teardown would run.
PROGRAM = """
import atexit, sys
atexit.register(print, "atexit ran")
{preamble}
from inkbox_sync.cli.main import main
try:
    main({argv})
finally:
    print("after main", flush=True)
"""


def run_program(*args: str, preamble: str = "", argv: str = "") -> subprocess.CompletedProcess[str]:
    code = PROGRAM.format(preamble=preamble, argv=argv)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_the_console_script_runs_atexit_flushes_and_skips_the_teardown() -> None:
    result = run_program("schema")
    assert result.returncode == 0, result.stderr
    schema, tail = result.stdout.rsplit("}\n", 1)
    assert schema + "}\n" == (ROOT / "schemas" / "manifest.schema.json").read_text()
    assert tail == "atexit ran\n"  # and not "after main": the process ended in main


def test_the_exit_code_is_kept_when_the_teardown_is_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nnumbers: [\n")
    result = run_program("validate", str(bad))
    assert result.returncode == 1
    assert f"{bad}:" in result.stderr
    assert result.stdout == "atexit ran\n"


def test_with_arguments_main_raises_system_exit() -> None:
    result = run_program(argv="['--version']")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["inkbox-sync, version 0.1.0", "after main", "atexit ran"]


def test_a_running_thread_is_waited_for() -> None:
    preamble = textwrap.dedent(
        """
        import threading
        def after_the_main_thread():
            threading.main_thread().join()
            print("thread done", flush=True)
        threading.Thread(target=after_the_main_thread).start()
        """
    )
    result = run_program("--version", preamble=preamble)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "inkbox-sync, version 0.1.0",
        "after main",
        "thread done",
        "atexit ran",
    ]


def test_under_a_tracer_the_exit_is_the_ordinary_one() -> None:
    # coverage, profilers and debuggers report after the program returns.
    result = run_program("--version", preamble="sys.settrace(lambda *args: None)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["inkbox-sync, version 0.1.0", "after main", "atexit ran"]


def test_nothing_is_kept_unless_the_console_script_owns_the_process() -> None:
    # Under click's CliRunner (or main(argv)) nothing would ever free what is kept.
    class Result:
        pass

    result = Result()
    witness = weakref.ref(result)
    exiting.keep_until_exit(result)
    del result
    assert witness() is None
