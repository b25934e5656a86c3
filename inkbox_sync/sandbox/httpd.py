"""The HTTP/1.1 side of the sandbox, on the standard library's `http.server`.

One thread per connection (`ThreadingHTTPServer`), keep-alive (HTTP/1.1), so a
pooled client keeps its thread. The library parses request lines and headers
and refuses what it cannot parse (400, 414, 431, 501, 505); this module adds
the few answers it leaves to its users: junk header lines, a Content-Length
that is not one number, a body it cannot frame (no chunked decoding: 411), all
as JSON like the API's own errors. It knows nothing of the sandbox: each
request goes to `dispatch` (the server's front end).

Two details matter on loopback: Nagle's algorithm is off on every accepted
socket, and each response goes out in one `send` (head and body together,
from a write buffer the library flushes once per request; a body over the
buffer follows its head at once); otherwise the client's delayed ACK stalls
each response by ~40 ms.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import msgspec

from inkbox_sync.sandbox.app import Response

#: (method, request target, X-API-Key or None, body, arrived) -> response; `arrived`
#: is the time.monotonic() at which the request line had been read.
Dispatch = Callable[[str, str, str | None, bytes, float], Response]

_IDLE_TIMEOUT: Final = 120.0  # seconds a keep-alive connection may sit idle
_MAX_BODY: Final = 256 * 1024 * 1024  # a 100,000-rule state document is ~30 MB
_WRITE_BUFFER: Final = 1024 * 1024  # holds head + body of every API answer: one send
#: Bodies as JSON, ~10x faster than `json.dumps`: a 1,000-identity listing (1.1 MB)
#: took ~13 ms of a 20 ms latency, holding every other request's thread back.
_JSON: Final = msgspec.json.Encoder()


class HTTPServer(ThreadingHTTPServer):
    """Listens on `address` (IPv6 when the host has a colon); `stop()` ends it."""

    block_on_close = False  # stop() closes the connections itself
    request_queue_size = 256  # 64 clients connecting at once must not see refusals

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.dispatch = dispatch
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)  # OSError if the port is taken

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def stop(self) -> None:
        """Stop accepting, wake idle keep-alive threads so they exit, close the socket."""
        self.shutdown()
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError | ValueError):
            return  # the client went away (or stop() closed it): nothing to report
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """One connection's requests, in turn (the library calls `do_<METHOD>` for each)."""

    protocol_version = "HTTP/1.1"
    server_version = "inkbox-sync-sandbox"
    timeout = _IDLE_TIMEOUT
    disable_nagle_algorithm = True
    wbufsize = _WRITE_BUFFER
    server: HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, alive=True)
        self._arrived = 0.0

    def parse_request(self) -> bool:
        # The library calls this as soon as it has read a request line: the request
        # has arrived, and the latency counts from here (parsing its head is the
        # sandbox's own work, inside the latency like the rest).
        self._arrived = time.monotonic()
        return super().parse_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, alive=False)

    def handle_expect_100(self) -> bool:
        if self._content_length() is None:
            return False  # refused before the client sends a body we would not read
        super().handle_expect_100()
        self.wfile.flush()  # the client waits for the 100 before it sends the body
        return True

    def _serve(self) -> None:
        length = self._content_length()
        if length is None:
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True  # the client went away mid-body
            return
        try:
            response = self.server.dispatch(
                self.command, self.path, self.headers.get("X-API-Key"), body, self._arrived
            )
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response(500, {"detail": "Sandbox internal error"})
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _content_length(self) -> int | None:
        """The length of the body to read, or None after answering why there is none."""
        if self.headers.defects:  # e.g. a line without a colon among the headers
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header line")
            return None
        if "Transfer-Encoding" in self.headers:
            self.send_error(HTTPStatus.LENGTH_REQUIRED, "Send the body with a Content-Length")
            return None
        lengths = set(self.headers.get_all("Content-Length") or ["0"])
        value = lengths.pop().strip()
        if lengths or not (value.isascii() and value.isdigit()):
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed Content-Length")
            return None
        if int(value) > _MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request body too large")
            return None
        return int(value)

    def _send(self, response: Response) -> None:
        """The head into the write buffer, the latency slept out, then the body: what is
        left after the sleep is a copy and the send (`handle_one_request` flushes)."""
        status = HTTPStatus(response.status)
        payload = b""
        if status != HTTPStatus.NO_CONTENT:
            payload = response.encoded or _json(response.body)
        self.send_response(status)
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.not_before is not None:
            wait = response.not_before - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # the latency, less the work done since the request arrived
        if self.command != "HEAD":  # HEAD only reaches here as the library's 501
            # Buffered with the head (a body over the buffer goes out at once, after
            # the head): the library sends both together when it flushes.
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The library's own refusals, as JSON `{"detail": ...}` like the API's (not HTML)."""
        self.close_connection = True  # what is left on the wire cannot be trusted
        if self.command is None:  # the request line was not understood: not an HTTP/0.9 answer
            self.request_version = self.protocol_version
        self._send(Response(code, {"detail": message or HTTPStatus(code).phrase}))

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log: the request log is GET /_sandbox/requests


def _json(body: object) -> bytes:
    """`body` as JSON. A string JSON could carry but UTF-8 cannot (a lone surrogate,
    `"\\ud800"`, which a client may send and the sandbox store) goes out escaped, as
    `json.dumps` writes it, where msgspec refuses it."""
    try:
        return _JSON.encode(body)
    except UnicodeEncodeError:
        return json.dumps(body).encode()
