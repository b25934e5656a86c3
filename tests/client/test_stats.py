"""ClientStats: what `-v` and the benchmark say the requests took, against a real sandbox."""

from __future__ import annotations

import asyncio
import time

from inkbox_sync.client import Adapter2026_10, ClientStats
from inkbox_sync.sandbox import DEFAULT_API_KEY, SandboxOptions, SandboxServer

LATENCY_S = 0.03
IDLE_S = 0.3


def test_no_request_is_no_time_on_the_api() -> None:
    assert ClientStats().api_seconds == 0.0


def test_the_api_span_runs_from_the_first_request_sent_to_the_last_answer() -> None:
    """Time before the first request (imports, loading the manifests) and after the
    last answer (planning) is not the API's: it counts in the whole process only."""
    options = SandboxOptions(api_version="2026-10", latency_ms=LATENCY_S * 1000)
    with SandboxServer(options) as box:

        async def go() -> tuple[ClientStats, float]:
            began = time.perf_counter()
            async with Adapter2026_10(box.base_url, DEFAULT_API_KEY) as client:
                await asyncio.sleep(IDLE_S)  # before the first request
                await client.listings()  # two requests at once
                await client.listings()  # then two more
                await asyncio.sleep(IDLE_S)  # after the last answer
            return client.stats, time.perf_counter() - began

        stats, wall = asyncio.run(go())
    assert stats.total_requests == 4
    # Two round trips in a row, each at least the sandbox's latency...
    assert stats.api_seconds >= 2 * LATENCY_S
    # ...and none of the idle time on either side of them.
    assert stats.api_seconds <= wall - 2 * IDLE_S
