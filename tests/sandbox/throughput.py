"""How fast is the sandbox? Requests per second with N concurrent keep-alive clients.

    python -m tests.sandbox.throughput [--clients 8] [--requests 4000] [--fleet 1000x100] [--httpx]
        [--api-version 2026-06|2026-10]

Starts `inkbox-sync sandbox serve` as a subprocess, loads a fleet (numbers x
rules) through PUT /_sandbox/state, and at 0 ms and 20 ms latency sends three
kinds of request: a one-number GET, a 200-rule page of the org-wide listing,
and a rule create. The client is deliberately trivial (raw keep-alive sockets
on threads) so the figures are the server's; `--httpx` uses an asyncio httpx
client instead, which shows the client's own cost. At 20 ms the floor is
clients / 0.020 s requests per second: the sandbox must come close to it, or it
would be the bottleneck of its own benchmark (design section 5). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import httpx

from inkbox_sync.sandbox.document import Document
from tests.support.sandbox import SandboxProcess, put_state, set_faults, start_sandbox

MakeRequest = Callable[[int], tuple[str, str, bytes]]  # i -> (method, path, body)


def fleet(numbers: int, rules: int) -> Document:
    ns = uuid.UUID("00000000-0000-0000-0000-00000000f1ee")
    stamp = "2025-01-01T00:00:00+00:00"
    doc: Document = {"identities": [], "numbers": [], "rules": []}
    for n in range(numbers):
        number_id = str(uuid.uuid5(ns, f"n{n}"))
        identity_id = str(uuid.uuid5(ns, f"i{n}"))
        # Each number has an identity, so a 2026-10 sandbox can migrate its rules there.
        doc["identities"].append({"id": identity_id, "agent_handle": f"bot-{n}"})
        doc["numbers"].append(
            {
                "id": number_id,
                "number": f"+1833{n:07d}",
                "agent_identity_id": identity_id,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        doc["rules"] += [
            {
                "id": str(uuid.uuid5(ns, f"r{n}.{r}")),
                "phone_number_id": number_id,
                "action": "allow" if r % 2 else "block",
                "match_type": "exact_number",
                "match_target": f"+1555{r:07d}",
                "status": "active",
                "created_at": stamp,
                "updated_at": stamp,
            }
            for r in range(rules)
        ]
    return doc


def drive_sockets(
    box: SandboxProcess, clients: int, total: int, make: MakeRequest
) -> tuple[float, int]:
    """`total` requests from `clients` threads, one keep-alive socket each: (seconds, errors)."""
    host, port = box.base_url.removeprefix("http://").rsplit(":", 1)
    counter = itertools.count()
    errors = [0]

    def worker() -> None:
        with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as answers:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while (i := next(counter)) < total:
                method, path, body = make(i)
                head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {box.api_key}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                sock.sendall(head.encode() + body)
                status, length = answers.readline(), 0
                while (line := answers.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                answers.read(length)
                errors[0] += not status.startswith(b"HTTP/1.1 2")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors[0]


def drive_httpx(
    box: SandboxProcess, clients: int, total: int, make: MakeRequest
) -> tuple[float, int]:
    async def run() -> tuple[float, int]:
        counter = itertools.count()
        errors = 0
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        headers = {"X-API-Key": box.api_key, "Content-Type": "application/json"}
        async with httpx.AsyncClient(
            base_url=box.base_url, headers=headers, limits=limits, trust_env=False
        ) as client:

            async def worker() -> None:
                nonlocal errors
                while (i := next(counter)) < total:
                    method, path, body = make(i)
                    response = await client.request(method, path, content=body or None)
                    errors += response.status_code >= 400

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return time.perf_counter() - started, errors

    return asyncio.run(run())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000, help="per row at 0 ms latency")
    parser.add_argument("--fleet", default="1000x100", help="numbers x rules per number")
    parser.add_argument("--httpx", action="store_true", help="drive with an asyncio httpx client")
    parser.add_argument("--api-version", default="2026-06", choices=["2026-06", "2026-10"])
    args = parser.parse_args()
    numbers, rules = (int(x) for x in args.fleet.split("x"))
    doc = fleet(numbers, rules)
    ids = [n["id"] for n in doc["numbers"]]
    created = itertools.count()
    kinds: dict[str, MakeRequest] = {
        "GET number": lambda i: ("GET", f"/api/v1/phone/numbers/{ids[i % len(ids)]}", b""),
        "GET 200-rule page": lambda i: (
            "GET",
            f"/api/v1/phone/contact-rules?limit=200&offset={i * 200 % max(len(doc['rules']), 1)}",
            b"",
        ),
        "POST rule": lambda i: (
            "POST",
            f"/api/v1/phone/numbers/{ids[i % len(ids)]}/contact-rules"
            if args.api_version == "2026-06"
            else f"/api/v1/identities/bot-{i % len(ids)}/phone-contact-rules",
            b'{"action": "allow", "match_type": "exact_number", "match_target": "+1777%07d"}'
            % next(created),
        ),
    }
    drive = drive_httpx if args.httpx else drive_sockets
    box = start_sandbox(api_version=args.api_version)
    try:
        started = time.perf_counter()
        put_state(box.base_url, doc)
        print(f"fleet {numbers} x {rules} loaded in {time.perf_counter() - started:.1f} s")
        print(
            f"API version {args.api_version}; {args.clients} concurrent clients "
            f"({'httpx' if args.httpx else 'raw sockets'})"
        )
        print(
            f"{'latency':>7} {'request':<18} {'req/s':>7} {'floor':>6} {'server CPU/req':>15} errors"
        )
        for latency in (0, 20):
            set_faults(box.base_url, latency_ms=latency)
            count = args.requests if latency == 0 else args.clients * 50
            for name, make in kinds.items():
                cpu = cpu_seconds(box.process.pid)
                seconds, errors = drive(box, args.clients, count, make)
                cpu_us = (cpu_seconds(box.process.pid) - cpu) / count * 1e6
                floor = f"{args.clients * 1000 / latency:.0f}" if latency else "-"
                print(
                    f"{latency:>5}ms {name:<18} {count / seconds:>7.0f} {floor:>6} {cpu_us:>12.0f} us {errors:>6}"
                )
    finally:
        box.stop()


if __name__ == "__main__":
    main()
