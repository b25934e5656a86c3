"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio streams.

Why: httpx's default transport (httpcore on anyio) costs about 1 ms of CPU per
request, ten times what the exchange itself needs, and sends a request's head
and body in two writes. At 10,000 writes an apply spends more CPU in it than
the API's latency budget allows. This transport speaks only what inkbox-sync
needs: HTTP/1.1 with keep-alive, Content-Length or chunked bodies, TLS by the
same `httpx.create_ssl_context()` the default transport uses (built on first
https request), one write per request. httpx still does everything above the
transport (URLs, headers, decoding of gzip and friends, timeouts' values).

Failures map to the httpx exceptions the default transport raises, so the
retry loop in `transport.py` treats them the same: ConnectError/ConnectTimeout
before anything was sent, WriteError, ReadError/ReadTimeout, and
RemoteProtocolError for an answer that is not HTTP/1.x (or none at all).

The client uses it only when no proxy is configured in the environment; with
one, httpx's own transport (which honours HTTP(S)_PROXY) is used instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

import httpx

#: Drop a connection that sat idle this long: servers close idle keep-alive
#: connections after a few seconds, and a request sent on one that is being
#: closed fails for nothing. httpx's default transport uses the same 5 s.
KEEPALIVE_EXPIRY: Final = 5.0
_MAX_LINE: Final = 64 * 1024  # longest status or header line accepted
_MAX_HEADERS: Final = 200

T = TypeVar("T")


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and now - self.idle_since < KEEPALIVE_EXPIRY
        )

    def close(self) -> None:
        self.writer.close()


