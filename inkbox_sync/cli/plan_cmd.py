"""`inkbox-sync plan`: read live state, show what would change and what callers would feel."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from inkbox_sync.cli.common import (
    as_detail,
    connection,
    detail_options,
    parse_targets,
    plan_manifests,
    report_phases,
    report_stats,
    target_option,
    write_atomic,
)
from inkbox_sync.cli.context import SubCommand, get_options, global_options
from inkbox_sync.cli.output import color_on, data, github_annotation, say, scrubbed
from inkbox_sync.errors import InkboxSyncError
from inkbox_sync.manifest import load_manifests
from inkbox_sync.manifest.offload import loading
from inkbox_sync.model import DesiredPolicy, DesiredState
from inkbox_sync.phases import Phases
from inkbox_sync.plan import Plan, PlanWarning
from inkbox_sync.plan_file import dump_json, to_document
from inkbox_sync.render import render_markdown, render_text


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
@click.option(
    "--fail-on-warnings",
    is_flag=True,
    help="Exit 1 when the plan has a warning (a safety valve, a broken expect:), even with "
    "no changes: for drift jobs. Notes do not count.",
)
@detail_options
@target_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    fail_on_warnings: bool,
    detail: str | None,
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
      inkbox-sync plan manifests/ --detailed-exitcode --fail-on-warnings   # drift job
      inkbox-sync plan manifests/ --detail         # every rule, caller and step
    """
    phases = Phases()
    phases.since_start("imports")
    options = get_options(ctx)
    wanted = parse_targets(targets)
    # The embedded sandbox writes its state file when it starts: only for manifests
    # that load. Against an API, the loader is forked before anything else starts
    # (`loading`), and the reads run while the manifests load.
    loaded = load_manifests(list(paths)) if options.sandbox is not None else None
    with loading(list(paths), loaded, phases) as load, options.endpoint() as endpoint:
        conn = connection(options, endpoint)
        desired, plan = plan_manifests(conn, load, wanted, phases)
        source = endpoint.source
        report_stats(options, conn)
    if not plan.safety.verified:
        raise InkboxSyncError(
            "internal error: the planner produced a plan the safety checker refutes; "
            f"please report it: {plan.safety.violation}"
        )
    with phases.span("output"):
        document = to_document(plan, source=source) if (out or fmt == "json") else None
        # The JSON plan keeps URLs whole (apply needs them); only the key is scrubbed.
        if out is not None and document is not None:
            write_atomic(out, scrubbed(dump_json(document)))
        if fmt == "json" and document is not None:
            data(dump_json(document), nl=False)
        elif fmt == "markdown":
            say(render_markdown(plan), nl=False)
        else:
            say(render_text(plan, color=color_on(), detail=as_detail(detail)), nl=False)
        if out is not None:
            say(f"Saved plan to {out}; apply it with: inkbox-sync apply --plan {out}", err=True)
    report_phases(options, phases)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        annotate(plan, desired)
    if fail_on_warnings and plan.warnings:
        raise InkboxSyncError(
            f"the plan has {len(plan.warnings)} warning(s), and --fail-on-warnings was given"
        )
    if detailed_exitcode and plan.has_changes:
        ctx.exit(2)


#: A finding's message that starts with where it was declared: `file:line:col: ...`.
_LOCATED = re.compile(r"(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): (?P<text>.*)", re.S)


def annotate(plan: Plan, desired: DesiredState) -> None:
    """Each warning (and note) as a GitHub annotation on stderr (stdout may be the
    plan document), on its manifest line: the one its message names, else the
    line that declares its number or agent."""
    declared: dict[str, DesiredPolicy] = {**desired.numbers, **desired.agents}
    findings: list[tuple[str, PlanWarning]] = [("warning", w) for w in plan.warnings]
    findings += [("notice", n) for n in plan.notes]
    for level, finding in findings:
        text, file, line, column = finding.message, None, None, None
        located = _LOCATED.fullmatch(text)
        holder = declared.get(finding.number)
        if located:
            text, file = located["text"], located["file"]
            line, column = int(located["line"]), int(located["col"])
        elif holder is not None and holder.location is not None:
            where = holder.location
            file, line, column = where.file, where.line, where.column
        if finding.needs_force:
            text += " (apply needs --force)"
        say(
            github_annotation(
                level, text, file=file, line=line, column=column, title="inkbox-sync plan"
            ),
            err=True,
        )
