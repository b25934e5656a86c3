"""Real sockets over loopback: dropped connections and read timeouts are retried.

A minimal HTTP/1.1 server on asyncio streams, scripted per request; the
Inkbox sandbox gets its own integration tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx

from inkbox_sync.client import Adapter2026_06, RetryPolicy
from tests.client.fakes import KEY, number

Script = Callable[[int, asyncio.StreamWriter], Awaitable[bool]]  # True: answered normally

NUMBERS = json.dumps([number(0), number(1)]).encode()


async def serve(script: Script) -> tuple[asyncio.Server, list[str]]:
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode()
                seen.append(line if f"X-API-Key: {KEY}".encode() in head else f"{line} (no key!)")
                if not await script(len(seen), writer):
                    return
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(NUMBERS)}\r\n\r\n".encode()
                    + NUMBERS
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def run(script: Script, **kw: object) -> tuple[int, list[str]]:
    async def go() -> tuple[int, list[str]]:
        server, seen = await serve(script)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = Adapter2026_06(
                f"http://127.0.0.1:{port}",
                KEY,
                retry=RetryPolicy(base_delay=0.001, max_delay=0.01),
                **kw,  # type: ignore[arg-type]
            )
            async with client:
                return len((await client.listings()).numbers), seen

    return asyncio.run(go())


def numbers_reads(seen: list[str]) -> list[str]:
    """The numbers listing's attempts (the identities listing goes beside it)."""
    return [line for line in seen if "/phone/numbers" in line]


def test_connection_dropped_before_the_answer_is_retried() -> None:
    async def script(n: int, writer: asyncio.StreamWriter) -> bool:
        if n == 1:
            writer.transport.abort()  # read the request, then vanish
            return False
        return True

    count, seen = run(script)
    assert count == 2
    # The two listings go at once, so the dropped one is whichever came first: it
    # (and only it) is asked again.
    assert len(seen) == 3 and seen.count(seen[0]) == 2


def test_half_written_answer_is_retried() -> None:
    async def script(n: int, writer: asyncio.StreamWriter) -> bool:
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n[{")
            await writer.drain()
            writer.transport.abort()
            return False
        return True

    assert run(script)[0] == 2


def test_read_timeout_is_retried() -> None:
    async def script(n: int, writer: asyncio.StreamWriter) -> bool:
        if n == 1:
            await asyncio.sleep(0.5)  # longer than the client waits
            return False
        return True

    count, seen = run(script, timeout=httpx.Timeout(0.1))
    assert count == 2
    assert numbers_reads(seen) == ["GET /api/v1/phone/numbers HTTP/1.1"] * 2
