"""Pacing by X-RateLimit-* headers: a limited run slows down instead of collecting 429s."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from inkbox_sync.client.pacing import RateLimitPacer, parse_retry_after
from tests.client.fakes import FakeApi, FakeTime, make_client

T0 = 1_700_000_000.0


def headers(remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_remaining_zero_waits_until_reset_seconds() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    pacer.observe(pacer.sent(), headers(0, 2.5))
    assert pacer.delay() == 2.5
    ft.now += 2.5
    assert pacer.delay() == 0


def test_reset_above_1e9_is_an_epoch_time() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    pacer.observe(pacer.sent(), headers(0, T0 + 4))
    assert pacer.delay() == 4


def test_requests_in_flight_count_against_remaining() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    first = pacer.sent()
    pacer.sent()
    pacer.sent()  # two sent after `first`, not yet answered
    pacer.observe(first, headers(3, 1))
    assert pacer.delay() == 0  # 3 - 2 in flight = 1 left
    pacer.sent()
    assert pacer.delay() == 1  # the window is spent


def test_stale_answers_do_not_override_newer_ones() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    old, new = pacer.sent(), pacer.sent()
    pacer.observe(new, headers(0, 1))
    pacer.observe(old, headers(5, 1))  # arrived late; says less than `new` knows
    assert pacer.delay() == 1


def test_a_late_answer_with_a_lower_remaining_lowers_the_estimate() -> None:
    # The server counted `old` after `new` (concurrent requests overtake each
    # other): old's answer, though older, has the most recent count.
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    old, new = pacer.sent(), pacer.sent()
    pacer.sent()  # still unanswered
    pacer.observe(new, headers(3, 1))
    pacer.observe(old, headers(2, 1))
    assert pacer.delay() == 0  # 2 - 1 unanswered = 1 left
    pacer.sent()
    assert pacer.delay() == 1


def test_unanswered_requests_sent_before_the_answer_still_count() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    early, late = pacer.sent(), pacer.sent()
    pacer.observe(late, headers(1, 1))  # early may not be in that count yet
    assert pacer.delay() == 1
    pacer.settled(early)  # it failed without an answer: no longer in flight
    assert pacer.delay() == 0


def test_a_later_window_replaces_an_earlier_one_and_never_the_reverse() -> None:
    ft = FakeTime(T0)
    pacer = RateLimitPacer(ft.clock)
    a, b, c = pacer.sent(), pacer.sent(), pacer.sent()
    pacer.observe(a, headers(0, T0 + 1))
    assert pacer.delay() == 1
    pacer.observe(b, headers(9, T0 + 2))  # the next window's count
    assert pacer.delay() == 0
    pacer.observe(c, headers(0, T0 + 1))  # the earlier window's, arriving late
    assert pacer.delay() == 0


def test_no_headers_no_pacing() -> None:
    pacer = RateLimitPacer(FakeTime(T0).clock)
    pacer.observe(pacer.sent(), {})
    assert pacer.delay() == 0


def test_remaining_zero_without_reset_assumes_a_one_second_window() -> None:
    pacer = RateLimitPacer(FakeTime(T0).clock)
    pacer.observe(pacer.sent(), {"X-RateLimit-Remaining": "0"})
    assert pacer.delay() == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-2", 0.0),
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),  # T0 is 22:13:20 GMT
        ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, T0) == seconds


class WindowedLimit:
    """A fixed-window limiter on the fake clock: `limit` requests per `window` seconds."""

    def __init__(self, ft: FakeTime, limit: int, window: float, epoch_reset: bool) -> None:
        self.ft, self.limit, self.window, self.epoch = ft, limit, window, epoch_reset
        self.start = ft.now
        self.used = 0
        self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response | None:
        now = self.ft.now
        if now >= self.start + self.window:
            self.start = self.start + math.floor((now - self.start) / self.window) * self.window
            self.used = 0
        reset_at = self.start + self.window
        reset = str(reset_at) if self.epoch else str(reset_at - now)
        if self.used >= self.limit:
            self.refused += 1
            return httpx.Response(429, headers={"Retry-After": str(reset_at - now)})
        self.used += 1
        self.pending = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - self.used),
            "X-RateLimit-Reset": reset,
        }
        return None


@pytest.mark.parametrize("epoch_reset", [False, True])
@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_limited_run_slows_down_instead_of_collecting_429s(
    epoch_reset: bool, concurrency: int
) -> None:
    ft = FakeTime(T0)
    api = FakeApi.fleet(40, 3)
    limiter = WindowedLimit(ft, limit=10, window=1.0, epoch_reset=epoch_reset)
    api.faults.append(limiter)
    inner = api.route

    def route(request: httpx.Request) -> httpx.Response:
        response = inner(request)
        response.headers.update(limiter.pending)
        return response

    api.route = route  # type: ignore[method-assign]

    async def go() -> None:
        async with make_client(api, ft, concurrency=concurrency) as client:
            ids = [n.id for n in await client.list_numbers()]
            lists = await asyncio.gather(*(client.list_number_rules(i) for i in ids))
            assert all(len(rules) == 3 for rules in lists)
            assert client.stats.rate_limited == limiter.refused == 0
            assert client.stats.paced_waits > 0

    asyncio.run(go())
    assert len(api.log) == 41
    assert ft.now - T0 == pytest.approx(4.0)  # 41 requests at 10 a second: 4 windows waited
