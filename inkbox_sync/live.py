"""Read the live state the manifests name, through whichever API version adapter speaks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from inkbox_sync.client import (
    ApiAdapter,
    ClientStats,
    Demand,
    RequestEvent,
    VersionChoice,
    connect,
)
from inkbox_sync.client.api import OnProgress
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.model import LiveState

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Endpoint",
    "OnProgress",
    "read_demanded",
    "read_live_state",
    "read_live_state_sync",
    "run_sync",
]


class Endpoint(Protocol):
    """Where the API is (inkbox_sync.cli.context.Endpoint fits; the core does not import the CLI)."""

    @property
    def base_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...


T = TypeVar("T")


async def read_live_state(
    client: ApiAdapter,
    wanted: Mapping[str, bool] | None,
    *,
    agents: Mapping[str, bool] | None = None,
    progress: OnProgress | None = None,
) -> LiveState:
    """The live holders the manifests name, with rules where they are wanted.

    `wanted` maps each E.164 number to whether its policy (rules, modes) must be
    read, `agents` each agent handle managed by handle likewise; `wanted` None
    means the whole organisation, rules included (for `export`). Holders the
    organisation does not have are absent from the result (the planner reports
    them). A holder's `rules` maps target -> its rule rows when its rules were
    read, and is None otherwise. The state records the API's version and
    capabilities, as the adapter says them; which URLs are read, and how few
    requests that takes, is the adapter's.
    """
    return await read_demanded(client, Demand.settled_as(wanted, agents), progress=progress)


async def read_demanded(
    client: ApiAdapter, demand: Demand, *, progress: OnProgress | None = None
) -> LiveState:
    """`read_live_state` of a demand that may still be settling (see
    `inkbox_sync.client.demand`): the read starts at once."""
    with gc_paused():  # ~0.3 s of collections for 100,000 rules otherwise; see gcpause.py
        return await client.read_live(demand, progress=progress)


def read_live_state_sync(
    endpoint: Endpoint,
    wanted: Mapping[str, bool] | None,
    *,
    concurrency: int = 8,
    progress: OnProgress | None = None,
    on_request: Callable[[RequestEvent], None] | None = None,
    stats: ClientStats | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    api_version: str = "auto",
) -> LiveState:
    """`read_live_state` for synchronous callers; `stats` collects counters."""

    async def run() -> LiveState:
        async with connect(
            endpoint.base_url,
            endpoint.api_key,
            version=VersionChoice(api_version),
            concurrency=concurrency,
            on_request=on_request,
            stats=stats,
            transport=transport,
        ) as client:
            return await read_live_state(client, wanted, progress=progress)

    return run_sync(run())


def run_sync(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, minus a cost that grows with the result.

    When asyncio.run ends it puts back the SIGINT handler, and CPython 3.11
    formats the repr of the handler it replaces, which holds the main task,
    which shows its result: for a LiveState of 100,000 rules that repr costs
    about 0.3 s of CPU, thrown away. Here the main task's result is None.
    """
    out: list[T] = []

    async def wrapper() -> None:
        out.append(await main)

    asyncio.run(wrapper())
    return out[0]
