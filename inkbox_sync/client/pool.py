"""Keep-alive HTTP/1.1 connections for httpx: h11 parses, asyncio carries, aiohappyeyeballs connects.

Why not httpx's default transport (httpcore on anyio): it costs three to four
times this pool's CPU per request (~1 ms against ~0.3 ms, measured by
`benchmarks/client_cpu.py`), which a 10,000-write apply feels. This pool keeps httpx above it (URLs, headers,
content decoding, the test seam) and below it only well-kept pieces: h11 for
every byte of HTTP framing in both directions, aiohappyeyeballs for RFC 8305
connection racing, asyncio for sockets and TLS. What it adds is plumbing and
policy:

- **Never a stale answer.** Bytes that arrive on an idle connection (an
  unsolicited `408`, junk) close it at once; a connection with bytes left over
  after an answer is not reused; a reused connection that ends, is reset, or
  answers `408` before a byte of a real answer is dropped and the request is
  sent once more on a fresh connection: any method after a `408` (the server
  says it never took the request), only idempotent ones after a silent close.
- **Limits.** Status line and headers: `MAX_HEAD` bytes (h11 enforces it);
  body: `max_body` bytes, checked against Content-Length before reading.
- **Timeouts as httpx names them.** `connect`: resolving, connecting (all
  addresses, Happy Eyeballs) and the TLS handshake, together; `read`: the
  longest wait for the next bytes of the answer; `write`: the longest wait for
  the socket to take the request. The whole-attempt deadline is the client's
  (`transport.py`).
- **Proxies** (`proxy.py`): an `http://` proxy tunnels with CONNECT, then TLS
  runs inside the tunnel.

Failures are httpx's exceptions with a message that names the host and the
cause; the OS or TLS exception is their `__cause__`, which is how the retry
loop tells permanent from temporary.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable
from typing import Final

import aiohappyeyeballs
import h11
import httpx

from inkbox_sync.client.proxy import Proxy, proxy_from_environment
from inkbox_sync.client.tls import ssl_context

#: Drop a connection idle this long: servers close idle keep-alive connections
#: after a few seconds (httpcore uses the same 5 s).
KEEPALIVE_EXPIRY: Final = 5.0
#: RFC 8305's recommended Connection Attempt Delay: the next address is tried
#: when the previous one has not connected within it.
HAPPY_EYEBALLS_DELAY: Final = 0.25
MAX_HEAD: Final = 64 * 1024  # status line and headers of one answer
MAX_BODY: Final = 64 * 1024 * 1024  # a 200-rule page is ~40 KB; 10,000 numbers ~3 MB
_HIGH_WATER: Final = 256 * 1024  # stop reading the socket while this much is unparsed
#: RFC 9110 section 9.2.2: safe to send twice.
IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

Origin = tuple[str, str, int]  # scheme, host, port


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer's head or body is over the pool's limits (permanent: it would be again)."""


