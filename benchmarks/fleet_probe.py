"""Is the sandbox the bottleneck of its own benchmark? (design section 5)

    python benchmarks/fleet_probe.py '[BASE_URL, API_KEY, NUMBER_ID, RULES_PATH, CONCURRENCY, PER_KIND]'

Prints, as JSON, the requests a second that trivial clients reach against a
running sandbox with CONCURRENCY requests in flight: GET one number, GET a
200-rule page of the org-wide listing, POST a rule (to RULES_PATH), PER_KIND of
each. `benchmarks/fleet.py` runs it in a fresh process of its own, so that the
benchmark's heap (the fleet's documents) does not make the probe's garbage
collections part of the figure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import httpx


def probe_sandbox(
    base_url: str, api_key: str, number_id: str, rules: str, concurrency: int, per_kind: int
) -> dict[str, Any]:
    """Requests a second that trivial clients reach with `concurrency` requests in flight:
    httpx (as inkbox-sync uses it), and raw asyncio sockets (no client overhead to
    speak of), so a shortfall can be told apart: the sandbox's, or the client's.
    `rules` is where a rule is created (the number's, or in 2026-10 its identity's)."""
    targets = itertools.count()  # a new target for every POST, across both clients
    create = '{"action": "allow", "match_type": "exact_number", "match_target": "+1999%07d"}'
    kinds: dict[str, tuple[str, Any, Any]] = {
        "GET number": ("GET", lambda i: f"/api/v1/phone/numbers/{number_id}", None),
        "GET 200-rule page": (
            "GET",
            lambda i: f"/api/v1/phone/contact-rules?limit=200&offset={(i * 200) % 90000}",
            None,
        ),
        "POST rule": ("POST", lambda i: rules, lambda i: create % next(targets)),
    }
    out: dict[str, Any] = {}
    for client in ("httpx", "raw"):
        for kind, (method, path, body) in kinds.items():
            drive = _drive_httpx if client == "httpx" else _drive_raw
            rate = asyncio.run(drive(base_url, api_key, concurrency, per_kind, method, path, body))
            out.setdefault(client, {})[kind] = rate
    return out


async def _workers(concurrency: int, total: int, one: Any) -> float:
    sent = 0

    async def worker(slot: int) -> None:
        nonlocal sent
        while sent < total:
            i = sent
            sent += 1
            await one(slot, i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return total / (time.perf_counter() - started)


async def _drive_httpx(
    base: str, api_key: str, concurrency: int, total: int, method: str, path: Any, body: Any
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, headers=headers, trust_env=False, timeout=60
    ) as client:
        await asyncio.gather(*(client.get("/") for _ in range(concurrency)))  # connect

        async def one(slot: int, i: int) -> None:
            content = body(i).encode() if body else None
            response = await client.request(method, path(i), content=content)
            response.raise_for_status()

        return await _workers(concurrency, total, one)


async def _drive_raw(
    base: str, api_key: str, concurrency: int, total: int, method: str, path: Any, body: Any
) -> float:
    """HTTP/1.1 keep-alive over asyncio streams, Content-Length framing only."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]

    async def one(slot: int, i: int) -> None:
        reader, writer = conns[slot]
        payload = body(i).encode() if body else b""
        head = (
            f"{method} {path(i)} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        if status >= 400:
            raise RuntimeError(f"probe: {method} answered {status}")

    try:
        return await _workers(concurrency, total, one)
    finally:
        for _, writer in conns:
            writer.close()


if __name__ == "__main__":
    base_url, api_key, number_id, rules, concurrency, total = json.loads(sys.argv[1])
    print(json.dumps(probe_sandbox(base_url, api_key, number_id, rules, concurrency, total)))
