"""The sandbox server: options, start and stop, and what every request goes through.

`SandboxServer(SandboxOptions(...)).start()` serves on a background thread
(HTTP is `httpd`, on the standard library's `http.server`). Each API request
then meets, in order: the rate limit, the fault injector, the API itself (the
app of `options.api_version`, see `versions`), the request log, and latency:
the answer leaves `latency_ms` after its request line arrived (a sleep outside
every lock, so N slow requests overlap, and the sandbox's work is inside it). `/_sandbox/`
requests go straight to `control`. All of this is the same for every API version.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self
from urllib.parse import parse_qsl, urlsplit

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox.app import Request, Response, SandboxApp
from inkbox_sync.sandbox.control import Control, Knobs
from inkbox_sync.sandbox.document import Document, DocumentError
from inkbox_sync.sandbox.faults import DEFAULT_RATE_LIMIT, FaultInjector, RateLimiter
from inkbox_sync.sandbox.httpd import HTTPServer
from inkbox_sync.sandbox.persistence import MIN_COMPACT_BYTES, Compactor, StateFile
from inkbox_sync.sandbox.reqlog import DEFAULT_LIMIT as REQUEST_LOG_LIMIT
from inkbox_sync.sandbox.reqlog import RequestLog
from inkbox_sync.sandbox.store import Store
from inkbox_sync.sandbox.validation import MAX_LIMIT
from inkbox_sync.sandbox.versions import (
    DEFAULT_API_VERSION,
    VERSIONS,
    load_document,
    upgrade,
)

DEFAULT_API_KEY: Final = "sandbox-key"
_WILDCARD_TO_LOOPBACK: Final = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How a sandbox starts. The initial state, in order of precedence:
    `initial_state` (a state document; `document.empty()` for none at all),
    else the contents of `state_file` if it exists, else the demo organisation
    of `api_version`. A document of an older version is migrated to
    `api_version` (see `versions`). With `state_file` every accepted write is
    persisted there."""

    api_version: str = DEFAULT_API_VERSION
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, see SandboxServer.port
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)  # keys never reach a repr
    agent_key: str | None = field(default=None, repr=False)  # agent-scoped: 403 on admin-only
    agent_handle: str | None = None  # 2026-10: the agent key's identity (default: the first)
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit: int = DEFAULT_RATE_LIMIT  # requests per second per key
    page_size: int = MAX_LIMIT  # most rules per page; larger `limit`s are clamped
    seed: int | None = None
    state_file: Path | None = None
    initial_state: Document | None = field(default=None, compare=False, repr=False)
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
        if opts.api_version not in VERSIONS:
            raise ConfigError(
                f"API version {opts.api_version!r} is not one the sandbox speaks "
                f"({', '.join(VERSIONS)})"
            )
        self.version = VERSIONS[opts.api_version]
        if opts.agent_handle is not None and opts.api_version == "2026-06":
            raise ConfigError(
                "--agent-handle needs --api-version 2026-10: a 2026-06 agent key is not "
                "scoped to one identity"
            )
        #: The API version the initial state was migrated from, if it was (see start()),
        #: and where the state file's pre-migration document was kept.
        self.migrated_from: str | None = None
        self.kept_copy: Path | None = None
        self.knobs = Knobs(
            latency_ms=opts.latency_ms,
            faults=FaultInjector(opts.fail_rate, opts.seed),
            limiter=RateLimiter(opts.rate_limit),
        )
        self.request_log = RequestLog(opts.request_log_limit)
        self._state_file: StateFile | None = None
        self._compactor: Compactor | None = None
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Self:
        opts = self.options
        doc = self._initial_document()
        version = self.version
        store = self._store = version.store(doc, self._state_file)
        frontend = _Frontend(
            version.app(
                store,
                api_key=opts.api_key,
                agent_key=opts.agent_key,
                agent_handle=opts.agent_handle,
                page_size=opts.page_size,
            ),
            Control(
                store,
                self.request_log,
                self.knobs,
                lambda raw: load_document(raw, version.name)[0],
            ),
            self.knobs,
            self.request_log,
        )
        if self._state_file is not None:
            self._compactor = Compactor(self._state_file, store.capture)
            self._compactor.start()
        try:
            self._httpd = HTTPServer((opts.host, opts.port), frontend.dispatch)
        except OSError as exc:
            self._close_state()
            raise ConfigError(f"cannot listen on {opts.host}:{opts.port}: {exc.strerror}") from exc
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
        self.knobs.gate.configure(None)  # release held writes so their threads end
        if self._httpd is not None:
            self._httpd.stop()
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
                doc, self.migrated_from = load_document(
                    opts.initial_state, self.version.name, root="state"
                )
            else:
                # Snapshot and journal are replayed in the file's own version, then migrated.
                loaded = state_file.load() if state_file else None
                if loaded is None:
                    doc = self.version.demo()
                else:
                    doc, self.migrated_from = upgrade(loaded, self.version.name, root="state")
                    if state_file is not None and self.migrated_from is not None:
                        self.kept_copy = state_file.keep_copy(loaded, self.migrated_from)
            handles = {identity["agent_handle"] for identity in doc["identities"]}
            if opts.agent_handle is not None and opts.agent_handle.removeprefix("@") not in handles:
                raise ConfigError(
                    f"--agent-handle {opts.agent_handle}: no identity has that handle"
                )
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
        """`http://host:port`, without `/api/v1` (clients add their paths). On a
        wildcard host (all interfaces) the URL names loopback, where clients reach it."""
        host = _WILDCARD_TO_LOOPBACK.get(self.options.host, self.options.host)
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

    app: SandboxApp[Any]
    control: Control
    knobs: Knobs
    request_log: RequestLog

    def dispatch(
        self, method: str, target: str, api_key: str | None, raw: bytes, arrived: float
    ) -> Response:
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
            if request.is_write and not self.knobs.gate.enter():
                fault = None
                status, detail = self.knobs.gate.refusal()
                response = Response(status, {"detail": detail})
            elif fault == "before_commit":
                response = _injected()
            else:
                response = self.app.handle(request)
                if method in ("POST", "PATCH") and isinstance(response.body, dict):
                    # Logged so a replay can tell which rule later writes address,
                    # even when the client never saw the answer (after_commit): what
                    # a POST made, and what a PATCH answers (a split's new rule).
                    result_id = response.body.get("id")
                api_status = response.status
                if fault == "after_commit":
                    response = _injected()  # the write stands; the client can't tell
        response.headers.update(decision.headers)
        if self.knobs.latency_ms > 0:
            # Sent latency_ms after the request arrived, the sandbox's own work inside
            # that time (httpd sleeps out the rest, holding no lock): so the floor
            # requests x latency / concurrency is one the sandbox itself can reach.
            response.not_before = arrived + self.knobs.latency_ms / 1000
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
