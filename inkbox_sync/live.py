"""Read the live state the manifests name, in as few API round trips as the API allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from inkbox_sync.client import ClientStats, InkboxClient, RequestEvent
from inkbox_sync.errors import AuthError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.model import SIDES, LiveNumber, LiveRule, LiveRules, LiveState, entry_of, on_side

if TYPE_CHECKING:
    import httpx


class Endpoint(Protocol):
    """Where the API is (inkbox_sync.cli.context.Endpoint fits; the core does not import the CLI)."""

    @property
    def base_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...


#: progress(done, total): rule requests done so far, out of `total`. The
#: org-wide listing does not say how many pages it has, so there `total` is
#: None (not known yet) until the last page is in, then done: a counter that
#: ends at done == total.
OnProgress = Callable[[int, int | None], None]

#: Read rules org-wide once the wanted numbers are at least this share of the
#: organisation's numbers. Why: per-number listing costs at least one request
#: per wanted number (w); the org-wide listing costs ceil(all rules / 200), at
#: most the per-number cost of *every* number (n). With up to 100 rules per
#: number on average (typical fleets have far fewer), org-wide is at most n/2
#: requests, so from w >= n/2 on it never costs more, and with few rules per
#: number it costs far less. Below that share, per-number bounds the read to
#: what the manifests name (a `--target` run reads one number, not the org).
ORG_WIDE_MIN_SHARE: Final = 0.5
#: ...and at least this many numbers: for one number both cost one request, and
#: the per-number route also works with an agent-scoped key.
ORG_WIDE_MIN_NUMBERS: Final = 2

T = TypeVar("T")


async def read_live_state(
    client: InkboxClient,
    wanted: Mapping[str, bool] | None,
    *,
    progress: OnProgress | None = None,
) -> LiveState:
    """The live numbers the manifests name, with rules where they are wanted.

    `wanted` maps each E.164 number to whether its rules must be read; None
    means every number of the organisation, rules included (for `export`).
    Numbers the organisation does not own are absent from the result (the
    planner reports them). A number's `rules` maps target -> its rule rows when
    its rules were read, and is None otherwise. The state records the API's
    version and capabilities, as the client says them.
    """
    with gc_paused():  # ~0.3 s of collections for 100,000 rules otherwise; see gcpause.py
        return await _read_live_state(client, wanted, progress)


async def _read_live_state(
    client: InkboxClient, wanted: Mapping[str, bool] | None, progress: OnProgress | None
) -> LiveState:
    # Both listings at once: identities only name the owners, so they cost no latency.
    identities_task = asyncio.ensure_future(client.list_identities())
    try:
        numbers = await client.list_numbers()
        identities = await identities_task
    finally:
        identities_task.cancel()
        await asyncio.gather(identities_task, return_exceptions=True)
    if wanted is None:
        wanted = {n.number: True for n in numbers}
    owned = {
        n.number: replace(n, agent_handle=identities.get(n.agent_identity_id or ""))
        for n in numbers
        if n.number in wanted
    }
    to_read = sorted(n.id for number, n in owned.items() if wanted[number])
    by_id = await _read_rules(client, to_read, org_size=len(numbers), progress=progress)
    result: dict[str, LiveNumber] = {}
    for number in sorted(owned):
        live = owned[number]
        if live.id in by_id:
            live = replace(live, rules=_by_target(by_id[live.id]))
        result[number] = live
    return LiveState(result, capabilities=client.capabilities, api_version=client.api_version)


async def _read_rules(
    client: InkboxClient, number_ids: list[str], *, org_size: int, progress: OnProgress | None
) -> dict[str, list[LiveRule]]:
    """Rules of each number id, by whichever listing needs fewer requests."""
    if not number_ids:
        return {}
    if len(number_ids) >= ORG_WIDE_MIN_NUMBERS and len(number_ids) >= ORG_WIDE_MIN_SHARE * org_size:
        pages = 0

        def on_page() -> None:
            nonlocal pages
            pages += 1
            if progress:
                progress(pages, None)

        try:
            every = await client.list_org_rules(on_page=on_page)
            if progress:
                progress(pages, pages)
        except AuthError as exc:
            if exc.status != 403:
                raise
            # The org-wide listing is admin-only; a narrower key may still read
            # its numbers one by one.
        else:
            return {number_id: every.get(number_id, []) for number_id in number_ids}
    done = 0
    if progress:
        progress(0, len(number_ids))

    async def one(number_id: str) -> list[LiveRule]:
        nonlocal done
        rules = await client.list_number_rules(number_id)
        done += 1
        if progress:
            progress(done, len(number_ids))
        return rules

    lists = await gather_all(one(number_id) for number_id in number_ids)
    return dict(zip(number_ids, lists, strict=True))


def _by_target(rules: Iterable[LiveRule]) -> dict[str, LiveRules]:
    """Target -> its rows. The contract allows one non-deleted row per (target,
    side); should the API ever list two, keep one deterministically per side:
    the active one (it is the one that can decide), else the smaller id."""
    out: dict[str, LiveRules] = {}
    for rule in rules:
        have = out.get(rule.target)
        if have is None and rule.direction == "both":
            out[rule.target] = rule  # the common case, kept cheap
            continue
        sides = [on_side(have, side) for side in SIDES]
        for index, side in enumerate(SIDES):
            if rule.direction != "both" and rule.direction != side:
                continue
            old = sides[index]
            if old is None or (rule.status == "active", old.id) > (old.status == "active", rule.id):
                sides[index] = rule
        # A row that lost one of its sides to another row keeps only the other.
        entry = entry_of(sides[0], sides[1])
        if entry is not None:
            out[rule.target] = entry
    return out


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Run all at once; on the first failure cancel the rest and raise that failure.

    (asyncio.gather leaves siblings running; a TaskGroup would wrap the error
    in an ExceptionGroup, which the CLI's error mapping would not recognise.)
    """
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def read_live_state_sync(
    endpoint: Endpoint,
    wanted: Mapping[str, bool] | None,
    *,
    concurrency: int = 8,
    progress: OnProgress | None = None,
    on_request: Callable[[RequestEvent], None] | None = None,
    stats: ClientStats | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LiveState:
    """`read_live_state` for synchronous callers (the CLI); `stats` collects counters."""

    async def run() -> LiveState:
        async with InkboxClient(
            endpoint.base_url,
            endpoint.api_key,
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
