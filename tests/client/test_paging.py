"""Paging of the rule listings: envelope, bare lists, clamped limits, concurrent org-wide reads."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inkbox_sync.errors import TemporaryApiError
from tests.client.fakes import FakeApi, fail_times, make_client, number, rule


def offsets(api: FakeApi) -> list[tuple[str | None, str | None]]:
    return [(r.url.params.get("offset"), r.url.params.get("limit")) for r in api.log]


def read_number(api: FakeApi, number_id: str = "num-0000") -> list[str]:
    async def go() -> list[str]:
        async with make_client(api) as client:
            return [r.id for r in await client.list_number_rules(number_id)]

    return asyncio.run(go())


def test_envelope_pages_until_has_more_is_false() -> None:
    api = FakeApi.fleet(1, 450)
    ids = read_number(api)
    assert ids == [r["id"] for r in api.rules]
    assert offsets(api) == [("0", "200"), ("200", "200"), ("400", "200")]


def test_exact_multiple_of_the_page_size_stops_on_has_more() -> None:
    api = FakeApi.fleet(1, 400)
    assert len(read_number(api)) == 400
    assert len(api.log) == 2


def test_clamped_limit_becomes_the_page_step() -> None:
    api = FakeApi.fleet(1, 120, max_limit=50)
    assert len(read_number(api)) == 120
    assert offsets(api) == [("0", "200"), ("50", "50"), ("100", "50")]


def test_clamped_limit_without_saying_so_follows_has_more() -> None:
    api = FakeApi.fleet(1, 120, max_limit=50, say_limit=False)
    assert len(read_number(api)) == 120
    assert [o for o, _ in offsets(api)] == ["0", "50", "100"]


def test_envelope_without_has_more_stops_at_a_short_page() -> None:
    api = FakeApi.fleet(1, 250, say_has_more=False)
    assert len(read_number(api)) == 250
    assert len(api.log) == 2


def test_bare_list_short_page_is_the_last() -> None:
    api = FakeApi.fleet(1, 450, envelope=False)
    assert len(read_number(api)) == 450
    assert len(api.log) == 3


def test_bare_list_that_ignores_offset_stops_when_it_repeats() -> None:
    api = FakeApi.fleet(1, 200, envelope=False, ignore_offset=True)
    assert len(read_number(api)) == 200
    assert len(api.log) == 2  # one extra request to find out, never a loop


def test_deleted_rules_are_ignored_and_do_not_end_paging() -> None:
    api = FakeApi.fleet(1, 450)
    for r in api.rules[:200]:  # a whole page of deleted rows: the server lists none of them
        r["status"] = "deleted"
    api.rules[300]["status"] = "deleted"
    ids = read_number(api)
    assert len(ids) == 249
    assert api.rules[300]["id"] not in ids


def test_deleted_rules_in_the_listing_are_skipped() -> None:
    n = number(0)
    rows = [rule(n["id"], 1), rule(n["id"], 2, status="deleted"), rule(n["id"], 3, status="paused")]

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=rows)

    async def go() -> list[tuple[str, str]]:
        async with make_client(handler) as client:
            return [(r.target, r.status) for r in await client.list_number_rules(n["id"])]

    assert asyncio.run(go()) == [("+14150000001", "active"), ("+14150000003", "paused")]


def read_org(api: FakeApi, concurrency: int = 8, **kw: str) -> dict[str, list[str]]:
    async def go() -> dict[str, list[str]]:
        async with make_client(api, concurrency=concurrency) as client:
            got = await client.list_org_rules(**kw)
            return {k: [r.id for r in v] for k, v in got.items()}

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("n_rules", "max_limit"), [(5000, 200), (4000, 200), (1, 200), (0, 200), (1234, 50)]
)
def test_org_wide_concurrent_paging_reads_every_rule_once(n_rules: int, max_limit: int) -> None:
    api = FakeApi.fleet(25, 0, max_limit=max_limit, latency=0.001)
    api.rules = [rule(f"num-{i % 25:04d}", i) for i in range(n_rules)]
    got = read_org(api)
    expected: dict[str, list[str]] = {}
    for r in api.rules:  # grouped by number, in server order
        expected.setdefault(r["phone_number_id"], []).append(r["id"])
    assert got == expected
    pages = max(1, -(-n_rules // max_limit))
    # The first page alone, then a growing window: little waste past the end
    # (at most concurrency 8 + QUEUED_AHEAD 2 - 1).
    assert pages <= len(api.log) <= pages + min(9, pages)
    assert api.max_in_flight <= 8  # never more than the concurrency allows
    if n_rules > 2 * max_limit * 8:
        assert api.max_in_flight >= 6  # ...and the window does open up (timing allowing, 8)


def test_org_wide_paging_is_bounded_by_concurrency() -> None:
    api = FakeApi.fleet(10, 300, latency=0.002)  # 15 pages
    got = read_org(api, concurrency=3)
    assert sum(map(len, got.values())) == 3000
    assert api.max_in_flight == 3


def test_org_wide_with_concurrency_one_is_sequential() -> None:
    api = FakeApi.fleet(2, 300)
    assert sum(map(len, read_org(api, concurrency=1).values())) == 600
    assert len(api.log) == 3


def test_org_wide_bare_lists_fall_back_to_sequential_paging() -> None:
    api = FakeApi.fleet(3, 150, envelope=False)
    assert sum(map(len, read_org(api).values())) == 450
    assert len(api.log) == 3


def test_org_wide_filter_by_number() -> None:
    api = FakeApi.fleet(3, 5)
    assert list(read_org(api, phone_number_id="num-0001")) == ["num-0001"]
    assert api.log[0].url.params["phone_number_id"] == "num-0001"


def test_org_wide_failed_page_raises_and_cancels_the_rest() -> None:
    api = FakeApi.fleet(10, 300, latency=0.001)
    api.faults.append(
        lambda r: httpx.Response(500) if r.url.params.get("offset") == "1400" else None
    )

    async def go() -> None:
        async with make_client(api) as client:
            with pytest.raises(TemporaryApiError, match="GET /api/v1/phone/contact-rules"):
                await client.list_org_rules()
        assert all(t.done() for t in asyncio.all_tasks() if t is not asyncio.current_task())

    asyncio.run(go())


def test_org_wide_retries_a_failed_page_and_keeps_order() -> None:
    api = FakeApi.fleet(4, 500, latency=0.001)
    api.faults.append(fail_times(2, lambda r: httpx.Response(503)))
    got = read_org(api)
    assert got == {f"num-{i:04d}": [f"num-{i:04d}-r{j:05d}" for j in range(500)] for i in range(4)}
