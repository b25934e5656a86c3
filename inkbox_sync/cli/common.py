"""Pieces the plan, apply and export commands share: targets, progress, safe file writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from inkbox_sync.cli.context import Endpoint, GlobalOptions
from inkbox_sync.cli.exiting import keep_until_exit
from inkbox_sync.cli.output import say
from inkbox_sync.errors import ConfigError
from inkbox_sync.manifest import normalize_e164
from inkbox_sync.phases import Phases
from inkbox_sync.render.text import FULL_LINES, Detail

# The client and the workflow are imported where they are used: `plan` and
# `apply` fork the manifest loader first (`manifest.offload`), and the ~0.1 s
# of importing them then runs beside it.
if TYPE_CHECKING:
    from inkbox_sync.cli.progress import Progress
    from inkbox_sync.client import Notice, RequestEvent
    from inkbox_sync.model import DesiredState
    from inkbox_sync.plan import Plan
    from inkbox_sync.workflow import Connection, Loader

_TARGET_OPTION_HELP = "Limit to this number (E.164); repeat for several."

target_option = click.option(
    "--target", "targets", multiple=True, metavar="NUMBER", help=_TARGET_OPTION_HELP
)


def parse_targets(values: Sequence[str]) -> list[str]:
    """`--target` values as E.164, normalised the way manifests are."""
    parsed = []
    for value in values:
        number = normalize_e164(value)
        if number is None:
            raise ConfigError(f"--target {value!r} is not an E.164 number like +14155550100")
        parsed.append(number)
    return parsed


def connection(options: GlobalOptions, endpoint: Endpoint) -> Connection:
    """The API connection for a command; -v logs every failed attempt (429, 5xx, no
    answer: what went wrong and where), -vv every request (paths only, never the key)."""
    from inkbox_sync.client import NoticeBoard, VersionChoice
    from inkbox_sync.workflow import Connection

    on_request = None
    if options.verbose >= 2:
        on_request = _log_request
    elif options.verbose == 1:
        on_request = _log_failed_attempt
    return Connection(
        endpoint.base_url,
        endpoint.api_key,
        concurrency=options.concurrency,
        on_request=on_request,
        version=VersionChoice(options.api_version),
        notices=NoticeBoard(_show_notice),
    )


def _log_failed_attempt(event: RequestEvent) -> None:
    if event.status is None or event.status == 429 or event.status >= 500:
        _log_request(event)


def _show_notice(notice: Notice) -> None:
    """An `Inkbox-Notices` entry, once per run: advisory, whatever its level."""
    what = ", ".join(part for part in (notice.level, notice.code) if part)
    say(f"Inkbox notice ({what}): {notice.message}", err=True)


def _log_request(event: RequestEvent) -> None:
    query = "&".join(f"{k}={v}" for k, v in event.params.items())
    outcome = str(event.status) if event.status is not None else (event.error or "no answer")
    retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
    path = f"{event.path}?{query}" if query else event.path
    say(f"  {event.method} {path} -> {outcome} {event.elapsed * 1000:.0f} ms{retry}", err=True)


def report_stats(options: GlobalOptions, conn: Connection, elapsed: float | None = None) -> None:
    """With -v: how many requests the command made, and what the API pushed back with.
    `elapsed`: the seconds they are said to have taken; by default their own span,
    from the first one sent to the last one's end (`ClientStats.api_seconds`)."""
    if options.verbose < 1:
        return
    say(conn.version.describe(), err=True)
    s = conn.stats
    if elapsed is None:
        elapsed = s.api_seconds
    by_method = ", ".join(f"{m} {n}" for m, n in sorted(s.requests.items()))
    say(
        f"{s.total_requests} requests ({by_method or 'none'}) in {elapsed:.2f}s; "
        f"{s.retries} retries, {s.rate_limited} answered 429, {s.server_errors} answered 5xx, "
        f"{s.transport_errors} transport errors",
        err=True,
    )


def report_phases(options: GlobalOptions, phases: Phases) -> None:
    """With -v: where the command's time went (`inkbox_sync.phases`)."""
    if options.verbose >= 1:
        say(phases.line(), err=True)


def plan_manifests(
    conn: Connection,
    load: Loader,
    targets: Collection[str],
    phases: Phases,
) -> tuple[DesiredState, Plan]:
    """Load the manifests with `load` (`manifest.offload.loading`) while live state
    is read, then plan, with a progress line (`workflow.load_read_and_plan`)."""
    from inkbox_sync.workflow import load_read_and_plan, run_sync

    phases.since_start("imports")  # these ran beside the forked loader
    with read_progress(conn) as progress:
        desired, plan, live = run_sync(
            load_read_and_plan(conn, load, targets=targets, progress=progress, phases=phases)
        )
    keep_until_exit(desired, plan, live)  # ~300,000 objects at 100,000 rules: never freed
    return desired, plan


def read_progress(conn: Connection, label: str = "reading live state") -> Progress:
    """The progress of a read of live state, counted in rule requests."""
    from inkbox_sync.cli.progress import Progress

    return Progress(label, "requests", stats=conn.stats)


def as_detail(value: str | None) -> Detail:
    """The `--detail` / `--brief` choice: "full", "brief", or "auto" when neither."""
    return "full" if value == "full" else "brief" if value == "brief" else "auto"


def detail_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--detail` / `--brief`: how much of the plan text shows (default: by its size)."""
    command = click.option(
        "--brief",
        "detail",
        flag_value="brief",
        help="Show the plan one line per number, however small it is.",
    )(command)
    return click.option(
        "--detail",
        "detail",
        flag_value="full",
        help="Show every field, rule, caller and step of the plan, however big it is "
        f"(by default a plan longer than {FULL_LINES} lines is shown one line per number).",
    )(command)


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a reader never sees half a plan or manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
