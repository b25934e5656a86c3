"""The sandbox's HTTP server: sockets, latency, rate limits, failures, request log.

`SandboxServer(SandboxOptions(...)).start()` serves on a background thread,
one thread per connection (HTTP/1.1 keep-alive, so a pooled client keeps its
thread). Two details matter for throughput on loopback: Nagle's algorithm is
off on every accepted socket, and each response goes out in one `send` (head
and body together); otherwise the client's delayed ACK stalls each response
by ~40 ms. Latency is a sleep outside every lock, so N slow requests overlap.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Final, Self
from urllib.parse import parse_qsl, urlsplit

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox.app import Request, Response, SandboxApp
from inkbox_sync.sandbox.control import Control, Knobs
from inkbox_sync.sandbox.demo import demo_document
from inkbox_sync.sandbox.document import Document, DocumentError, normalize
from inkbox_sync.sandbox.faults import DEFAULT_RATE_LIMIT, FaultInjector, RateLimiter
from inkbox_sync.sandbox.persistence import MIN_COMPACT_BYTES, Compactor, StateFile
from inkbox_sync.sandbox.reqlog import DEFAULT_LIMIT as REQUEST_LOG_LIMIT
from inkbox_sync.sandbox.reqlog import RequestLog
from inkbox_sync.sandbox.store import Store
from inkbox_sync.sandbox.validation import MAX_LIMIT

DEFAULT_API_KEY: Final = "sandbox-key"
_IDLE_TIMEOUT: Final = 120.0  # seconds a keep-alive connection may sit idle
_MAX_LINE: Final = 65_536
_MAX_HEADERS: Final = 100


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How a sandbox starts. The initial state, in order of precedence:
    `initial_state` (a state document; `document.empty()` for none at all),
    else the contents of `state_file` if it exists, else the demo organisation.
    With `state_file` every accepted write is persisted there."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, see SandboxServer.port
    api_key: str = DEFAULT_API_KEY
    agent_key: str | None = None  # an agent-scoped key: 403 on admin-only operations
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit: int = DEFAULT_RATE_LIMIT  # requests per second per key
    page_size: int = MAX_LIMIT  # most rules per page; larger `limit`s are clamped
    seed: int | None = None
    state_file: Path | None = None
    initial_state: Document | None = field(default=None, compare=False)
    journal_limit: int = (
        MIN_COMPACT_BYTES  # compact once the journal outgrows this and the snapshot
    )
    request_log_limit: int = REQUEST_LOG_LIMIT


class SandboxServer:
    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        opts = self.options
        if opts.page_size < 1:
            raise ConfigError("--page-size must be at least 1")
        self.knobs = Knobs(
            latency_ms=opts.latency_ms,
            faults=FaultInjector(opts.fail_rate, opts.seed),
            limiter=RateLimiter(opts.rate_limit),
        )
        self.request_log = RequestLog(opts.request_log_limit)
        self._state_file: StateFile | None = None
        self._compactor: Compactor | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Self:
        opts = self.options
        doc = self._initial_document()
        store = self._store = Store(doc, journal=self._state_file)
        frontend = _Frontend(
            SandboxApp(
                store, api_key=opts.api_key, agent_key=opts.agent_key, page_size=opts.page_size
            ),
            Control(store, self.request_log, self.knobs),
            self.knobs,
            self.request_log,
        )
        if self._state_file is not None:
            self._compactor = Compactor(self._state_file, store.capture)
            self._compactor.start()
        server_class = _HTTPServer6 if ":" in opts.host else _HTTPServer
        try:
            self._httpd = server_class((opts.host, opts.port), _Handler)
        except OSError as exc:
            self._close_state()
            raise ConfigError(f"cannot listen on {opts.host}:{opts.port}: {exc.strerror}") from exc
        self._httpd.frontend = frontend
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; with a state file, leave a complete snapshot and no journal."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_state()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _initial_document(self) -> Document:
        opts = self.options
        where = str(opts.state_file) if opts.state_file else "initial state"
        state_file = StateFile(opts.state_file, opts.journal_limit) if opts.state_file else None
        try:
            if opts.initial_state is not None:
                doc = normalize(opts.initial_state, root="state")
            else:
                doc = (state_file.load() if state_file else None) or demo_document()
            if state_file is not None:
                state_file.start(doc)  # the snapshot now holds `doc`, the journal is empty
        except DocumentError as exc:
            raise ConfigError(f"{where}: not a valid sandbox state: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{where}: {exc.strerror or exc}") from exc
        self._state_file = state_file
        return doc

    def _close_state(self) -> None:
        if self._compactor is not None:
            self._compactor.stop()
            self._compactor = None
        if self._state_file is not None and self._store is not None:
            self._state_file.close(self._store.close())
            self._state_file = None

    # -- addresses --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://host:port`, without `/api/v1` (clients add their paths)."""
        host = self.options.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.options.api_key

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the sandbox is not running")
        return self._store


