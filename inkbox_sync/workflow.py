"""The I/O sequences behind `plan` and `apply`: read live state, plan, re-read, execute.

Each function opens its own API client for one event loop; the CLI calls them
with `run_sync` (asyncio.run) and does all the printing and asking in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from inkbox_sync.client import (
    ApiAdapter,
    ClientStats,
    Demand,
    KeyScope,
    NoticeBoard,
    RequestEvent,
    VersionChoice,
    connect,
)
from inkbox_sync.errors import Diagnostic, InkboxSyncError, ManifestError, RefusedError
from inkbox_sync.executor import ExecutionResult, Executor, StepCallback
from inkbox_sync.live import OnProgress, read_demanded, read_live_state, run_sync
from inkbox_sync.manifest import OnNamed, version_problems
from inkbox_sync.model import Capabilities, DesiredPolicy, DesiredState, LiveState
from inkbox_sync.phases import Phases
from inkbox_sync.plan import NumberBasis, Plan, Step
from inkbox_sync.planner import build_plan, fingerprint, rules_wanted
from inkbox_sync.redact import redact_url

__all__ = [
    "Connection",
    "Interrupt",
    "Loader",
    "check_key_scope",
    "load_read_and_plan",
    "read_everything",
    "refuse_key_in_values",
    "reread_basis",
    "run_steps",
    "run_sync",
    "scope_verdict",
]


@dataclass(frozen=True)
class Connection:
    """How to reach the API. `api_key` must never be printed or logged."""

    base_url: str
    api_key: str
    concurrency: int = 8
    on_request: Callable[[RequestEvent], None] | None = None
    #: Shared by every client this connection opens: requests, retries, 429s.
    stats: ClientStats = field(default_factory=ClientStats)
    #: The API version asked for, and once the first client has found it, the one
    #: every later client of the run speaks.
    version: VersionChoice = field(default_factory=VersionChoice)
    #: The API's notices, each passed on once per run (None: not collected).
    notices: NoticeBoard | None = None

    def __repr__(self) -> str:
        return (
            f"Connection(base_url={redact_url(self.base_url)!r}, api_key='***', "
            f"concurrency={self.concurrency})"
        )

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[ApiAdapter]:
        """The adapter of the API's version (detected by the first client of the run
        unless `version` names it), closed on exit."""
        async with connect(
            self.base_url,
            self.api_key,
            version=self.version,
            concurrency=self.concurrency,
            on_request=self.on_request,
            stats=self.stats,
            notices=self.notices,
        ) as adapter:
            yield adapter


#: Loads the manifests, telling the holders it finds as it goes (runs in a thread).
Loader = Callable[[OnNamed], DesiredState]


async def load_read_and_plan(
    conn: Connection,
    load: Loader,
    *,
    targets: Collection[str] | None = None,
    progress: OnProgress | None = None,
    phases: Phases | None = None,
) -> tuple[DesiredState, Plan, LiveState]:
    """Load the manifests while reading what they manage, then plan. Only reads.

    `load(on_named)` runs in a worker thread while the read starts on this loop:
    the identities and numbers listings at once, and the org-wide rule listing
    as soon as the holders the manifests have named make it the read they need
    (`inkbox_sync.client.demand`). The load is what the plan waits on least:
    the network round trips are. A load that fails ends the read, and its
    error (a ManifestError) is what is raised, even if the read failed too.

    Raises ManifestError, every key at its line, when the manifests use keys the
    API that answered cannot express (known once live state says which API it
    is), and before planning when a value apply would write holds the API key
    (see `refuse_key_in_values`).
    """
    phases = phases or Phases()
    demand = Demand(targets)

    def loading() -> DesiredState:
        with phases.span("manifests"), _answers_first():
            return load(demand.name)

    loaded = asyncio.ensure_future(asyncio.to_thread(loading))
    try:
        with phases.span("reads"):
            live, desired = await _read_while_loading(conn, demand, loaded, progress, targets)
    finally:
        loaded.cancel()  # (the thread itself always runs to its end)
    problems = version_problems(desired, live.capabilities, live.api_version, targets=targets)
    if problems:
        raise ManifestError(problems)
    with phases.span("planning"):
        plan = build_plan(desired, live, targets=targets)
    return desired, plan, live


#: How long the loading thread may hold the GIL while an answer waits (CPython's
#: default is 5 ms; an answer waiting that long holds its request slot idle).
_SWITCH_WHILE_LOADING: Final = 0.0005


@contextlib.contextmanager
def _answers_first() -> Iterator[None]:
    """While the manifests load beside the reads, let the event loop take the GIL
    back soon after an answer arrives: the loading is CPU work that can wait a
    little, a request slot left idle cannot (measured on the fleet: the pages
    during the load went from ~110-240 to ~270-360 a second)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, _SWITCH_WHILE_LOADING))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


