"""`inkbox-sync plan`: read live state, show what would change and what callers would feel."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from inkbox_sync.cli.common import (
    ReadProgress,
    connection,
    parse_targets,
    report_stats,
    target_option,
    write_atomic,
)
from inkbox_sync.cli.context import SubCommand, get_options, global_options
from inkbox_sync.cli.output import data, say, scrubbed
from inkbox_sync.errors import InkboxSyncError
from inkbox_sync.manifest import load_manifests
from inkbox_sync.plan_file import dump_json, to_document
from inkbox_sync.render import render_markdown, render_text
from inkbox_sync.workflow import read_and_plan, run_sync


@click.command("plan", cls=SubCommand)
@global_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for machines, markdown for a pull-request comment.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan as JSON, for `apply --plan FILE` (refused there if live state moves).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes (1 stays 'error').",
)
@target_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
) -> None:
    """Show what apply would change for the manifests in PATHS, and what callers would feel.

    PATHS are manifest files or directories (every *.yaml / *.yml below, hidden
    ones skipped). Only reads the API; never writes.

    \b
    Examples:
      inkbox-sync plan manifests/
      inkbox-sync plan manifests/ --format markdown > plan.md
      inkbox-sync plan manifests/ --out plan.json && inkbox-sync apply --plan plan.json
      inkbox-sync plan manifests/ --detailed-exitcode   # 2 = drift, in a scheduled job
    """
    options = get_options(ctx)
    desired = load_manifests(list(paths))
    wanted = parse_targets(targets)
    with options.endpoint() as endpoint:
        conn = connection(options, endpoint)
        started = time.monotonic()
        plan, _ = run_sync(
            read_and_plan(
                conn, desired, targets=wanted, progress=ReadProgress("reading live state")
            )
        )
        source = endpoint.source
        report_stats(options, conn, time.monotonic() - started)
    if not plan.safety.verified:
        raise InkboxSyncError(
            "internal error: the planner produced a plan the safety checker refutes; "
            f"please report it: {plan.safety.violation}"
        )
    document = to_document(plan, source=source) if (out or fmt == "json") else None
    # The JSON plan keeps URLs whole (apply needs them); only the key is scrubbed.
    if out is not None and document is not None:
        write_atomic(out, scrubbed(dump_json(document)))
    if fmt == "json" and document is not None:
        data(dump_json(document), nl=False)
    elif fmt == "markdown":
        say(render_markdown(plan), nl=False)
    else:
        say(render_text(plan, color=options.color and sys.stdout.isatty()), nl=False)
    if out is not None:
        say(f"Saved plan to {out}; apply it with: inkbox-sync apply --plan {out}", err=True)
    if detailed_exitcode and plan.has_changes:
        ctx.exit(2)
