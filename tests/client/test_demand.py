"""Reads that start before the manifests are loaded (`inkbox_sync.client.demand`).

Against the real sandbox on both versions: the org-wide rule listing starts
while the demand is still being settled once the holders named make it the
listing the settled demand would choose, and never otherwise; either way the
result is what a read of the settled demand gives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from inkbox_sync.client import ADAPTERS, Demand
from inkbox_sync.errors import ManifestError, PermanentApiError
from inkbox_sync.live import read_demanded, read_live_state
from inkbox_sync.manifest import OnNamed
from inkbox_sync.model import DesiredState
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.workflow import Connection, load_read_and_plan
from tests.support.sandbox import clear_requests, get_requests

SUPPORT, SALES, BILLING, SCHED, PARTNER, LEGACY = (
    "+18335794607",
    "+14155550001",
    "+14155550002",
    "+14155550003",
    "+12125550100",
    "+13125550199",
)
ORG_RULES = "/api/v1/phone/contact-rules"


@pytest.fixture(params=["2026-10", "2026-06"])
def box(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(api_version=request.param)) as server:
        yield server


def rule_paths(box: SandboxServer) -> list[str]:
    return [e["path"] for e in get_requests(box.base_url) if "rules" in e["path"]]


async def until_requested(box: SandboxServer, path: str) -> None:
    for _ in range(500):
        if path in rule_paths(box):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} was never requested")


# -- the demand alone ---------------------------------------------------------------


def test_names_from_another_thread_wake_the_reader_and_settling_ends_the_wait() -> None:
    async def go() -> tuple[bool, bool, object]:
        demand = Demand()
        enough = asyncio.ensure_future(demand.until(lambda numbers, _: len(numbers) >= 2))
        thread = threading.Thread(target=demand.name, args=([SUPPORT, SALES], []))
        thread.start()
        first = await asyncio.wait_for(enough, 5)
        thread.join()
        # Never enough: settling answers False, with the final maps.
        never = asyncio.ensure_future(demand.until(lambda numbers, _: len(numbers) > 5))
        await asyncio.sleep(0)
        threading.Thread(target=demand.settle, args=({SUPPORT: True}, {})).start()
        second = await asyncio.wait_for(never, 5)
        return first, second, await demand.settled()

    assert asyncio.run(go()) == (True, False, ({SUPPORT: True}, {}))


def test_names_outside_the_targets_do_not_count_and_names_after_settling_are_ignored() -> None:
    async def go() -> tuple[object, object]:
        demand = Demand(targets=[SALES])
        demand.name([SUPPORT, SALES], ["support-bot"])
        first = demand.named
        demand.settle({SALES: True}, {})
        demand.name([BILLING], [])
        return first, demand.named

    first, after = asyncio.run(go())
    assert first == (frozenset({SALES}), frozenset())
    assert after == first


def test_a_settled_demand_reads_as_before() -> None:
    async def go() -> bool:
        demand = Demand.settled_as({SUPPORT: True})
        return await demand.until(lambda numbers, _: True)

    assert asyncio.run(go()) is True  # names are empty, but `enough` of nothing holds


# -- reading while the demand settles ------------------------------------------------


def test_the_org_wide_listing_starts_before_the_demand_settles(box: SandboxServer) -> None:
    """Four of the demo's numbers name more than half its policy holders (identities
    in 2026-10, numbers in 2026-06): the org-wide listing is the read the settled
    demand would choose, so it goes out while the demand is unsettled."""
    version = box.options.api_version
    named = [SUPPORT, SALES, BILLING, SCHED]
    settled = {number: True for number in named} | {PARTNER: False}

    async def go() -> object:
        async with ADAPTERS[version](box.base_url, box.api_key) as client:
            demand = Demand()
            reading = asyncio.ensure_future(read_demanded(client, demand))
            demand.name(named[:2], [])
            await asyncio.sleep(0.2)
            assert rule_paths(box) == []  # two holders are not enough to choose
            demand.name(named[2:], [])
            await until_requested(box, ORG_RULES)
            assert not reading.done()
            demand.settle(settled, {})
            return await reading

    clear_requests(box.base_url)
    early = asyncio.run(go())
    requested = rule_paths(box)
    assert set(requested) == {ORG_RULES}

    async def plain() -> object:
        async with ADAPTERS[version](box.base_url, box.api_key) as client:
            return await read_live_state(client, settled)

    assert early == asyncio.run(plain())


def test_too_few_names_wait_for_the_settled_demand(box: SandboxServer) -> None:
    """One holder named, then settled with two of the organisation's: one listing per
    holder, and no org-wide request at any point."""
    version = box.options.api_version

    async def go() -> object:
        async with ADAPTERS[version](box.base_url, box.api_key) as client:
            demand = Demand()
            reading = asyncio.ensure_future(read_demanded(client, demand))
            demand.name([SUPPORT], [])
            await asyncio.sleep(0.2)
            assert rule_paths(box) == []
            demand.settle({SUPPORT: True, SALES: True, BILLING: False}, {})
            return await reading

    clear_requests(box.base_url)
    state = asyncio.run(go())
    requested = rule_paths(box)
    assert ORG_RULES not in requested and len(requested) == 2
    assert state.numbers[SUPPORT].rules is not None  # type: ignore[attr-defined]
    assert state.numbers[BILLING].rules is None  # type: ignore[attr-defined]


# -- the workflow: loading and reading at once ---------------------------------------


def test_manifest_errors_come_first_even_when_the_read_fails(box: SandboxServer) -> None:
    """A load that fails wins over a read that fails (a wrong key): the manifests'
    errors are the ones to fix, offline."""
    conn = Connection(box.base_url, "not-the-key")

    def load(on_named: OnNamed) -> DesiredState:
        on_named([SUPPORT], [])
        raise ManifestError([])

    with pytest.raises(ManifestError):
        asyncio.run(load_read_and_plan(conn, load))
    with pytest.raises(PermanentApiError):  # and with manifests that load, the read's error
        asyncio.run(load_read_and_plan(conn, lambda _: DesiredState({})))