async def _read_while_loading(
    conn: Connection,
    demand: Demand,
    loaded: asyncio.Future[DesiredState],
    progress: OnProgress | None,
    targets: Collection[str] | None,
) -> tuple[LiveState, DesiredState]:
    try:
        async with conn.client() as client:
            reading = asyncio.ensure_future(read_demanded(client, demand, progress=progress))
            try:
                desired = await asyncio.shield(loaded)
                refuse_key_in_values(desired, conn.api_key)
                numbers = _holders_of(desired.numbers, targets)
                agents = _holders_of(desired.agents, targets)
                demand.settle(numbers, agents)
                return await reading, desired
            finally:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
    except InkboxSyncError:
        # The load's failure first (a manifest error, or a bug while loading): the
        # manifests' errors are the ones to fix, and they need no API to see.
        failed = await asyncio.gather(asyncio.shield(loaded), return_exceptions=True)
        if isinstance(failed[0], Exception):
            raise failed[0] from None
        raise


def _holders_of(
    declared: Mapping[str, DesiredPolicy], targets: Collection[str] | None
) -> dict[str, bool]:
    """Holder key -> whether its policy is read, for the holders a plan covers."""
    chosen = declared if not targets else {t: declared[t] for t in targets if t in declared}
    return {key: rules_wanted(want) for key, want in chosen.items()}


#: The manifest values that apply writes as they are: where the key must not be.
_WRITTEN_TEXT = ("incoming_call_webhook_url", "client_websocket_url", "forwarding_sip_uri")


def refuse_key_in_values(desired: DesiredState, api_key: str) -> None:
    """ManifestError when a value apply would write holds the API key itself.

    `${INKBOX_*}` is refused when manifests load; this is the same promise for a
    key pasted in literally. Such a value would hand the key to whoever serves
    the URL, and every output scrubs the key to `***`, so a saved plan or an
    export would then hold (and apply would write) `***` in its place.
    """
    diagnostics = []
    for number, want in desired.numbers.items():
        for name in _WRITTEN_TEXT:
            value = getattr(want, name)
            if isinstance(value, str) and api_key and api_key in value:
                where = want.location
                diagnostics.append(
                    Diagnostic(
                        where.file if where else "<manifest>",
                        where.line if where else 0,
                        where.column if where else 0,
                        f"{number}: {name} holds the API key; a manifest must never copy "
                        "the key into a value apply writes (give the URL a secret of its "
                        "own, such as ${HOOK_TOKEN})",
                    )
                )
    if diagnostics:
        raise ManifestError(diagnostics)


async def reread_basis(
    conn: Connection,
    basis: dict[str, NumberBasis],
    progress: OnProgress | None = None,
    *,
    api_version: str | None = None,
) -> tuple[LiveState, list[str]]:
    """Re-read the numbers a saved plan changes; name those that moved since.

    With `api_version` (the saved plan's), refuse an API that speaks another:
    the plan's steps were chosen for that version's capabilities.
    """
    numbers, agents = _holders({key: b.rules_read for key, b in basis.items()})
    async with conn.client() as client:
        if api_version and api_version != client.api_version:
            raise RefusedError(
                f"the saved plan was made against API version {api_version}, but this API "
                f"speaks {client.api_version}; run plan again against it"
            )
        live = await read_live_state(client, numbers, agents=agents, progress=progress)
    stale = []
    for number, recorded in sorted(basis.items()):
        now = live.numbers.get(number) or live.agents.get(number)
        if now is None or now.id != recorded.number_id or fingerprint(now) != recorded.fingerprint:
            stale.append(number)
    return live, stale


def _holders(wanted: Mapping[str, bool]) -> tuple[dict[str, bool], dict[str, bool]]:
    """A plan's holder keys split into numbers and agent handles: a number is E.164,
    which always starts with `+`, and a handle never does."""
    numbers = {key: want for key, want in wanted.items() if key.startswith("+")}
    agents = {key: want for key, want in wanted.items() if not key.startswith("+")}
    return numbers, agents


#: How many writes a refusal for want of scope names before summarising.
_NAMED = 5


