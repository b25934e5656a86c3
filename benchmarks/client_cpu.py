"""Client CPU per request for the HTTP stacks inkbox-sync could use, on loopback.

    python benchmarks/client_cpu.py [--requests 3000] [--concurrency 8]

A fixed-answer HTTP/1.1 server runs in its own process (its CPU is not
counted); each stack runs in a fresh process and sends `--requests` requests
of each kind with `--concurrency` in flight, after a warm-up. Kinds: GET of a
small JSON object, GET of a 200-rule page (~40 KB), POST of a small JSON body.
Figures are the client process's user + system CPU per request (getrusage).

Stacks: `pool` (httpx over inkbox-sync's ConnectionPool: h11 on asyncio, the
one the client uses), `httpcore` (httpx's default transport), `aiohttp`
(aiohttp's ClientSession alone, without httpx above it; if installed), and
`client-pool` / `client-httpcore`: the whole InkboxClient request path (retry
loop, pacing, JSON decoding) over each transport.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import subprocess
import sys
from typing import Any

SMALL = json.dumps(
    {"id": "n" * 36, "number": "+18335550000", "filter_mode": "blacklist",
     "incoming_call_action": "auto_reject", "client_websocket_url": None,
     "incoming_call_webhook_url": None, "agent_identity_id": "i" * 36}
).encode()  # fmt: skip
RULE = {"id": "r" * 36, "phone_number_id": "n" * 36, "action": "allow",
        "match_type": "exact_number", "match_target": "+14155550100", "status": "active"}  # fmt: skip
PAGE = json.dumps({"items": [RULE] * 200, "limit": 200, "offset": 0, "has_more": True}).encode()
KINDS = ("small", "page", "post")


def _answer(body: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"x-ratelimit-limit: 100000\r\nx-ratelimit-remaining: 99999\r\nx-ratelimit-reset: 1\r\n"
        b"content-length: %d\r\n\r\n" % len(body) + body
    )


def serve() -> None:
    """The fixed-answer server (a benchmark fixture: it reads only what it must)."""
    answers = {
        "small": _answer(SMALL),
        "page": _answer(PAGE),
        "post": _answer(SMALL, b"201 Created"),
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                kind = (
                    "post" if head.startswith(b"POST") else "page" if b"page" in head else "small"
                )
                writer.write(answers[kind])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drive(send: Any, kind: str, n: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await send(kind)

    await asyncio.gather(*(one() for _ in range(min(n, 200))))  # warm-up: connections, caches
    started = cpu()
    await asyncio.gather(*(one() for _ in range(n)))
    return (cpu() - started) / n


async def measure(stack: str, base: str, n: int, concurrency: int) -> dict[str, float]:
    path = {"small": "/api/v1/phone/numbers/n", "page": "/api/v1/page", "post": "/api/v1/rules"}
    body = {"action": "block", "match_type": "exact_number", "match_target": "+14155550100"}
    out: dict[str, float] = {}
    if stack == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(base, connector=connector) as session:

            async def send_aiohttp(kind: str) -> None:
                method = "POST" if kind == "post" else "GET"
                payload = body if kind == "post" else None
                async with session.request(method, path[kind], json=payload) as response:
                    json.loads(await response.read())

            for kind in KINDS:
                out[kind] = await _drive(send_aiohttp, kind, n, concurrency)
        return out
    import httpx

    from inkbox_sync.client import InkboxClient
    from inkbox_sync.client.pool import ConnectionPool

    transport: httpx.AsyncBaseTransport
    if stack.endswith("httpcore"):
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=concurrency)
        )
    else:
        transport = ConnectionPool(max_idle=concurrency)
    if stack.startswith("client-"):
        async with InkboxClient(
            base, "bench-key", transport=transport, concurrency=concurrency
        ) as c:
            t = c._t

            async def send_client(kind: str) -> None:
                method = "POST" if kind == "post" else "GET"
                await t.request(method, path[kind], json=body if kind == "post" else None)

            for kind in KINDS:
                out[kind] = await _drive(send_client, kind, n, concurrency)
        return out
    async with httpx.AsyncClient(base_url=base, transport=transport, trust_env=False) as client:

        async def send_httpx(kind: str) -> None:
            method = "POST" if kind == "post" else "GET"
            response = await client.request(
                method, path[kind], json=body if kind == "post" else None
            )
            response.json()

        for kind in KINDS:
            out[kind] = await _drive(send_httpx, kind, n, concurrency)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per kind of request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--stacks", default="pool,httpcore,aiohttp,client-pool,client-httpcore")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stack", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.stack:
        print(
            json.dumps(asyncio.run(measure(args.stack, args.base, args.requests, args.concurrency)))
        )
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        print(f"client CPU per request (ms), {args.requests} of each, {args.concurrency} in flight")
        print(f"{'stack':18} " + " ".join(f"{k:>8}" for k in KINDS))
        for stack in args.stacks.split(","):
            if stack == "aiohttp":
                try:
                    import aiohttp  # noqa: F401
                except ImportError:
                    print(f"{stack:18} (not installed)")
                    continue
            run = subprocess.run(
                [sys.executable, __file__, "--stack", stack, "--base", base,
                 "--requests", str(args.requests), "--concurrency", str(args.concurrency)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(run.stdout)
            print(f"{stack:18} " + " ".join(f"{figures[k] * 1000:8.3f}" for k in KINDS))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
