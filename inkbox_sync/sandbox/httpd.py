"""The HTTP/1.1 side of the sandbox: threads, sockets, parsing, one write per answer.

One thread per connection, with keep-alive (a pooled client keeps its thread).
Two details matter on loopback: Nagle's algorithm is off on every accepted
socket, and each response goes out in one `send` (head and body together);
otherwise the client's delayed ACK stalls each response by ~40 ms. The
request loop is written out here because `http.server` parses headers with the
email package, which costs more than the rest of a simple request. It knows
nothing of the sandbox: each request goes to `server.dispatch`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from typing import Final

from inkbox_sync.sandbox.app import Response

#: (method, request target, X-API-Key or None, body) -> response
Dispatch = Callable[[str, str, str | None, bytes], Response]

_IDLE_TIMEOUT: Final = 120.0  # seconds a keep-alive connection may sit idle
_MAX_LINE: Final = 65_536
_MAX_HEADERS: Final = 100


class HTTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the connections itself
    allow_reuse_address = True
    request_queue_size = 256  # 64 clients connecting at once must not see refusals
    dispatch: Dispatch  # set before serving

    def server_activate(self) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().server_activate()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        """Wake idle keep-alive threads so they exit instead of lingering."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6


class _BadRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class Handler(socketserver.StreamRequestHandler):
    """A small HTTP/1.1 server loop: keep-alive, Content-Length or chunked bodies,
    `Expect: 100-continue`."""

    timeout = _IDLE_TIMEOUT
    server: HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, alive=False)

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except (OSError, ValueError):
            pass  # the client went away or timed out: nothing to answer

    def _one_request(self) -> bool:
        """Serve one request; False when the connection is to be closed."""
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        try:
            method, target, version = _request_line(line)
            headers = self._headers()
            conn = headers.get("connection", "").lower()
            keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self._body(headers)
        except _BadRequest as bad:
            self._send(Response(bad.status, {"detail": str(bad)}), keep=False)
            return False
        try:
            response = self.server.dispatch(method, target, headers.get("x-api-key"), body)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response(500, {"detail": "Sandbox internal error"})
        self._send(response, keep=keep)
        return keep

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or len(line) > _MAX_LINE:
                raise _BadRequest(400, "Malformed header line")
            headers[name.strip().lower()] = value.strip()
        raise _BadRequest(431, "Too many header fields")

    def _body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                try:
                    size = int(self.rfile.readline(_MAX_LINE).split(b";")[0], 16)
                except ValueError:
                    raise _BadRequest(400, "Malformed chunk size") from None
                if size == 0:
                    while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            raise _BadRequest(400, "Malformed Content-Length") from None
        if length < 0:
            raise _BadRequest(400, "Malformed Content-Length")
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response, *, keep: bool) -> None:
        status = HTTPStatus(response.status)
        head = [f"HTTP/1.1 {status.value} {status.phrase}", "Server: inkbox-sync-sandbox"]
        payload = b""
        if status != HTTPStatus.NO_CONTENT:
            payload = response.encoded or json.dumps(response.body).encode()
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        if not keep:
            head.append("Connection: close")
        # One write: head and body in the same segment (see the module docstring).
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)


def _request_line(line: bytes) -> tuple[str, str, str]:
    if len(line) > _MAX_LINE:
        raise _BadRequest(414, "Request line too long")
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, "Malformed request line")
    return parts[0], parts[1], parts[2]
