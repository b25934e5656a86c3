"""`inkbox-sync validate PATH...`: every offline check, all errors at once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from inkbox_sync.cli import output
from inkbox_sync.cli.context import SubCommand, get_options, global_options
from inkbox_sync.cli.output import say
from inkbox_sync.client.versions import AUTO
from inkbox_sync.errors import Diagnostic, ManifestError
from inkbox_sync.manifest import ManifestSet, load_manifest_set, version_problems


@click.command("validate", cls=SubCommand)
@global_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people (errors on stderr), json for machines (one document on stdout).",
)
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], fmt: str) -> None:
    """Check the manifests in PATHS without touching the API.

    PATHS are manifest files or directories (every *.yaml / *.yml below, sorted;
    hidden files and directories are skipped). Exit 0 when valid, 1 with every
    error as file:line:column: message when not. Under GitHub Actions each error
    is also printed as an annotation on the offending line. Keys only some API
    versions can express are accepted, unless the global --api-version names
    one: then those it cannot express are errors, as plan would say.

    \b
    Examples:
      inkbox-sync validate manifests/
      inkbox-sync validate manifests/ --format json
      inkbox-sync --api-version 2026-06 validate manifests/
    """
    try:
        loaded = load_manifest_set(list(paths))
        api_version = get_options(ctx).api_version
        if api_version != AUTO:
            # Here, not at the top: the adapters bring in httpx and asyncio, which an
            # offline check without --api-version never needs.
            from inkbox_sync.client.adapter import capabilities_of

            problems = version_problems(loaded.state, capabilities_of(api_version), api_version)
            if problems:
                raise ManifestError(problems)
    except ManifestError as exc:
        if fmt == "json":
            say(_json(False, exc.diagnostics, None))  # messages for people: redacted
            ctx.exit(1)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for diagnostic in exc.diagnostics:
                say(github_annotation(diagnostic))
        raise  # the CLI root prints the diagnostics on stderr and exits 1
    if fmt == "json":
        say(_json(True, (), loaded))
    else:
        say(summary_line(loaded))


def summary_line(loaded: ManifestSet) -> str:
    """`valid: 3 files, 6 numbers, 24 rules (2 policies)`; agents are counted when there are any."""
    s = loaded.summary
    agents = f"{_count(s['agents'], 'agent')}, " if s["agents"] else ""
    return (
        f"valid: {_count(s['files'], 'file')}, {_count(s['numbers'], 'number')}, {agents}"
        f"{_count(s['rules'], 'rule')} ({_count(s['policies'], 'policy', 'policies')})"
    )


def github_annotation(diagnostic: Diagnostic) -> str:
    """A GitHub Actions workflow command that marks the line in the pull request."""
    return output.github_annotation(
        "error",
        diagnostic.message,
        file=diagnostic.file,
        line=diagnostic.line,
        column=diagnostic.column,
    )


def _json(valid: bool, errors: tuple[Diagnostic, ...], loaded: ManifestSet | None) -> str:
    document = {
        "valid": valid,
        "errors": [
            {"file": d.file, "line": d.line, "column": d.column, "message": d.message}
            for d in errors
        ],
        "summary": loaded.summary if loaded is not None else None,
    }
    return json.dumps(document, indent=2)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
