"""`inkbox-sync apply`: make live state match, in the plan's caller-safe order."""

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
)
from inkbox_sync.cli.context import get_options
from inkbox_sync.errors import ApplyError, RefusedError
from inkbox_sync.manifest import load_manifests
from inkbox_sync.plan import Plan, SafetyReport, Step
from inkbox_sync.plan_file import load_json
from inkbox_sync.render import render_text
from inkbox_sync.safety import check_steps
from inkbox_sync.workflow import Connection, read_and_plan, reread_basis, run_steps, run_sync

#: How many done / not-done steps a failure report lists before summarising.
_LISTED = 20


@click.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Apply a plan saved by `plan --out` instead of planning now (refused if stale).",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask before writing (for pipelines).")
@click.option(
    "--force",
    is_flag=True,
    help="Apply despite safety-valve warnings (filter_mode change, mass rule change, "
    "whitelist with no allow). Never overrides an unsafe step order.",
)
@target_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    plan_file: Path | None,
    auto_approve: bool,
    force: bool,
    targets: tuple[str, ...],
) -> None:
    """Make the numbers in PATHS match the manifests, or apply a saved plan.

    Shows the plan and asks before writing; with no terminal to ask on it
    refuses unless --auto-approve. Idempotent: a second apply makes no writes.
    Interrupted? Run it again: it re-plans from what is live and converges,
    still caller-safe, with no duplicate rules.

    \b
    Examples:
      inkbox-sync apply manifests/
      inkbox-sync apply manifests/ --auto-approve --target +14155550001
      inkbox-sync plan manifests/ --out plan.json && inkbox-sync apply --plan plan.json
    """
    if bool(paths) == bool(plan_file):
        raise click.UsageError("give manifest PATHS or --plan FILE (one of the two)")
    options = get_options(ctx)
    wanted = parse_targets(targets)
    with options.endpoint() as endpoint:
        conn = connection(options, endpoint)
        if plan_file is not None:
            plan, safety = _saved_plan(conn, plan_file, wanted)
        else:
            desired = load_manifests(list(paths))
            plan, _ = run_sync(
                read_and_plan(
                    conn, desired, targets=wanted, progress=ReadProgress("reading live state")
                )
            )
            safety = plan.safety
        color = options.color and sys.stdout.isatty()
        click.echo(render_text(plan, color=color, show_steps=options.verbose > 0), nl=False)
        if not plan.steps:
            click.echo("Nothing to do.")
            return
        _refuse_if_needed(plan, safety, force=force, auto_approve=auto_approve)
        started = time.monotonic()
        try:
            _execute(conn, plan)
        finally:
            report_stats(options, conn, time.monotonic() - started)


def _saved_plan(conn: Connection, path: Path, targets: list[str]) -> tuple[Plan, SafetyReport]:
    plan = load_json(path.read_bytes(), origin=str(path)).to_plan()
    if targets:
        keep = set(targets)
        plan = Plan(
            changes=tuple(c for c in plan.changes if c.number in keep),
            steps=tuple(s for s in plan.steps if s.number in keep),
            warnings=tuple(w for w in plan.warnings if w.number in keep),
            safety=plan.safety,
            basis={n: b for n, b in plan.basis.items() if n in keep},
            numbers_checked=len(keep),
        )
    live, stale = run_sync(
        reread_basis(conn, dict(plan.basis), ReadProgress("re-reading live state"))
    )
    if stale:
        raise RefusedError(
            f"{path} is stale: live state changed since it was planned for "
            f"{', '.join(stale)}. Nothing was written; run plan again."
        )
    # The checker runs again on what is live now, before the first write.
    return plan, check_steps(live, plan.steps)


def _refuse_if_needed(plan: Plan, safety: SafetyReport, *, force: bool, auto_approve: bool) -> None:
    if not safety.verified:
        raise RefusedError(
            "refusing a plan that is not transition-safe (--force does not override this): "
            f"{safety.violation.message if safety.violation else 'unknown violation'}"
        )
    valves = plan.forced_warnings
    if valves and not force:
        listed = "\n  ".join(w.message for w in valves)
        raise RefusedError(
            f"refusing: {len(valves)} safety valve(s) tripped; review them and pass --force:\n  {listed}"
        )
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError("no terminal to confirm on; review the plan and pass --auto-approve")
    if not click.confirm(f"Make these {len(plan.steps)} writes?", default=False):
        raise RefusedError("not applied: nothing was written")


def _execute(conn: Connection, plan: Plan) -> None:
    total = len(plan.steps)
    width = len(str(total))
    finished = 0

    def on_step(index: int, step: Step, error: str | None) -> None:
        nonlocal finished
        finished += 1
        mark = "ok" if error is None else f"FAILED: {error}"
        click.echo(f"[{finished:>{width}}/{total}] {step.describe()} ... {mark}")

    started = time.monotonic()
    result = run_sync(run_steps(conn, plan.steps, on_step))
    elapsed = time.monotonic() - started
    if result.ok:
        adopted = (
            f" ({len(result.adopted)} create(s) adopted an existing rule)" if result.adopted else ""
        )
        click.echo(f"Applied {len(result.done)} write(s) in {elapsed:.1f}s{adopted}.")
        return
    done = set(result.done)
    not_done = [plan.steps[i] for i in range(total) if i not in done]
    raise ApplyError(
        f"apply stopped after a failure ({result.failed[0][1]}); {len(done)} of {total} writes made. "
        "Live state is safe for every caller; run apply again to converge.",
        done=_listed([plan.steps[i].describe() for i in sorted(done)]),
        not_done=_listed([s.describe() for s in not_done]),
    )


def _listed(lines: list[str]) -> list[str]:
    if len(lines) <= _LISTED:
        return lines
    return [*lines[:_LISTED], f"... and {len(lines) - _LISTED} more"]
