"""The connection pool on the wire: framing, keep-alive, stale connections, limits, timeouts.

Each test runs a loopback server that reads one request at a time and answers
with scripted raw bytes, so every framing case is exactly what goes on the wire.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import Callable

import httpx
import pytest

from inkbox_sync.client.pool import AnswerTooLarge, ConnectionPool

#: (request number, raw request) -> raw answer; None: close without one; RESET: reset
#: the connection without one; (answer, later): `later` is sent 50 ms after the
#: answer, unasked, and then the connection is closed.
Answer = Callable[[int, bytes], bytes | tuple[bytes, bytes] | None]
RESET = b"<reset>"


def ok(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return b"HTTP/1.1 200 OK\r\n" + head.encode() + b"content-length: %d\r\n\r\n" % len(body) + body


async def serve(answer: Answer) -> tuple[asyncio.Server, list[bytes], list[int]]:
    """Requests seen (head and body) and, per request, which connection it came on."""
    seen: list[bytes] = []
    conns: list[int] = []
    opened = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        me = opened
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                raw = head + (await reader.readexactly(length) if length else b"")
                seen.append(raw)
                conns.append(me)
                out = answer(len(seen), raw)
                if out is None:
                    return  # close without answering
                if out is RESET:  # SO_LINGER 0: the close sends RST, not FIN
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                later = b""
                if isinstance(out, tuple):
                    out, later = out
                writer.write(out)
                await writer.drain()
                if later:
                    await asyncio.sleep(0.05)
                    writer.write(later)
                    await writer.drain()
                    return
                if b"connection: close" in out.lower():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen, conns


def exchange(
    answer: Answer,
    *requests: tuple[str, str, bytes | None],
    timeout: float | httpx.Timeout = 5.0,
    pool: ConnectionPool | None = None,
    pause: float = 0.0,
) -> tuple[list[httpx.Response | Exception], list[bytes], list[int]]:
    """Send `requests` one after another (`pause` seconds apart) to a server scripted by `answer`."""

    async def go() -> tuple[list[httpx.Response | Exception], list[bytes], list[int]]:
        server, seen, conns = await serve(answer)
        port = server.sockets[0].getsockname()[1]
        out: list[httpx.Response | Exception] = []
        async with (
            server,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                transport=pool or ConnectionPool(),
                timeout=timeout,
                trust_env=False,
            ) as client,
        ):
            for i, (method, path, body) in enumerate(requests):
                if i and pause:
                    await asyncio.sleep(pause)  # let what the server sent meanwhile arrive
                try:
                    out.append(await client.request(method, path, content=body))
                except httpx.HTTPError as exc:
                    out.append(exc)
        return out, seen, conns

    return asyncio.run(go())


def test_content_length_answers_share_one_keep_alive_connection() -> None:
    got, seen, conns = exchange(
        lambda n, raw: ok(b'{"n": %d}' % n, "content-type: application/json"),
        ("GET", "/a?x=1&y=%2B1", None),
        ("POST", "/b", b'{"k": "v"}'),
        ("GET", "/c", None),
    )
    assert [r.json() for r in got if isinstance(r, httpx.Response)] == [
        {"n": 1},
        {"n": 2},
        {"n": 3},
    ]
    assert conns == [1, 1, 1]
    assert seen[0].startswith(b"GET /a?x=1&y=%2B1 HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in seen[0].lower()
    assert seen[1].endswith(b'\r\n\r\n{"k": "v"}')
    assert b"content-length: 10\r\n" in seen[1].lower()


def test_chunked_answer_with_trailers() -> None:
    body = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    body += b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n"
    got, _, conns = exchange(lambda n, raw: body, ("GET", "/", None), ("GET", "/", None))
    assert [r.text for r in got if isinstance(r, httpx.Response)] == ["hello, world"] * 2
    assert conns == [1, 1]


def test_connection_close_and_read_to_end_are_not_reused() -> None:
    def answer(n: int, raw: bytes) -> bytes:
        if n == 1:
            return ok(b"one", "connection: close")
        return b"HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nuntil the end"

    got, _, conns = exchange(answer, ("GET", "/", None), ("GET", "/", None), ("GET", "/", None))
    assert [r.text for r in got if isinstance(r, httpx.Response)] == [
        "one",
        "until the end",
        "until the end",
    ]
    assert conns == [1, 2, 3]


def test_gzip_is_decoded_and_interim_answers_skipped() -> None:
    packed = gzip.compress(b'{"ok": true}')
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    got, _, _ = exchange(
        lambda n, raw: interim + ok(packed, "content-encoding: gzip"), ("GET", "/", None)
    )
    response = got[0]
    assert isinstance(response, httpx.Response)
    assert response.json() == {"ok": True}


def test_no_content_has_no_body_and_keeps_the_connection() -> None:
    got, _, conns = exchange(
        lambda n, raw: b"HTTP/1.1 204 No Content\r\n\r\n" if n == 1 else ok(b"x"),
        ("DELETE", "/r", None),
        ("GET", "/", None),
    )
    assert [r.status_code for r in got if isinstance(r, httpx.Response)] == [204, 200]
    assert conns == [1, 1]


def test_stale_connection_after_server_side_close_gets_a_fresh_one() -> None:
    def answer(n: int, raw: bytes) -> bytes:
        return ok(b"x", "connection: keep-alive")

    async def go() -> list[int]:
        writers: list[asyncio.StreamWriter] = []
        conns: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            me = len(writers)
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    conns.append(me)
                    writer.write(answer(len(conns), b""))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with (
            server,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", transport=ConnectionPool()
            ) as client,
        ):
            await client.get("/")
            writers[0].close()  # the server ends the idle keep-alive connection
            await asyncio.sleep(0.05)  # its FIN reaches the client's idle connection
            await client.get("/")
            return conns

    assert asyncio.run(go()) == [1, 2]


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # the connection closes without an answer (the stale keep-alive race)
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n",
        # What the hand-written parser accepted: a signed length, a 0x chunk size.
        b"HTTP/1.1 200 OK\r\ncontent-length: +34\r\n\r\n" + b"x" * 34,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x22\r\n"
        + b"x" * 34
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
        b"HTTP/1.1 2000 OK\r\n\r\n",
    ],
)
def test_broken_answers_are_remote_protocol_errors(answer: bytes) -> None:
    got, _, _ = exchange(lambda n, raw: answer or None, ("GET", "/", None))
    assert isinstance(got[0], httpx.RemoteProtocolError), got[0]


def test_read_timeout_and_refused_connection() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(1)
        writer.close()

    async def go() -> tuple[httpx.ReadTimeout, httpx.ConnectError]:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport = ConnectionPool()
        async with server, httpx.AsyncClient(transport=transport, timeout=0.05) as client:
            with pytest.raises(httpx.ReadTimeout) as timed_out:
                await client.get(f"http://127.0.0.1:{port}/")
        server.close()
        await server.wait_closed()
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError) as refused:
                await client.get(f"http://127.0.0.1:{port}/")
        return timed_out.value, refused.value

    timed_out, refused = asyncio.run(go())
    assert timed_out.request.url.path == "/"
    assert refused.request.url.path == "/"


def test_line_breaks_in_headers_are_refused_before_sending() -> None:
    async def go() -> None:
        async with httpx.AsyncClient(transport=ConnectionPool()) as client:
            request = client.build_request("GET", "http://127.0.0.1:9/")
            request.headers["x-evil"] = "a\r\nx-injected: 1"
            await client.send(request)

    with pytest.raises(httpx.LocalProtocolError):
        asyncio.run(go())


TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


def bodies(got: list[httpx.Response | Exception]) -> list[object]:
    return [r.text if isinstance(r, httpx.Response) else type(r).__name__ for r in got]


def test_unsolicited_408_on_an_idle_connection_is_never_read_as_an_answer() -> None:
    # The server times the idle connection out with a 408 (as nginx and others do)
    # while the client holds it in the pool; the next request must not read it.
    got, _, conns = exchange(
        lambda n, raw: (ok(b"first"), TIMEOUT_408) if n == 1 else ok(b"second"),
        ("GET", "/", None),
        ("GET", "/", None),
        pause=0.3,
    )
    assert bodies(got) == ["first", "second"]
    assert conns == [1, 2]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_408_answering_a_request_on_a_reused_connection_is_sent_again(method: str) -> None:
    # The race: the server's 408 crossed the request on the wire. The server never
    # took the request, so sending it again is safe for any method.
    got, seen, conns = exchange(
        lambda n, raw: ok(b"first") if n == 1 else TIMEOUT_408 if n == 2 else ok(b"again"),
        ("GET", "/", None),
        (method, "/", b"{}"),
    )
    assert bodies(got) == ["first", "again"]
    assert conns == [1, 1, 2]
    assert seen[1] == seen[2]


def test_bytes_after_an_answer_keep_the_connection_from_reuse() -> None:
    # A server that sends more than Content-Length said: the surplus looks like an
    # answer, and the next request must not get it.
    stale = ok(b"stale")
    got, _, conns = exchange(
        lambda n, raw: ok(b"first") + stale if n == 1 else ok(b"second"),
        ("GET", "/", None),
        ("GET", "/", None),
    )
    assert bodies(got) == ["first", "second"]
    assert conns == [1, 2]


@pytest.mark.parametrize("end", [None, RESET], ids=["closed", "reset"])
def test_reused_connection_closed_without_an_answer(end: bytes | None) -> None:
    # The server closed (or reset) the kept-alive connection just as the request
    # went out: an idempotent request is sent again on a new connection; a POST is
    # left to the retry loop, which knows a create may have landed.
    answers = {1: ok(b"a"), 2: end, 3: ok(b"b"), 4: ok(b"c"), 5: end}
    got, _, conns = exchange(
        lambda n, raw: answers.get(n, ok(b"d")),
        ("GET", "/", None),
        ("GET", "/", None),
        ("GET", "/", None),
        ("POST", "/", b"{}"),
        ("GET", "/", None),
    )
    assert bodies(got) == ["a", "b", "c", "RemoteProtocolError", "d"]
    assert conns == [1, 1, 2, 2, 2, 3]


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 70_000 + b"\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n" + b"x" * 2000,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"200\r\n"
        + b"x" * 512
        + b"\r\n" * 1
        + b"200\r\n"
        + b"x" * 512
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2000,  # delimited by the end of the connection
    ],
    ids=["head", "content-length", "chunked", "until-close"],
)
def test_oversized_answers_are_refused(answer: bytes) -> None:
    got, _, _ = exchange(
        lambda n, raw: answer, ("GET", "/", None), pool=ConnectionPool(max_body=1000)
    )
    assert isinstance(got[0], AnswerTooLarge), got[0]


def test_a_trickling_answer_is_read_while_each_read_is_within_the_read_timeout() -> None:
    # httpx's `read` timeout is per read, not per answer: 20 bytes, one every 30 ms,
    # take 0.6 s and never wait 0.3 s for the next one.
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0.03)
            writer.write(b"x")
        await writer.drain()
        writer.close()

    async def go() -> str:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with (
            server,
            httpx.AsyncClient(
                transport=ConnectionPool(), timeout=httpx.Timeout(5.0, read=0.3), trust_env=False
            ) as client,
        ):
            return (await client.get(f"http://127.0.0.1:{port}/")).text

    assert asyncio.run(go()) == "x" * 20
