"""`inkbox-sync`: the root command, global options, and the one place errors become exit codes."""

from __future__ import annotations

import inkbox_sync.phases  # noqa: F401  (first: it notes when the process began)

# isort: split
import importlib
import os
from typing import Any, Final

import click

from inkbox_sync import __version__
from inkbox_sync.cli import exiting, output, signals
from inkbox_sync.cli.context import global_options
from inkbox_sync.errors import InkboxSyncError

#: Each command and the module whose `command` it is. A command's module, and what it
#: imports (the client, the manifest loader, the sandbox server), is imported only
#: when that command runs or shows its help (the root's --help imports them all, for
#: their short help): `--version` or `validate` never pay for httpx or the sandbox.
COMMANDS: Final = {
    "apply": "inkbox_sync.cli.apply_cmd",
    "export": "inkbox_sync.cli.export_cmd",
    "plan": "inkbox_sync.cli.plan_cmd",
    "sandbox": "inkbox_sync.cli.sandbox_cmd",
    "schema": "inkbox_sync.cli.schema_cmd",
    "validate": "inkbox_sync.cli.validate_cmd",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when asked for (click's documented way:
    `list_commands` names them, `get_command` imports one). Enumerate them with
    `list_commands` / `get_command`: `commands` holds only those imported so far."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            command = importlib.import_module(self.lazy_commands[cmd_name]).command
            assert isinstance(command, click.Command), cmd_name
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="inkbox-sync")
@global_options
def cli() -> None:
    """Keep Inkbox phone numbers configured the way your Git repository says.

    \b
    Typical flow:
      inkbox-sync validate manifests/             offline checks
      inkbox-sync plan manifests/                 what would change, what callers feel
      inkbox-sync apply manifests/                make it so, in a caller-safe order
    \b
    Try it without an account on the embedded sandbox:
      inkbox-sync --sandbox demo.json plan examples/

    Global options go before or after the command: `inkbox-sync plan examples/
    --sandbox demo.json` is `inkbox-sync --sandbox demo.json plan examples/`.

    Exit codes: 0 ok, 1 error or refused, 2 changes (plan --detailed-exitcode),
    130 / 143 interrupted by SIGINT / SIGTERM.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the CLI and turn every error into its exit code.

    The only place errors are printed; every line passes through redaction
    (`output`), tracebacks of bugs included. Without `argv` this is the program
    (the console script): once the command is done the process ends without
    the interpreter's teardown, its output flushed and `atexit` run
    (`exiting.finish` says when and why). With `argv` (tests, embedding) it
    raises SystemExit.
    """
    output.protect(os.environ.get("INKBOX_API_KEY"))  # before click could echo it anywhere
    if argv is None:
        exiting.own_the_process()
    with signals.sigterm_as_interrupt():
        code = _run(argv)
    exiting.finish(code)


def _run(argv: list[str] | None) -> int:
    try:
        # standalone_mode=False returns ctx.exit()'s code instead of exiting itself.
        result = cli.main(args=argv, prog_name="inkbox-sync", standalone_mode=False)
    except InkboxSyncError as exc:
        output.report_error(exc)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        if signals.is_interrupt(exc):
            error = signals.interrupted()
            output.report_error(error)
            return error.exit_code
        output.say("Aborted.", err=True)  # end of input at a prompt
        return 1
    except click.ClickException as exc:
        # Usage errors exit 1, not click's 2: 2 means "changes" under --detailed-exitcode.
        exc.show(file=output.stderr_writer())
        return 1
    except Exception as exc:  # a bug: show it, redacted, and exit 1 as Python would
        output.report_crash(exc)
        return 1
    return result if isinstance(result, int) else 0