@dataclass(frozen=True, slots=True)
class _Frontend:
    """What every request goes through before (and after) the API itself."""

    app: SandboxApp
    control: Control
    knobs: Knobs
    request_log: RequestLog

    def dispatch(self, method: str, target: str, api_key: str | None, raw: bytes) -> Response:
        parts = urlsplit(target)
        body, body_error = _parse_body(raw)
        request = Request(
            method=method,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            body=body,
            body_error=body_error,
            api_key=api_key,
        )
        if parts.path == "/_sandbox" or parts.path.startswith("/_sandbox/"):
            return self.control.handle(request)
        if parts.path == "/":
            return Response(
                200, {"service": "inkbox-sync sandbox", "api": "/api/v1", "control": "/_sandbox/"}
            )
        if self.knobs.latency_ms > 0:
            time.sleep(self.knobs.latency_ms / 1000)
        decision = self.knobs.limiter.check(api_key or "")
        fault = None
        result_id = None
        api_status = None  # what the API itself answered, before any injected failure
        if not decision.allowed:
            response = Response(
                429, {"detail": "Rate limit exceeded; retry after Retry-After seconds"}
            )
        else:
            fault = self.knobs.faults.draw(request.is_write)
            if fault == "before_commit":
                response = _injected()
            else:
                response = self.app.handle(request)
                if method == "POST" and isinstance(response.body, dict):
                    # Logged so a replay can tell which rule later writes address,
                    # even when the client never saw the answer (after_commit).
                    result_id = response.body.get("id")
                api_status = response.status
                if fault == "after_commit":
                    response = _injected()  # the write stands; the client can't tell
        response.headers.update(decision.headers)
        self.request_log.add(
            {
                "method": method,
                "path": request.path,
                "query": dict(request.query),
                "body": body,
                "status": response.status,
                "fault": fault,
                "result_id": result_id,
                "api_status": api_status,
            }
        )
        return response


def _injected() -> Response:
    return Response(
        500, {"detail": "Internal Server Error (injected by the sandbox's --fail-rate)"}
    )


def _parse_body(raw: bytes) -> tuple[object, str | None]:
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except ValueError as exc:
        return None, f"JSON decode error: {exc}"


class _HTTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the connections itself
    allow_reuse_address = True
    request_queue_size = 256  # 64 clients connecting at once must not see refusals
    frontend: _Frontend

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


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _BadRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class _Handler(socketserver.StreamRequestHandler):
    """A small HTTP/1.1 server loop: keep-alive, Content-Length or chunked bodies,
    `Expect: 100-continue`. `http.server`'s handler parses headers with the
    email package, which cost more than the rest of a simple request."""

    timeout = _IDLE_TIMEOUT
    server: _HTTPServer

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
            response = self.server.frontend.dispatch(method, target, headers.get("x-api-key"), body)
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