class Http11Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections, at most `max_idle` kept per origin.

    The number in use is bounded by the caller (the client's semaphore).
    """

    def __init__(self, *, max_idle: int = 8) -> None:
        self._max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = (url.scheme, url.host, port)
        timeout = request.extensions.get("timeout", {})
        payload = _head(request, await _body(request))
        conn = self._checkout(origin)
        if conn is None:
            conn = await self._connect(request, origin, timeout.get("connect"))
        try:
            try:
                conn.writer.write(payload)
                if conn.writer.transport.get_write_buffer_size():  # else drain() has no wait
                    await _within(conn.writer.drain(), timeout.get("write"))
            except (OSError, TimeoutError) as exc:
                raise _mapped(exc, httpx.WriteError, httpx.WriteTimeout, request) from exc
            try:
                version, status, reason, headers, content, keep = await _within(
                    _read_response(conn.reader, request.method), timeout.get("read")
                )
            except (OSError, TimeoutError) as exc:
                raise _mapped(exc, httpx.ReadError, httpx.ReadTimeout, request) from exc
            except (_NoResponse, asyncio.IncompleteReadError, ValueError) as exc:
                raise httpx.RemoteProtocolError(_protocol_message(exc), request=request) from exc
        except BaseException:
            conn.close()  # mid-exchange: the connection's state is unknown
            raise
        if keep and _keep_alive(request.headers.raw):
            self._checkin(origin, conn)
        else:
            conn.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions={"http_version": version, "reason_phrase": reason},
            request=request,
        )

    async def aclose(self) -> None:
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        # Let the closes (a TLS close_notify among them) finish before the loop ends.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(c.writer.wait_closed() for c in conns), return_exceptions=True),
                1.0,
            )

    def _checkout(self, origin: tuple[str, str, int]) -> _Connection | None:
        conns = self._idle.get(origin)
        now = time.monotonic()
        while conns:
            conn = conns.pop()
            if conn.usable(now):
                return conn
            conn.close()
        return None

    def _checkin(self, origin: tuple[str, str, int], conn: _Connection) -> None:
        conns = self._idle.setdefault(origin, [])
        if len(conns) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conns.append(conn)

    async def _connect(
        self, request: httpx.Request, origin: tuple[str, str, int], timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            context = self._ssl
        try:
            reader, writer = await _within(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                    limit=_MAX_LINE,
                ),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise _mapped(exc, httpx.ConnectError, httpx.ConnectTimeout, request) from exc
        return _Connection(reader, writer)


async def _within(aw: Awaitable[T], seconds: float | None) -> T:
    """`await aw`, raising TimeoutError after `seconds` (None: no limit)."""
    if seconds is None:
        return await aw
    async with asyncio.timeout(seconds):
        return await aw


async def _body(request: httpx.Request) -> bytes:
    """The request body as bytes (the client's JSON bodies are already bytes)."""
    return await request.aread()


def _chunked(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in headers
    )


def _head(request: httpx.Request, body: bytes) -> bytes:
    """Request line and headers, and the body framed as the headers say."""
    lines = [request.method.encode("ascii") + b" " + request.url.raw_path + b" HTTP/1.1"]
    for name, value in request.headers.raw:
        if b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value:
            raise httpx.LocalProtocolError("illegal line break in a header", request=request)
        lines.append(name + b": " + value)
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    if _chunked(request.headers.raw):
        if not body:
            return head + b"0\r\n\r\n"
        return head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    return head + body


def _keep_alive(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """False when the request itself asked for `Connection: close`."""
    return not any(
        name.lower() == b"connection" and b"close" in value.lower() for name, value in headers
    )


Headers = list[tuple[bytes, bytes]]


async def _read_response(
    reader: asyncio.StreamReader, method: str
) -> tuple[bytes, int, bytes, Headers, bytes, bool]:
    """(version, status, reason, headers, body, whether the connection may be reused)."""
    while True:
        line = await reader.readline()
        if not line:
            raise _NoResponse
        version, _, rest = line.rstrip(b"\r\n").partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ValueError(f"not an HTTP/1.x status line: {line[:80]!r}")
        status = int(code)
        headers = await _read_headers(reader)
        if not 100 <= status < 200:
            break  # 1xx answers are interim: the real one follows
    connection = b",".join(v.lower() for n, v in headers if n.lower() == b"connection")
    keep = b"close" not in connection and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    if method == "HEAD" or status in (204, 304):
        return version, status, reason, headers, b"", keep
    encoding = b",".join(v.lower() for n, v in headers if n.lower() == b"transfer-encoding")
    lengths = {v.strip() for n, v in headers if n.lower() == b"content-length"}
    if b"chunked" in encoding:
        body = await _read_chunked(reader)
    elif lengths:
        if len(lengths) > 1:
            raise ValueError("conflicting Content-Length headers")
        length = int(lengths.pop())
        if length < 0:
            raise ValueError("negative Content-Length")
        body = await reader.readexactly(length)
    else:
        body = await reader.read()  # delimited by the end of the connection
        keep = False
    return version, status, reason, headers, body, keep


async def _read_headers(reader: asyncio.StreamReader) -> Headers:
    headers: Headers = []
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            return headers
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        if len(headers) >= _MAX_HEADERS:
            raise ValueError("too many headers")
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"malformed header line: {line[:80]!r}")
        headers.append((name, value.strip()))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readline()
        if not size_line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(size_line, None)
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await _read_headers(reader)  # trailers, if any
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readline() not in (b"\r\n", b"\n"):
            raise ValueError("chunk not followed by CRLF")


class _NoResponse(Exception):
    """The connection ended before a status line: the classic stale keep-alive race."""


def _protocol_message(exc: Exception) -> str:
    if isinstance(exc, _NoResponse):
        return "Server disconnected without sending a response."
    if isinstance(exc, asyncio.IncompleteReadError):
        return "Server disconnected mid-response."
    return f"malformed HTTP response: {exc}"


def _mapped(
    exc: OSError,
    error: type[httpx.TransportError],
    timeout: type[httpx.TransportError],
    request: httpx.Request,
) -> httpx.TransportError:
    """An OSError (TimeoutError is one) as the httpx exception the default transport raises."""
    cls = timeout if isinstance(exc, TimeoutError) else error
    return cls(str(exc) or type(exc).__name__, request=request)
