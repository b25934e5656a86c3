"""`inkbox-sync apply`: make live state match, in the plan's caller-safe order."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from inkbox_sync.cli import signals
from inkbox_sync.cli.common import (
    as_detail,
    connection,
    detail_options,
    parse_targets,
    plan_manifests,
    read_progress,
    report_phases,
    report_stats,
    target_option,
)
from inkbox_sync.cli.context import GlobalOptions, SubCommand, get_options, global_options
from inkbox_sync.cli.output import LISTED, color_on, say
from inkbox_sync.errors import ApplyError, ApplyInterrupted, RefusedError, signal_name
from inkbox_sync.executor import ExecutionResult
from inkbox_sync.manifest.offload import loading
from inkbox_sync.phases import Phases
from inkbox_sync.plan import Plan, SafetyReport, Step
from inkbox_sync.plan_file import load_json
from inkbox_sync.render import render_text
from inkbox_sync.render.common import plural
from inkbox_sync.safety import check_steps

# The workflow (and the client below it) is imported where it is used, after the
# manifest loader is forked: their ~0.1 s of imports then run beside it.
if TYPE_CHECKING:
    from inkbox_sync.workflow import Connection, Interrupt

_AGAIN = "Live state is safe for every caller; run apply again to converge."


@click.command("apply", cls=SubCommand)
@global_options
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
    help="Apply despite the safety valves the plan warns about: a filter_mode change; "
    "more than 30% of a number's live rules changed or deleted (at 10 or more); a "
    "whitelist number left with no active allow rule; an expect: that live state "
    "would break. Never overrides an unsafe step order or a stale saved plan.",
)
@detail_options
@target_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    plan_file: Path | None,
    auto_approve: bool,
    force: bool,
    detail: str | None,
    targets: tuple[str, ...],
) -> None:
    """Make the numbers in PATHS match the manifests, or apply a saved plan.

    Shows the plan and asks before writing; with no terminal to ask on it
    refuses unless --auto-approve. Idempotent: a second apply makes no writes.
    Interrupted? Run it again: it re-plans from what is live and converges,
    still caller-safe, with no duplicate rules. Ctrl-C (SIGINT) or SIGTERM while
    it writes: no new write starts, those in flight finish, and the report says
    what was done (exit 130 / 143); a second one stops waiting.

    Safety valves: a plan that changes a filter_mode, changes or deletes more
    than 30% of a number's live rules, leaves a whitelist number with no active
    allow rule, or breaks an expect: against live state is refused before any
    write unless --force.

    While it writes, a terminal shows a live progress line (done/total, rate,
    elapsed, ETA, waiting on the rate limit); a log gets a progress line every
    few seconds. -v prints every write as it is made, numbered as the plan's
    steps. It ends with what was written by kind and every failure together.

    \b
    Examples:
      inkbox-sync apply manifests/
      inkbox-sync apply manifests/ --auto-approve --target +14155550001
      inkbox-sync apply manifests/ --force        after reviewing the valves' warnings
      inkbox-sync apply manifests/ -v --detail    every step before, every write as made
      inkbox-sync plan manifests/ --out plan.json && inkbox-sync apply --plan plan.json
    """
    if bool(paths) == bool(plan_file):
        raise click.UsageError("give manifest PATHS or --plan FILE (one of the two)")
    phases = Phases()
    phases.since_start("imports")
    options = get_options(ctx)
    wanted = parse_targets(targets)
    # The loader is forked before anything else starts (`manifest.offload.loading`).
    with loading(list(paths), phases=phases) as load, options.endpoint() as endpoint:
        conn = connection(options, endpoint)
        with _nothing_written_yet():
            if plan_file is not None:
                plan, safety = _saved_plan(conn, plan_file, wanted)
            else:
                _, plan = plan_manifests(conn, load, wanted, phases)
                safety = plan.safety
            # The steps come before the question only when asked for (--detail): with
            # -v each write is named as it is made, numbered as the plan numbers it.
            shown = as_detail(detail)
            say(
                render_text(plan, color=color_on(), detail=shown, show_steps=shown == "full"),
                nl=False,
            )
            if not plan.steps:
                say("Nothing to do.")
                return
            _refuse_unsafe(safety)
            from inkbox_sync.workflow import check_key_scope, run_sync

            warning = run_sync(check_key_scope(conn, plan.steps))
            if warning:
                say(f"warning: {warning}", err=True)
            _refuse_if_needed(plan, force=force, auto_approve=auto_approve)
        started = time.monotonic()
        try:
            with phases.span("writes"):
                _execute(conn, plan, options)
        finally:
            report_stats(options, conn, time.monotonic() - started)
            report_phases(options, phases)


@contextlib.contextmanager
def _nothing_written_yet() -> Iterator[None]:
    """A signal before the first write: exit 130/143 saying that nothing was written."""
    try:
        yield
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        if not signals.is_interrupt(exc):
            raise
        raise signals.interrupted("before the first write: nothing was written") from None


def _saved_plan(conn: Connection, path: Path, targets: list[str]) -> tuple[Plan, SafetyReport]:
    plan = load_json(path.read_bytes(), origin=str(path)).to_plan()
    if targets:
        keep = set(targets)
        plan = dataclasses.replace(
            plan,
            changes=tuple(c for c in plan.changes if c.number in keep),
            steps=tuple(s for s in plan.steps if s.number in keep),
            warnings=tuple(w for w in plan.warnings if w.number in keep),
            notes=tuple(n for n in plan.notes if n.number in keep),
            basis={n: b for n, b in plan.basis.items() if n in keep},
            numbers_checked=len(keep),
        )
    with read_progress(conn, "re-reading live state") as progress:
        from inkbox_sync.workflow import reread_basis, run_sync

        live, stale = run_sync(
            reread_basis(
                conn,
                dict(plan.basis),
                progress,
                api_version=plan.api_version,  # a plan never applies against another version
            )
        )
    if stale:
        raise RefusedError(
            f"{path} is stale: live state changed since it was planned for "
            f"{', '.join(stale)}. Nothing was written; run plan again."
        )
    # The checker runs again on what is live now, before the first write.
    return plan, check_steps(live, plan.steps)


def _refuse_unsafe(safety: SafetyReport) -> None:
    if not safety.verified:
        raise RefusedError(
            "refusing a plan that is not transition-safe (--force does not override this): "
            f"{safety.violation.message if safety.violation else 'unknown violation'}"
        )


def _refuse_if_needed(plan: Plan, *, force: bool, auto_approve: bool) -> None:
    valves = plan.forced_warnings
    if valves and not force:
        # A fleet-wide mode change trips a valve per number: the plan above lists them.
        listed = [w.message for w in valves[:LISTED]]
        if len(valves) > LISTED:
            listed.append(f"... and {len(valves) - LISTED} more (`plan --detail` lists each)")
        raise RefusedError(
            f"refusing: {len(valves)} safety valve(s) tripped; review them and pass --force:\n  "
            + "\n  ".join(listed)
        )
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError("no terminal to confirm on; review the plan and pass --auto-approve")
    if not click.confirm(f"Make these {len(plan.steps)} writes?", default=False):
        raise RefusedError("not applied: nothing was written")


def _execute(conn: Connection, plan: Plan, options: GlobalOptions) -> None:
    steps = plan.steps
    total = len(steps)
    width = len(str(total))
    from inkbox_sync.cli.progress import Progress
    from inkbox_sync.workflow import run_steps, run_sync

    progress = Progress("applying", "writes", total=total, stats=conn.stats)

    def on_step(index: int, step: Step, error: str | None) -> None:
        progress.advance()
        # The plan's own step number, whatever order the writes finish in.
        head = f"[{index + 1:>{width}}/{total}] {step.describe()} ..."
        if error is not None:
            say(f"{head} FAILED: {error}", fg="red")
        elif options.verbose:
            say(f"{head} ok")

    def on_interrupt(signum: int, in_flight: int) -> None:
        say(
            f"{signal_name(signum)}: no new write starts; waiting for the {in_flight} in flight "
            "to finish (press Ctrl-C again to stop waiting)",
            err=True,
        )

    started = time.monotonic()
    with progress:
        result, interrupt = run_sync(run_steps(conn, steps, on_step, on_interrupt))
    elapsed = time.monotonic() - started
    made = _by_kind(steps, result)
    if result.ok and interrupt.signum is None:
        rate = f", {len(result.done) / elapsed:.0f}/s" if elapsed >= 1 else ""
        say(
            f"Applied {plural(len(result.done), 'write')} in {elapsed:.1f}s{rate}: {made}.",
            fg="green",
        )
        return
    raise _report(steps, result, interrupt, made)


def _by_kind(steps: tuple[Step, ...], result: ExecutionResult) -> str:
    """`10 rules created, 0 updated, 0 deleted, 0 adopted; 2 routing updates, 1 filter
    mode change`: the writes made, by kind (an adopted create took over a rule in its
    slot instead of creating one)."""
    adopted = set(result.adopted)
    kinds = Counter(steps[i].kind for i in result.done if i not in adopted)
    text = (
        f"{kinds['create_rule']} rules created, {kinds['update_rule']} updated, "
        f"{kinds['delete_rule']} deleted, {len(adopted)} adopted"
    )
    routing, modes = kinds["update_routing"], kinds["set_modes"]
    return f"{text}; {plural(routing, 'routing update')}, {plural(modes, 'filter mode change')}"


def _report(
    steps: tuple[Step, ...], result: ExecutionResult, interrupt: Interrupt, made: str
) -> ApplyError:
    """What was done, what was not, what failed and what nobody knows, as the error to
    exit with."""
    done = set(result.done)
    width = len(str(len(steps)))
    lists: dict[str, list[str]] = {
        "done": [steps[i].describe() for i in sorted(done)],
        "not_done": [
            s.describe() for i, s in enumerate(steps) if i not in done and i not in result.in_flight
        ],
        "uncertain": [steps[i].describe() for i in sorted(result.in_flight)],
        "failed": [
            f"[{i + 1:>{width}}/{len(steps)}] {steps[i].describe()}: {error}"
            for i, error in sorted(result.failed)
        ],
    }
    summary = f"written: {made}"
    failure = f"; the first failure: {result.failed[0][1]}" if result.failed else ""
    count = f"{len(done)} of {len(steps)} writes made"
    if interrupt.signum is None:
        return ApplyError(
            f"apply stopped after a failure ({result.failed[0][1]}); {count}. {_AGAIN}",
            summary=summary,
            **lists,
        )
    name = signal_name(interrupt.signum)
    if interrupt.abandoned:
        message = (
            f"apply interrupted by {name}, then told to stop waiting: "
            f"{len(result.in_flight)} write(s) in flight were abandoned and may or may not "
            f"have been made; {len(done)} of {len(steps)} writes known made{failure}. "
            "Either way every caller is safe; run apply again to converge."
        )
    else:
        message = (
            f"apply interrupted by {name}: no write started after it, and those in flight "
            f"finished; {count}{failure}. {_AGAIN}"
        )
    return ApplyInterrupted(message, signum=interrupt.signum, summary=summary, **lists)
