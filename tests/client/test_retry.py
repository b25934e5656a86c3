"""The one retry loop: 5xx, timeouts, connection errors, 429 and the retry budget."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from inkbox_sync.client import ClientStats, RetryPolicy
from inkbox_sync.errors import (
    ConflictError,
    RateLimitedError,
    TemporaryApiError,
    UnreachableError,
)
from tests.client.fakes import FakeApi, FakeTime, fail_times, make_client

POLICY = RetryPolicy()


class MaxRandom(random.Random):
    """uniform(a, b) -> b: shows the top of each jitter interval."""

    def uniform(self, a: float, b: float) -> float:
        return b


def list_numbers(api: FakeApi, ft: FakeTime, **kw: object) -> int:
    async def go() -> int:
        async with make_client(api, ft, **kw) as client:  # type: ignore[arg-type]
            return len(await client.list_numbers())

    return asyncio.run(go())


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected", request=request)


@pytest.mark.parametrize(
    "answer",
    [lambda r: httpx.Response(500), lambda r: httpx.Response(503), timeout, refused, dropped],
    ids=["500", "503", "timeout", "refused", "dropped"],
)
def test_transient_failures_are_retried_with_jittered_backoff(answer) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi.fleet(3, 0)
    api.faults.append(fail_times(4, answer))
    ft = FakeTime()
    assert list_numbers(api, ft) == 3
    assert len(api.log) == 5
    assert len(ft.sleeps) == 4
    for n, delay in enumerate(ft.sleeps):
        assert 0 <= delay <= min(POLICY.max_delay, POLICY.base_delay * 2**n)


def test_backoff_is_capped_exponential() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(fail_times(7, lambda r: httpx.Response(502)))
    ft = FakeTime()
    assert list_numbers(api, ft, rng=MaxRandom()) == 1
    assert ft.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0])


def test_jitter_is_full_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0)
    rng = random.Random(7)
    delays = [policy.backoff(3, rng) for _ in range(2000)]
    assert min(delays) < 0.5 and max(delays) > 7.5  # spread over all of [0, 8]
    assert all(0 <= d <= 8 for d in delays)


def test_retry_budget_exhausted_raises_temporary_error_naming_the_request() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(lambda r: httpx.Response(500, json={"detail": "boom"}))
    ft = FakeTime()
    with pytest.raises(TemporaryApiError) as info:
        list_numbers(api, ft)
    assert type(info.value) is TemporaryApiError
    assert info.value.status == 500
    assert "GET /api/v1/phone/numbers" in str(info.value)
    assert "8 attempts" in str(info.value)
    assert len(api.log) == POLICY.max_attempts


def test_transport_failures_exhausted_raise_temporary_error() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(timeout)
    with pytest.raises(UnreachableError) as e:
        list_numbers(api, FakeTime(), retry=RetryPolicy(max_attempts=3))
    assert str(e.value) == (
        "GET /api/v1/phone/numbers: inkbox.test: timed out (gave up after 3 attempts)"
    )
    assert isinstance(e.value, TemporaryApiError)
    assert (e.value.status, e.value.host, e.value.cause) == (
        None,
        "inkbox.test",
        "inkbox.test: timed out",
    )
    assert len(api.log) == 3


def test_4xx_is_not_retried() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(lambda r: httpx.Response(400, json={"detail": "bad"}))
    with pytest.raises(Exception, match="400 bad"):
        list_numbers(api, FakeTime())
    assert len(api.log) == 1


def test_429_honours_retry_after_seconds() -> None:
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429, headers={"Retry-After": "3"})))
    ft = FakeTime()
    start = ft.now

    async def go() -> int:
        async with make_client(api, ft) as client:
            n = len(await client.list_numbers())
            assert client.stats.rate_limited == 1
            assert client.stats.retries == 1
            return n

    assert asyncio.run(go()) == 2
    assert ft.sleeps == [3.0]
    assert ft.now - start == 3.0


def test_stats_say_a_send_is_waiting_on_the_rate_limit_while_it_waits() -> None:
    """The seam behind the progress line's "waiting on the rate limit": `waiting`
    counts the sends held by a Retry-After (or pacing) during the wait, and only then."""
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429, headers={"Retry-After": "3"})))
    stats = ClientStats()
    seen: list[int] = []

    class Watching(FakeTime):
        async def sleep(self, seconds: float) -> None:
            seen.append(stats.waiting)
            await super().sleep(seconds)

    assert list_numbers(api, Watching(), stats=stats) == 2
    assert seen == [1] and stats.waiting == 0


def test_429_honours_retry_after_http_date() -> None:
    ft = FakeTime()
    when = format_datetime(datetime.fromtimestamp(ft.now + 7, tz=UTC), usegmt=True)
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429, headers={"Retry-After": when})))
    assert list_numbers(api, ft) == 2
    assert sum(ft.sleeps) == pytest.approx(7.0)


def test_429_retry_after_is_capped() -> None:
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429, headers={"Retry-After": "3600"})))
    ft = FakeTime()
    assert list_numbers(api, ft) == 2
    assert ft.sleeps == [POLICY.max_retry_after]


def test_429_without_retry_after_backs_off() -> None:
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(2, lambda r: httpx.Response(429)))
    ft = FakeTime()
    assert list_numbers(api, ft, rng=MaxRandom()) == 2
    assert ft.sleeps == pytest.approx([0.1, 0.2])


def test_429_pauses_every_request_not_only_the_refused_one() -> None:
    api = FakeApi.fleet(2, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429, headers={"Retry-After": "2"})))
    ft = FakeTime()

    async def go() -> None:
        async with make_client(api, ft) as client:
            await client.list_numbers()  # the 429, then success
            before = ft.now
            await client.list_numbers()
            assert ft.now == before  # the pause is over: no further wait

    asyncio.run(go())


def test_rate_limit_budget_exhausted_raises_rate_limited() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(lambda r: httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitedError) as info:
        list_numbers(api, FakeTime(), retry=RetryPolicy(max_rate_limited=4))
    assert info.value.retry_after == 1.0
    assert "GET /api/v1/phone/numbers" in str(info.value)
    assert len(api.log) == 4


def commit_then(answer):  # type: ignore[no-untyped-def]
    """A fault that lets the request through to the fake (committing it), then fails."""

    def make(api: FakeApi):  # type: ignore[no-untyped-def]
        done = [False]

        def fault(request: httpx.Request) -> httpx.Response | None:
            if request.method != "POST" or done[0]:
                return None
            done[0] = True
            api.route(request)
            return answer(request)

        return fault

    return make


@pytest.mark.parametrize(
    "answer", [lambda r: httpx.Response(500), timeout, dropped], ids=["500", "timeout", "dropped"]
)
def test_ambiguous_create_is_retried_and_its_409_names_the_committed_rule(answer) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi.fleet(1, 0)
    api.faults.append(commit_then(answer)(api))

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            with pytest.raises(ConflictError) as info:
                await client.create_rule("num-0000", action="block", target="+14155550100")
            created = [r for r in api.rules if r["match_target"] == "+14155550100"]
            assert len(created) == 1  # committed once, never twice
            assert info.value.existing_rule_id == created[0]["id"]
            adopted = await client.get_rule("num-0000", info.value.existing_rule_id)
            assert (adopted.action, adopted.status) == ("block", "active")

    asyncio.run(go())
    assert [r.method for r in api.log] == ["POST", "POST", "GET"]


@pytest.mark.parametrize(
    ("answer", "lost"),
    [(refused, False), (timeout, True), (dropped, True), (lambda r: httpx.Response(500), True)],
    ids=["refused", "timeout", "dropped", "500"],
)
def test_a_409_says_whether_an_earlier_attempt_may_have_landed(answer, lost: bool) -> None:  # type: ignore[no-untyped-def]
    # Someone else holds the slot (FakeApi.fleet(1, 1) has a rule for +14150000000).
    # After a refused connection nothing of ours reached the server: not adoptable.
    api = FakeApi.fleet(1, 1)
    api.faults.append(fail_times(1, answer, method="POST"))

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.create_rule("num-0000", action="block", target="+14150000000")

    with pytest.raises(ConflictError) as info:
        asyncio.run(go())
    assert info.value.after_lost_answer is lost


def test_create_after_429_creates_once() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(fail_times(1, lambda r: httpx.Response(429), method="POST"))

    async def go() -> str:
        async with make_client(api, FakeTime()) as client:
            return (await client.create_rule("num-0000", action="allow", target="+1415")).target

    assert asyncio.run(go()) == "+1415"
    assert len(api.rules) == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_idempotent_writes_are_retried(method: str) -> None:
    api = FakeApi.fleet(1, 1)
    api.faults.append(fail_times(2, dropped, method=method))

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            if method == "PATCH":
                got = await client.update_rule("num-0000", "num-0000-r00000", status="paused")
                assert got.status == "paused"
            else:
                await client.delete_rule("num-0000", "num-0000-r00000")
                assert api.rules[0]["status"] == "deleted"

    asyncio.run(go())
    assert len(api.log) == 3


def test_delete_whose_first_attempt_committed_is_done() -> None:
    api = FakeApi.fleet(1, 1)

    def fault(request: httpx.Request) -> httpx.Response | None:
        if request.method == "DELETE" and api.rules[0]["status"] != "deleted":
            api.route(request)
            raise httpx.ReadTimeout("timed out", request=request)
        return None

    api.faults.append(fault)

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.delete_rule("num-0000", "num-0000-r00000")  # retry gets 404: done

    asyncio.run(go())
    assert [r.method for r in api.log] == ["DELETE", "DELETE"]
