"""`inkbox-sync sandbox serve`: run the local Inkbox-compatible server until stopped."""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from inkbox_sync.sandbox.faults import DEFAULT_RATE_LIMIT
from inkbox_sync.sandbox.persistence import MIN_COMPACT_BYTES
from inkbox_sync.sandbox.server import DEFAULT_API_KEY, SandboxOptions, SandboxServer
from inkbox_sync.sandbox.validation import MAX_LIMIT
from inkbox_sync.sandbox.versions import DEFAULT_API_VERSION, VERSIONS


@click.group("sandbox")
def command() -> None:
    """A local server that speaks the Inkbox phone API, for tests and demos.

    It answers every route of the phone API contract with the same fields,
    defaults and errors, starting with a demo organisation (six agents, each
    with a number). Nothing leaves the machine.

    \b
    Examples:
      inkbox-sync sandbox serve                         serve on 127.0.0.1:8765
      inkbox-sync sandbox serve --port 0 --state org.json
      inkbox-sync --sandbox demo.json plan examples/    an embedded one, for one command
    """


def banner(base_url: str, api_key: str) -> str:
    """`INKBOX_BASE_URL=... INKBOX_API_KEY=...`, quoted for a POSIX shell where needed
    (an IPv6 URL's brackets are a glob). The key is the sandbox's own, not an Inkbox one."""
    return f"INKBOX_BASE_URL={shlex.quote(base_url)} INKBOX_API_KEY={shlex.quote(api_key)}"


def parse_banner(line: str) -> dict[str, str] | None:
    """The variables of a `banner` line, as a shell would read them; None for another line."""
    if not line.startswith("INKBOX_BASE_URL="):
        return None
    return dict(word.split("=", 1) for word in shlex.split(line))


@command.command("serve")
@click.option(
    "--api-version",
    type=click.Choice(sorted(VERSIONS, reverse=True)),
    default=DEFAULT_API_VERSION,
    show_default=True,
    help="The Inkbox API version to speak. A --state FILE of an older version is migrated "
    "(the original is kept beside it).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one (the URL printed says which).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Load the state from FILE (created with the demo organisation if missing) and "
    "persist every accepted write to it. Without it, the demo organisation lives in memory.",
)
@click.option(
    "--api-key",
    envvar="INKBOX_SANDBOX_API_KEY",
    default=DEFAULT_API_KEY,
    show_default=True,
    metavar="KEY",
    help="The admin API key clients must send as X-API-Key [env INKBOX_SANDBOX_API_KEY].",
)
@click.option(
    "--agent-key",
    metavar="KEY",
    help="Also accept KEY as an agent-scoped key: 403 on admin-only operations. In 2026-10 "
    "it belongs to one identity (see --agent-handle) and sees only that one.",
)
@click.option(
    "--agent-handle",
    metavar="HANDLE",
    help="2026-10: the identity the --agent-key belongs to [default: the state's first "
    "identity, support-bot in the demo].",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Delay every API request by this many milliseconds.",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0,
    show_default=True,
    metavar="P",
    help="Answer this fraction of API requests with 500; for writes, half of those "
    "after the write was committed.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_RATE_LIMIT,
    show_default=True,
    metavar="N",
    help="Requests per second per API key; beyond it, 429 with Retry-After.",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1),
    default=MAX_LIMIT,
    show_default=True,
    metavar="N",
    help="Largest page of rules; a larger ?limit= is clamped to it.",
)
@click.option(
    "--seed", type=int, metavar="N", help="Seed for --fail-rate, so failures are reproducible."
)
@click.option(
    "--journal-limit",
    type=click.IntRange(min=1),
    default=MIN_COMPACT_BYTES,
    hidden=True,  # for tests that want compaction to happen all the time
    help="Fold the journal into FILE once it passes this many bytes (and FILE's size).",
)
def serve(
    api_version: str,
    host: str,
    port: int,
    state_file: Path | None,
    api_key: str,
    agent_key: str | None,
    agent_handle: str | None,
    latency_ms: float,
    fail_rate: float,
    rate_limit: int,
    page_size: int,
    seed: int | None,
    journal_limit: int,
) -> None:
    """Serve the Inkbox phone API on HOST:PORT until interrupted (Ctrl-C or SIGTERM).

    \b
    Examples:
      inkbox-sync sandbox serve                        demo organisation, in memory
      inkbox-sync sandbox serve --state org.json       persisted in org.json
      inkbox-sync sandbox serve --port 0 --latency-ms 20 --fail-rate 0.05 --seed 7
      inkbox-sync sandbox serve --api-version 2026-06   the per-number rules of 2026-06
    \b
    Point clients at it with its first line, for example:
      INKBOX_BASE_URL=http://127.0.0.1:8765 INKBOX_API_KEY=sandbox-key
    \b
    Control endpoints (no key needed, not rate limited, not logged):
      GET/PUT /_sandbox/state       the state document, in the API version's shapes
      GET/DELETE /_sandbox/requests the log of API requests
      GET/PATCH /_sandbox/faults    latency_ms, fail_rate, seed, rate_limit, hold_writes_after,
                                    refuse_writes_after
    """
    server = SandboxServer(
        SandboxOptions(
            api_version=api_version,
            host=host,
            port=port,
            api_key=api_key,
            agent_key=agent_key,
            agent_handle=agent_handle,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            rate_limit=rate_limit,
            page_size=page_size,
            seed=seed,
            state_file=state_file,
            journal_limit=journal_limit,
        )
    ).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The first line is the contract with people and scripts: pasted into a shell it
    # points inkbox-sync at this sandbox; scripts and tests parse the URL from it.
    click.echo(banner(server.base_url, api_key))
    address = f"[{host}]:{server.port}" if ":" in host else f"{host}:{server.port}"
    click.echo(f"Inkbox sandbox listening on {address}; API under /api/v1, control /_sandbox/")
    click.echo(f"State: {state_file}" if state_file else "State: demo organisation, in memory")
    click.echo(f"API version: {api_version}")
    if server.migrated_from:
        click.echo(
            f"Migrated {state_file} from API version {server.migrated_from}; "
            f"the original is kept in {server.kept_copy}"
        )
    click.echo("Press Ctrl-C to stop.", nl=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        if state_file:
            click.echo(f"Stopped; state saved in {state_file}", err=True)
