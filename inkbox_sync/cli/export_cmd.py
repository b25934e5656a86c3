"""`inkbox-sync export`: write what is live as manifests, to adopt an organisation in one step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from inkbox_sync.cli.common import (
    connection,
    parse_targets,
    read_progress,
    report_stats,
    target_option,
    write_atomic,
)
from inkbox_sync.cli.context import SubCommand, get_options, global_options
from inkbox_sync.cli.exiting import keep_until_exit
from inkbox_sync.cli.output import data, say, scrubbed
from inkbox_sync.errors import ConfigError
from inkbox_sync.export import export_by_agent, export_manifest
from inkbox_sync.model import LiveAgent, LiveNumber
from inkbox_sync.redact import redact_url
from inkbox_sync.workflow import read_everything, run_sync


@click.command("export", cls=SubCommand)
@global_options
@target_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one manifest to FILE (default: standard output).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one manifest per agent into DIR (AGENT.yaml).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace files that already exist (without it, export refuses and writes nothing).",
)
@click.pass_context
def command(
    ctx: click.Context,
    targets: tuple[str, ...],
    output: Path | None,
    output_dir: Path | None,
    force: bool,
) -> None:
    """Write the organisation's live numbers, agents and rules as manifests.

    The result describes live state exactly, so `plan` on it shows no changes:
    commit it, then edit it to change policy. Numbers are quoted E.164 strings;
    one-way and paused rules use the mapping form (`direction`, `status: paused`);
    identities without a number are written under `agents:`. A file that already
    exists is never replaced without --force (checked before anything is written).

    \b
    Examples:
      inkbox-sync export -o manifests/all.yaml
      inkbox-sync export --output-dir manifests/
      inkbox-sync export --target +14155550001
      inkbox-sync export --output-dir manifests/ --force   replace what is there
    """
    if output and output_dir:
        raise click.UsageError("--output and --output-dir are exclusive")
    if output is not None and not force:
        refuse_to_overwrite([output])  # before reading anything: fail fast
    options = get_options(ctx)
    wanted = parse_targets(targets)
    with options.endpoint() as endpoint:
        conn = connection(options, endpoint)
        with read_progress(conn) as progress:
            live = run_sync(read_everything(conn, wanted, progress))
        keep_until_exit(live)  # the whole organisation: never freed object by object
        report_stats(options, conn)
        source = endpoint.source
    missing = sorted(set(wanted) - set(live.numbers))
    if missing:
        raise ConfigError(
            f"--target names numbers this organisation does not own: {', '.join(missing)}"
        )
    when = datetime.now(UTC).isoformat(timespec="seconds")
    numbers = list(live.numbers.values())
    holders: list[LiveNumber | LiveAgent] = [*numbers, *live.agents.values()]
    rules = sum(len(h.rules or {}) for h in holders)
    agents = f", {len(live.agents)} agents" if live.agents else ""
    what = f"{len(numbers)} numbers{agents}, {rules} rules"
    if output_dir is not None:
        files = export_by_agent(live, source=source, when=when)
        if not force:
            refuse_to_overwrite([output_dir / name for name in files])
        _note_secret_urls(numbers)
        _note_key_in_live_values("".join(files.values()))
        for name, text in files.items():
            write_atomic(output_dir / name, scrubbed(text))
        say(f"Exported {what} into {len(files)} files in {output_dir}", err=True)
        return
    _note_secret_urls(numbers)
    text = export_manifest(live, source=source, when=when)
    _note_key_in_live_values(text)
    if output is None:
        data(text, nl=False)
        return
    write_atomic(output, scrubbed(text))
    say(f"Exported {what} to {output}", err=True)


def _note_secret_urls(numbers: list[LiveNumber]) -> None:
    """An export is a manifest: its URLs are written whole, or plan on it would show
    changes. Say so when some carry what output redacts, before it is committed."""
    bearing = sum(
        1
        for number in numbers
        for url in (number.client_websocket_url, number.incoming_call_webhook_url)
        if url and redact_url(url) != url
    )
    if bearing:
        say(
            f"note: {bearing} exported URL(s) carry userinfo, a query or a fragment (often a "
            "token); they are written in full so that the manifest matches live state. "
            "Consider ${VAR} references for them before committing the file.",
            err=True,
        )


def refuse_to_overwrite(paths: list[Path]) -> None:
    """Export replaces hand-written manifests only when told to: all or nothing."""
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise ConfigError(
            f"not overwriting {len(existing)} existing file(s): {', '.join(existing)}; "
            "nothing was written (pass --force to replace them)"
        )


def _note_key_in_live_values(text: str) -> None:
    """The key never reaches a file, so a live value holding it is exported as `***`:
    say so, or a plan on the export would quietly write `***` over it."""
    if scrubbed(text) != text:
        say(
            "warning: a live value holds the API key itself (a URL that carries it); the "
            "export shows *** in its place, and apply of it would write ***. Give that URL a "
            "secret of its own, and rotate the key: whoever serves that URL has seen it.",
            err=True,
            fg="yellow",
        )
