"""What an API request is to the sandbox, and the part of answering it every version shares.

`server` parses each HTTP request into a `Request` and hands it to the
version's app (`v2026_06.api.App`, `v2026_10.api.App`), which answers a
`Response`; no sockets here. `SandboxApp` holds what the versions have in
common: the keys, routing by path pattern, and the order of checks, as the
live API: authentication (401), route (404/405), then the version's handler
(403 for admin-only operations with an agent-scoped key, 422 for the body,
then the state: 404 unknown ids, 409 taken slots, 422 incoherent results).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar
from urllib.parse import unquote

from inkbox_sync.sandbox.validation import MAX_LIMIT, ApiFailure, error, unprocessable


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]
    body: object  # parsed JSON; None when there was no body
    body_error: str | None  # why the body is not JSON, if it is not
    api_key: str | None

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass(slots=True)
class Response:
    status: int
    body: object = None  # a JSON value; ignored for 204
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes | None = None  # the body already encoded as JSON, sent instead of `body`
    #: time.monotonic() before which the answer is not sent (the sandbox's latency)
    not_before: float | None = None


#: (request, is the caller the admin key, path parameters) -> response
Handler = Callable[[Request, bool, list[str]], Response]
Routes = list[tuple[str, dict[str, Handler]]]

SEGMENT: Final = r"([^/]+)"  # one path segment, captured
ADMIN_ONLY: Final = "This operation needs an admin-scoped API key"

StoreT = TypeVar("StoreT")


class SandboxApp(Generic[StoreT]):
    """Routes API requests to the store. `agent_key`, if set, is an agent-scoped
    key: it may read and write, except the contract's admin-only operations
    (2026-10 also scopes it to the identity `agent_handle`, see that version)."""

    def __init__(
        self,
        store: StoreT,
        *,
        api_key: str,
        agent_key: str | None = None,
        agent_handle: str | None = None,
        page_size: int = MAX_LIMIT,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.agent_key = agent_key
        self.agent_handle = agent_handle
        self.page_size = page_size
        self._routes = [(re.compile(pattern), methods) for pattern, methods in self.routes()]

    def routes(self) -> Routes:
        """`(path pattern, {method: handler})`, tried in order; groups are path parameters."""
        raise NotImplementedError

    def handle(self, request: Request) -> Response:
        try:
            admin = self._authenticate(request.api_key)
            handler, params = self._route(request)
            if request.body_error is not None:
                raise unprocessable([error(["body", 0], request.body_error, "json_invalid")])
            return handler(request, admin, params)
        except ApiFailure as failure:
            return Response(failure.status, {"detail": failure.detail}, dict(failure.headers))

    def _authenticate(self, key: str | None) -> bool:
        """True for the admin key, False for the agent key; 401 otherwise."""
        if not key:
            raise ApiFailure(401, "Missing API key (send it in the X-API-Key header)")
        if hmac.compare_digest(key.encode(), self.api_key.encode()):
            return True
        if self.agent_key and hmac.compare_digest(key.encode(), self.agent_key.encode()):
            return False
        raise ApiFailure(401, "Invalid API key")

    def _route(self, request: Request) -> tuple[Handler, list[str]]:
        path = request.path.rstrip("/") or "/"
        for pattern, methods in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                raise ApiFailure(405, "Method Not Allowed")
            return handler, [unquote(group) for group in match.groups()]
        raise ApiFailure(404, "Not Found")


def require_admin(admin: bool) -> None:
    if not admin:
        raise ApiFailure(403, ADMIN_ONLY)


def page_response(items: list[str], limit: int, offset: int, more: bool) -> Response:
    """A page envelope `{"items", "limit", "offset", "has_more"}` of already-encoded items."""
    tail = json.dumps({"limit": limit, "offset": offset, "has_more": more})[1:]
    return Response(200, encoded=('{"items": [' + ", ".join(items) + "], " + tail).encode())
