"""The I/O sequences behind `plan` and `apply`: read live state, plan, re-read, execute.

Each function opens its own API client for one event loop; the CLI calls them
with `run_sync` (asyncio.run) and does all the printing and asking in between.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from inkbox_sync.client import ClientStats, InkboxClient, RequestEvent
from inkbox_sync.executor import ExecutionResult, StepCallback, execute
from inkbox_sync.live import read_live_state, run_sync
from inkbox_sync.model import DesiredState, LiveState
from inkbox_sync.plan import NumberBasis, Plan, Step
from inkbox_sync.planner import build_plan, fingerprint, rules_wanted

Progress = Callable[[int, int], None]

__all__ = [
    "Connection",
    "read_and_plan",
    "read_everything",
    "reread_basis",
    "run_steps",
    "run_sync",
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

    def __repr__(self) -> str:
        return (
            f"Connection(base_url={self.base_url!r}, api_key='***', concurrency={self.concurrency})"
        )

    def client(self) -> InkboxClient:
        return InkboxClient(
            self.base_url,
            self.api_key,
            concurrency=self.concurrency,
            on_request=self.on_request,
            stats=self.stats,
        )


async def read_and_plan(
    conn: Connection,
    desired: DesiredState,
    *,
    targets: Collection[str] | None = None,
    progress: Progress | None = None,
) -> tuple[Plan, LiveState]:
    """Read what the manifests manage, then plan. Only reads: never writes."""
    numbers = (
        desired.numbers
        if not targets
        else {t: desired.numbers[t] for t in targets if t in desired.numbers}
    )
    wanted = {number: rules_wanted(want) for number, want in numbers.items()}
    async with conn.client() as client:
        live = await read_live_state(client, wanted, progress=progress)
    return build_plan(desired, live, targets=targets), live


async def reread_basis(
    conn: Connection, basis: dict[str, NumberBasis], progress: Progress | None = None
) -> tuple[LiveState, list[str]]:
    """Re-read the numbers a saved plan changes; name those that moved since."""
    wanted = {number: b.rules_read for number, b in basis.items()}
    async with conn.client() as client:
        live = await read_live_state(client, wanted, progress=progress)
    stale = []
    for number, recorded in sorted(basis.items()):
        now = live.numbers.get(number)
        if now is None or now.id != recorded.number_id or fingerprint(now) != recorded.fingerprint:
            stale.append(number)
    return live, stale


async def run_steps(
    conn: Connection, steps: Sequence[Step], on_step: StepCallback | None = None
) -> ExecutionResult:
    async with conn.client() as client:
        return await execute(client, steps, on_step)


async def read_everything(
    conn: Connection, targets: Collection[str] = (), progress: Progress | None = None
) -> LiveState:
    """Every number of the organisation (or just `targets`) with its rules, for export."""
    wanted = dict.fromkeys(targets, True) if targets else None  # None: every number
    async with conn.client() as client:
        return await read_live_state(client, wanted, progress=progress)