class TunnelRefused(httpx.ProxyError):
    """The proxy answered CONNECT with an error status (`status`)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Unanswered(Exception):
    """A reused connection ended, was reset or answered 408 before any real answer."""


class ConnectionPool(httpx.AsyncBaseTransport):
    """Keep-alive connections, at most `max_idle` idle per origin.

    How many are in use at once is the caller's to bound (the client's
    semaphore). `proxy_for` picks the proxy per origin (default: the
    environment's, see `proxy.py`); `tls` builds the TLS context on first use.
    """

    def __init__(
        self,
        *,
        max_idle: int = 8,
        max_body: int = MAX_BODY,
        tls: Callable[[], ssl.SSLContext] = ssl_context,
        proxy_for: Callable[[str, str, int], Proxy | None] = proxy_from_environment,
    ) -> None:
        self._max_idle = max_idle
        self._max_body = max_body
        self._tls_factory = tls
        self._tls: ssl.SSLContext | None = None
        self._proxy_for = proxy_for
        self._proxies: dict[Origin, Proxy | None] = {}
        self._idle: dict[Origin, list[_Connection]] = {}

    def __repr__(self) -> str:
        return f"ConnectionPool(max_idle={self._max_idle})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()  # the client's bodies are JSON bytes, never streams
        try:  # h11 checks every header here, before anything is sent
            head = h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
        except h11.LocalProtocolError:
            # Not h11's text: it quotes the offending header, which may be the key.
            raise httpx.LocalProtocolError(
                "request not sent: a header name or value is not valid in HTTP/1.1"
            ) from None
        for fresh_only in (False, True):
            conn = None if fresh_only else self._checkout(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._open(origin, timeouts)
            try:
                status, reason, version, headers, content = await conn.exchange(
                    head, body, timeouts, self._max_body, reused=reused
                )
            except _Unanswered as exc:
                conn.close()
                if not fresh_only and (exc.args[0] == 408 or request.method in IDEMPOTENT):
                    continue  # the server never took it: send it again, on a new connection
                raise httpx.RemoteProtocolError(
                    f"{_where(origin)}: the server closed a kept-alive connection without answering"
                ) from None
            except BaseException:
                conn.close()  # mid-exchange: the connection's state is unknown
                raise
            if conn.reusable():
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
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        if conns:  # let the closes (a TLS close_notify among them) finish before the loop ends
            await asyncio.wait([conn.closed for conn in conns], timeout=1.0)

    def _checkout(self, origin: Origin) -> _Connection | None:
        conns = self._idle.get(origin)
        while conns:
            conn = conns.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _checkin(self, origin: Origin, conn: _Connection) -> None:
        conns = self._idle.setdefault(origin, [])
        if len(conns) >= self._max_idle:
            conn.close()
            return
        conn.park()
        conns.append(conn)

    def _proxy(self, origin: Origin) -> Proxy | None:
        if origin not in self._proxies:
            self._proxies[origin] = self._proxy_for(*origin)
        return self._proxies[origin]

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = self._tls_factory()
        return self._tls

    async def _open(self, origin: Origin, timeouts: dict[str, float | None]) -> _Connection:
        """A new connection to `origin` (through its proxy, if any), TLS done."""
        scheme, host, port = origin
        proxy = self._proxy(origin)
        tls = self._context() if scheme == "https" else None
        hop = (proxy.host, proxy.port) if proxy else (host, port)
        loop = asyncio.get_running_loop()
        seconds = timeouts.get("connect")
        try:
            async with asyncio.timeout(seconds):
                try:
                    infos = await loop.getaddrinfo(*hop, type=socket.SOCK_STREAM)
                except socket.gaierror as exc:
                    raise httpx.ConnectError(
                        f"{hop[0]}: name not resolved ({exc.strerror})"
                    ) from exc
                sock = await aiohappyeyeballs.start_connection(
                    infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY, interleave=1
                )
                try:
                    _, conn = await loop.create_connection(
                        lambda: _Connection(loop),
                        sock=sock,
                        ssl=None if proxy else tls,
                        server_hostname=host if tls and not proxy else None,
                    )
                except BaseException:
                    sock.close()
                    raise
                if proxy:
                    await conn.tunnel(proxy, host, port, tls, timeouts.get("read"))
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"{_where(origin)}: connect timed out after {seconds:g} s"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise httpx.ConnectError(
                f"{host}: certificate verify failed: {exc.verify_message}"
            ) from exc
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"{host}: TLS handshake failed: {exc.reason or exc}") from exc
        except OSError as exc:
            where = f"{hop[0]}:{hop[1]}" + (" (proxy)" if proxy else "")
            raise httpx.ConnectError(f"{where}: {_os_cause(exc)}") from exc
        return conn


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and its h11 state machine."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._idle_since: float | None = None  # None while in use
        self._dead = False  # closed, ended, or spoke out of turn: never reuse
        self._data: list[bytes] = []
        self._size = 0
        self._eof = False
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None  # set while the socket is full
        self._paused = False
        self._received = 0  # bytes of the current answer so far
        self.closed: asyncio.Future[None] = loop.create_future()  # done once the socket is

    def __repr__(self) -> str:
        return f"<_Connection idle={self._idle_since is not None} dead={self._dead}>"

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._idle_since is not None:
            # Nobody asked: an unsolicited 408, or junk. Reading it later as the
            # answer to the next request is exactly the stale answer to avoid.
            self.close()
            return
        self._data.append(data)
        self._size += len(data)
        if self._size > _HIGH_WATER and not self._paused and self._transport:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._dead = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._dead = True
        self._lost = exc
        self._wake()
        if not self.closed.done():
            self.closed.set_result(None)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- the pool's side ---------------------------------------------------------

    def usable(self) -> bool:
        return (
            not self._dead
            and self._idle_since is not None
            and self._loop.time() - self._idle_since < KEEPALIVE_EXPIRY
        )

    def reusable(self) -> bool:
        """After an answer: both sides done, nothing left over, still open."""
        h = self._h11
        if self._dead or self._data or h.our_state is not h11.DONE or h.their_state is not h11.DONE:
            return False
        h.start_next_cycle()
        return not h.trailing_data[0]

    def park(self) -> None:
        self._idle_since = self._loop.time()

    def close(self) -> None:
        self._dead = True
        if self._transport is not None:
            self._transport.close()

    async def exchange(
        self,
        head: h11.Request,
        body: bytes,
        timeouts: dict[str, float | None],
        max_body: int,
        *,
        reused: bool,
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]], bytes]:
        """Send one request, read its answer: (status, reason, version, headers, body)."""
        assert self._transport is not None
        self._idle_since = None
        h = self._h11
        out = h.send(head)
        if body:
            out += h.send(h11.Data(data=body))
        self._transport.write(out + h.send(h11.EndOfMessage()))
        if self._writable is not None:
            await self._within(self._writable, timeouts.get("write"), httpx.WriteTimeout, "write")
        read = timeouts.get("read")
        self._received = 0
        response: h11.Response | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await self._next_event(read, stale_if_closed=reused)
            if type(event) is h11.Data:
                size += len(event.data)
                if size > max_body:
                    raise AnswerTooLarge(f"answer body over {max_body} bytes")
                chunks.append(event.data)
            elif type(event) is h11.Response:
                if reused and event.status_code == 408 and response is None:
                    raise _Unanswered(408)
                response = event
                # h11 bounds a head that arrives in pieces; this one came whole.
                if sum(len(n) + len(v) + 4 for n, v in event.headers) > MAX_HEAD:
                    raise AnswerTooLarge(f"answer head over {MAX_HEAD} bytes")
                length = _content_length(event.headers)
                if length is not None and length > max_body:
                    raise AnswerTooLarge(f"answer body of {length} bytes is over {max_body}")
            elif type(event) is h11.EndOfMessage:
                break
            elif type(event) is not h11.InformationalResponse:  # 1xx: the real answer follows
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} from h11")
        assert response is not None
        return (
            response.status_code,
            response.reason,
            b"HTTP/" + response.http_version,
            list(response.headers.raw_items()),
            b"".join(chunks),
        )

    async def tunnel(
        self,
        proxy: Proxy,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        read: float | None,
    ) -> None:
        """CONNECT host:port through the proxy this connection reached, then TLS inside."""
        assert self._transport is not None
        authority = f"{host}:{port}".encode("ascii")
        headers = [(b"Host", authority)]
        if proxy.authorization:
            headers.append((b"Proxy-Authorization", proxy.authorization))
        h = self._h11
        self._transport.write(
            h.send(h11.Request(method=b"CONNECT", target=authority, headers=headers))
        )
        event = await self._next_event(read, stale_if_closed=False)
        while type(event) is not h11.Response:  # 1xx first, or h11 ends it with an error
            event = await self._next_event(read, stale_if_closed=False)
        if not 200 <= event.status_code < 300:
            raise TunnelRefused(
                f"proxy {proxy.host}:{proxy.port} refused a tunnel to {host}:{port}: "
                f"{event.status_code} {event.reason.decode('latin-1')}",
                event.status_code,
            )
        if h.trailing_data[0] or self._data:
            raise httpx.ProxyError(
                f"proxy {proxy.host}:{proxy.port} spoke before the tunnel opened"
            )
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        if tls is not None:
            transport = await self._loop.start_tls(self._transport, self, tls, server_hostname=host)
            assert isinstance(transport, asyncio.Transport)
            self._transport = transport

    async def _next_event(self, read: float | None, *, stale_if_closed: bool) -> object:
        """h11's next event, reading from the socket as it needs. `stale_if_closed`: a
        connection that ends before a byte of the answer raises _Unanswered."""
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise _protocol_error(exc) from exc
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self._read(read)
            except httpx.ReadError:
                if stale_if_closed and not self._received:
                    raise _Unanswered(0) from None  # reset before a byte of an answer
                raise
            if stale_if_closed and not data and not self._received:
                raise _Unanswered(0)
            self._received += len(data)
            self._h11.receive_data(data)

    async def _read(self, seconds: float | None) -> bytes:
        """The bytes received so far, waiting up to `seconds` for some; b"" at the end."""
        if not self._data and not self._eof:
            self._waiter = self._loop.create_future()
            try:
                await self._within(self._waiter, seconds, httpx.ReadTimeout, "read")
            finally:
                self._waiter = None
        if not self._data:
            if self._lost is not None:
                raise httpx.ReadError(_os_cause(self._lost)) from self._lost
            return b""
        data = self._data[0] if len(self._data) == 1 else b"".join(self._data)
        self._data.clear()
        self._size = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    async def _within(
        self,
        future: asyncio.Future[None],
        seconds: float | None,
        error: type[httpx.TimeoutException],
        what: str,
    ) -> None:
        if seconds is None:
            await future
            return
        timer = self._loop.call_later(seconds, _expire, future)
        try:
            await future
        except TimeoutError:
            raise error(f"{what} timed out after {seconds:g} s") from None
        finally:
            timer.cancel()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _content_length(headers: h11._headers.Headers) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is digits only
    return None


def _protocol_error(exc: h11.RemoteProtocolError) -> httpx.RemoteProtocolError:
    if "exceeds" in str(exc) or exc.error_status_hint == 431:
        return AnswerTooLarge(f"answer head over {MAX_HEAD} bytes")
    return httpx.RemoteProtocolError(f"malformed answer: {exc}")


def _where(origin: Origin) -> str:
    return f"{origin[1]}:{origin[2]}"


def _os_cause(exc: BaseException) -> str:
    """A socket error in a few words: `connection refused`, `connection reset`, ..."""
    code = getattr(exc, "errno", None)
    if code == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if code == errno.ECONNRESET or isinstance(exc, ConnectionResetError):
        return "connection reset"
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "network unreachable"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