async def check_key_scope(conn: Connection, steps: Sequence[Step]) -> str | None:
    """Ask the API what the key may do (`GET /api/whoami`) before the first write;
    see `scope_verdict` for what is refused and what only warned about."""
    async with conn.client() as client:
        return scope_verdict(await client.whoami(), steps, client.needs_admin)


def scope_verdict(
    scope: KeyScope | None, steps: Sequence[Step], needs_admin: Callable[[Step], bool]
) -> str | None:
    """RefusedError when the key cannot make a write the plan needs; a warning
    when its scope cannot be known; None when it may make them all.

    Unknown scope (an older server answers whoami 404, or a kind of key this
    client does not know) warns and goes on rather than refusing: the check is
    there to refuse *up front*, and without it a write the key may not make
    fails at once with 403, after which no new write starts and what was done
    is a safe prefix. Refusing would lock out every server without whoami.
    """
    if scope is None:
        return (
            "the API does not answer GET /api/whoami, so the key's scope was not checked "
            "up front; a write it may not make will stop apply there (what was done "
            "before is safe)"
        )
    if scope.admin is None:
        return (
            f"the key's scope ({scope.auth_subtype or scope.auth_type}) is not one "
            "inkbox-sync knows, so it was not checked up front"
        )
    needing = [] if scope.admin else [step for step in steps if needs_admin(step)]
    if not needing:
        return None
    named = "\n  ".join(step.describe() for step in needing[:_NAMED])
    more = f"\n  ... and {len(needing) - _NAMED} more" if len(needing) > _NAMED else ""
    raise RefusedError(
        f"refusing: the API key is agent-scoped ({scope.auth_subtype}), and {len(needing)} of "
        f"the plan's {len(steps)} writes need an admin-scoped key (filter_mode changes, rule "
        f"updates and deletes). Nothing was written; use an admin-scoped key.\n  {named}{more}"
    )


@dataclass(slots=True)
class Interrupt:
    """What signals did to a run of steps: the first stops new writes; a second
    stops waiting for those in flight (`abandoned`)."""

    signum: int | None = None
    abandoned: bool = False


InterruptCallback = Callable[[int, int], None]
"""Called on the first signal: (signal number, writes in flight it waits for)."""


async def run_steps(
    conn: Connection,
    steps: Sequence[Step],
    on_step: StepCallback | None = None,
    on_interrupt: InterruptCallback | None = None,
    *,
    capabilities: Capabilities | None = None,
) -> tuple[ExecutionResult, Interrupt]:
    """Run the steps. SIGINT or SIGTERM: no new write starts and those in flight
    finish; a second one abandons them (they stay in `result.in_flight`).
    `capabilities` default to the API's own, as the client says them."""
    interrupt = Interrupt()
    async with conn.client() as client:
        caps = capabilities or client.capabilities
        executor = Executor(client, steps, on_step, capabilities=caps)
        run: asyncio.Future[ExecutionResult] | None = None

        def on_signal(signum: int) -> None:
            if interrupt.signum is None:
                interrupt.signum = signum
                executor.halt()
                if on_interrupt:
                    on_interrupt(signum, len(executor.result.in_flight))
            elif not interrupt.abandoned and run is not None:
                interrupt.abandoned = True
                run.cancel()

        with _signals_to(on_signal):
            run = asyncio.ensure_future(executor.run())
            try:
                return await run, interrupt
            except asyncio.CancelledError:
                if not interrupt.abandoned:
                    raise  # cancelled from outside, not by a second signal
                return executor.result, interrupt


@contextlib.contextmanager
def _signals_to(handler: Callable[[int], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call `handler` on the running loop, then are given back.
    A signal the process was started ignoring (`nohup`, a background job) stays ignored."""
    loop = asyncio.get_running_loop()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            old = signal.getsignal(signum)
            if old is signal.SIG_IGN:
                continue
            loop.add_signal_handler(signum, handler, signum)
        except (ValueError, RuntimeError, NotImplementedError):
            continue  # not the main thread, or no signals here: nothing to take over
        previous[signum] = old
    try:
        yield
    finally:
        for signum, old in previous.items():
            loop.remove_signal_handler(signum)  # resets to the default, not to `old`
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


async def read_everything(
    conn: Connection, targets: Collection[str] = (), progress: OnProgress | None = None
) -> LiveState:
    """Every number of the organisation (or just `targets`) with its rules, for export."""
    wanted = dict.fromkeys(targets, True) if targets else None  # None: every number
    async with conn.client() as client:
        return await read_live_state(client, wanted, progress=progress)
