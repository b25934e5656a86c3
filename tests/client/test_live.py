"""read_live_state: what it reads, by which listing, and what it returns."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inkbox_sync.cli.context import Endpoint
from inkbox_sync.client import ClientStats
from inkbox_sync.errors import AuthError
from inkbox_sync.live import read_live_state, read_live_state_sync
from inkbox_sync.model import LiveRule, LiveState
from tests.client.fakes import BASE, KEY, FakeApi, FakeTime, make_client, rule


def phone(i: int) -> str:
    return f"+1833555{i:04d}"


def read(api: FakeApi, wanted: dict[str, bool] | None, **kw: object) -> LiveState:
    async def go() -> LiveState:
        async with make_client(api, FakeTime()) as client:
            return await read_live_state(client, wanted, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def rule_reads(api: FakeApi) -> list[str]:
    return [p for p in api.paths() if "contact-rules" in p]


def test_most_of_the_org_is_read_org_wide() -> None:
    api = FakeApi.fleet(10, 30)
    state = read(api, {phone(i): True for i in range(5)} | {phone(5): False})
    # 300 rules: 2 pages, and at most one speculative page past the end.
    assert set(rule_reads(api)) == {"GET /api/v1/phone/contact-rules"}
    assert 2 <= len(rule_reads(api)) <= 3
    assert sorted(state.numbers) == [phone(i) for i in range(6)]
    for i in range(5):
        rules = state.numbers[phone(i)].rules
        assert rules is not None and len(rules) == 30
    assert state.numbers[phone(5)].rules is None


def test_a_few_numbers_are_read_one_by_one() -> None:
    api = FakeApi.fleet(10, 30)
    state = read(api, {phone(3): True, phone(7): True, phone(8): False})
    assert sorted(rule_reads(api)) == [
        "GET /api/v1/phone/numbers/num-0003/contact-rules",
        "GET /api/v1/phone/numbers/num-0007/contact-rules",
    ]
    assert state.numbers[phone(3)].rules == {
        r["match_target"]: LiveRule(r["id"], r["match_target"], "allow", "active")
        for r in api.rules
        if r["phone_number_id"] == "num-0003"
    }
    assert state.numbers[phone(8)].rules is None


def test_one_number_of_one_is_read_per_number() -> None:
    api = FakeApi.fleet(1, 3)
    read(api, {phone(0): True})
    assert rule_reads(api) == ["GET /api/v1/phone/numbers/num-0000/contact-rules"]


def test_org_wide_forbidden_falls_back_to_per_number() -> None:
    api = FakeApi.fleet(4, 2, org_forbidden=True)
    state = read(api, {phone(i): True for i in range(4)})
    assert rule_reads(api)[0] == "GET /api/v1/phone/contact-rules"
    assert len(rule_reads(api)) == 5
    assert all(n.rules is not None and len(n.rules) == 2 for n in state.numbers.values())


def test_other_auth_errors_are_not_swallowed() -> None:
    api = FakeApi.fleet(4, 2)
    api.faults.append(
        lambda r: httpx.Response(401) if r.url.path.endswith("/contact-rules") else None
    )
    with pytest.raises(AuthError):
        read(api, {phone(i): True for i in range(4)})


def test_numbers_not_owned_are_absent_and_unnamed_ones_not_returned() -> None:
    api = FakeApi.fleet(3, 1)
    state = read(api, {phone(0): True, "+19995550000": True})
    assert list(state.numbers) == [phone(0)]


def test_agent_handles_and_fields_are_filled() -> None:
    api = FakeApi.fleet(2, 0)
    api.numbers[1]["agent_identity_id"] = None
    api.numbers[0]["filter_mode"] = "whitelist"
    state = read(api, {phone(0): False, phone(1): False})
    assert state.numbers[phone(0)].agent_handle == "bot-0"
    assert state.numbers[phone(0)].filter_mode == "whitelist"
    assert state.numbers[phone(1)].agent_handle is None
    assert rule_reads(api) == []
    assert sorted(api.paths()) == ["GET /api/v1/identities/", "GET /api/v1/phone/numbers"]


def test_number_without_rules_reads_as_empty_mapping() -> None:
    api = FakeApi.fleet(3, 0)
    state = read(api, {phone(i): True for i in range(3)})
    assert all(n.rules == {} for n in state.numbers.values())


def test_none_wanted_means_every_number_with_rules() -> None:
    api = FakeApi.fleet(3, 2)
    state = read(api, None)
    assert len(state.numbers) == 3
    assert all(n.rules is not None and len(n.rules) == 2 for n in state.numbers.values())


@pytest.mark.parametrize("org_wide", [True, False])
def test_two_live_rules_for_one_target_keep_one_deterministically(org_wide: bool) -> None:
    api = FakeApi.fleet(2 if org_wide else 5, 0)
    twins = [
        rule("num-0000", 1, action="block", status="paused", rid="b"),
        rule("num-0000", 1, action="allow", status="active", rid="c"),
        rule("num-0000", 1, action="block", status="active", rid="a"),
    ]
    for order in (twins, twins[::-1]):
        api.rules = [dict(r) for r in order]
        wanted = {phone(0): True, phone(1): True} if org_wide else {phone(0): True}
        state = read(api, wanted)
        rules = state.numbers[phone(0)].rules
        assert rules == {"+14150000001": LiveRule("a", "+14150000001", "block", "active")}


def test_progress_reports_per_number_and_org_wide_reads() -> None:
    calls: list[tuple[int, int | None]] = []
    read(
        FakeApi.fleet(10, 1),
        {phone(1): True, phone(2): True},
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)
    calls.clear()
    read(
        FakeApi.fleet(2, 300),
        {phone(0): True, phone(1): True},
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[:2] == [(1, None), (2, None)] and len(calls) <= 4  # pages: not known yet
    assert calls[-1][0] == calls[-1][1]


def test_per_number_reads_run_concurrently() -> None:
    api = FakeApi.fleet(40, 1, latency=0.005)
    read(api, {phone(i): True for i in range(8)})
    assert api.max_in_flight == 8


def test_a_failed_number_read_cancels_the_others() -> None:
    api = FakeApi.fleet(40, 1, latency=0.002)
    api.faults.append(lambda r: httpx.Response(404) if "num-0005" in r.url.path else None)
    with pytest.raises(Exception, match="num-0005"):
        read(api, {phone(i): True for i in range(10)})


def test_sync_wrapper_collects_stats() -> None:
    api = FakeApi.fleet(3, 2)
    stats = ClientStats()
    state = read_live_state_sync(
        Endpoint(BASE, KEY),
        {phone(i): True for i in range(3)},
        concurrency=2,
        stats=stats,
        transport=httpx.MockTransport(api),
    )
    assert len(state.numbers) == 3
    assert stats.requests["GET"] == 3  # identities, numbers, one org-wide page
