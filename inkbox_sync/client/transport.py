"""One retry loop, error mapping, pacing and redaction for every API request.

Knows HTTP and the contract's error and rate-limit conventions, but no
resource URLs or fields: those live in the version adapters (`inkbox_sync.client.v2026_06`,
`inkbox_sync.client.v2026_10`).
"""

from __future__ import annotations

import asyncio
import random as _random
import socket
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar, overload
from urllib.parse import quote, urlencode, urlsplit

import httpx

from inkbox_sync import __version__
from inkbox_sync.client.notices import HEADER as NOTICES_HEADER
from inkbox_sync.client.notices import NoticeBoard
from inkbox_sync.client.pacing import RateLimitPacer, parse_retry_after
from inkbox_sync.client.pool import AnswerTooLarge, ConnectionPool, TunnelRefused
from inkbox_sync.client.proxy import proxy_from_environment
from inkbox_sync.client.shapes import json_body
from inkbox_sync.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    NotSent,
    PermanentApiError,
    RateLimitedError,
    TemporaryApiError,
    UnreachableError,
    ValidationFailedError,
)
from inkbox_sync.redact import Redactor, redact_url
from inkbox_sync.stopping import writes_allowed

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
#: The longest one attempt may take, connecting to last byte, however the bytes
#: trickle in (`timeout.read` bounds each wait for more of them).
DEFAULT_DEADLINE: Final = 120.0
API_KEY_HEADER: Final = "X-API-Key"
T = TypeVar("T")

# httpx masks Authorization in a Headers repr; the Inkbox key travels in its own
# header, which must never show in a repr either (a traceback, a debugger, a log).
# (A private set of httpx's: should it move, test_connect's repr test says so.)
_SENSITIVE = getattr(httpx._models, "SENSITIVE_HEADERS", None)
if isinstance(_SENSITIVE, set):
    _SENSITIVE.add(API_KEY_HEADER.lower())


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: see `_ApiClient`."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _ApiClient(httpx.AsyncClient):
    """An httpx.AsyncClient without cookies.

    Every request carries the API key; the API has no use for cookies, and
    httpx's cookie handling (it builds urllib request and response objects to
    offer each response to the jar) cost ~0.15 ms of CPU per response, about a
    tenth of a request's whole cost in the client.
    """

    _jar = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("this client keeps no cookies")

    def __repr__(self) -> str:
        return "<_ApiClient>"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one request tries before giving up.

    Failures (5xx, timeouts, connection errors) and 429s have separate budgets:
    pacing keeps 429s rare, but a tight limit shared by concurrent requests can
    refuse one request several times in a row without anything being wrong.
    """

    max_attempts: int = 8  # tries ending in 5xx/timeout/connection error, first included
    max_rate_limited: int = 20  # tries ending in 429
    base_delay: float = 0.1  # seconds; backoff before retry n is U(0, min(cap, base * 2**n))
    max_delay: float = 5.0
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this
    max_pacing_wait: float = 60.0  # longest one send waits for a rate-limit window

    def backoff(self, retry: int, rng: _random.Random) -> float:
        """Full jitter: spreads concurrent retriers across the whole interval."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2**retry))


@dataclass(slots=True)
class ClientStats:
    """Counters for benchmarks and `-v`. One may be shared by several clients."""

    requests: Counter[str] = field(default_factory=Counter)  # every attempt sent, by method
    retries: int = 0
    rate_limited: int = 0  # 429 answers seen
    server_errors: int = 0  # 5xx answers seen
    transport_errors: int = 0  # timeouts and connection errors
    paced_waits: int = 0  # sends held back by pacing or a Retry-After
    paced_seconds: float = 0.0
    #: Sends held back right now by pacing or a Retry-After: the CLI's progress
    #: line says "waiting on the rate limit" while it is above 0.
    waiting: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    #: `time.perf_counter()` when the first attempt was sent, and when the latest
    #: one ended (answered or failed): the span the requests took (`api_seconds`).
    first_sent: float | None = None
    last_ended: float | None = None

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def api_seconds(self) -> float:
        """From the first attempt sent to the end of the last: the command's time on
        the API, without what it did before its first request (imports, loading,
        connecting options) or after its last answer (planning, output)."""
        if self.first_sent is None or self.last_ended is None:
            return 0.0
        return self.last_ended - self.first_sent


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One attempt, for `-vv` logs. `path` has no host and no query string."""

    method: str
    path: str
    params: Mapping[str, str]  # the client's own query parameters (paging, filters)
    status: int | None  # None when no answer came (see `error`)
    elapsed: float  # seconds
    attempt: int
    error: str | None = None  # what went wrong when no answer came, naming the host


OnRequest = Callable[[RequestEvent], None]
Sleep = Callable[[float], Awaitable[None]]


def check_base_url(base_url: str) -> str:
    """The base URL without trailing slash; ConfigError unless https (or http on loopback)."""
    try:
        parts = urlsplit(base_url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  # urllib checks the port only when it is read
    except ValueError:
        # Not urllib's reason: it quotes the text after the colon, which may be a secret.
        raise ConfigError(
            f"invalid base URL {redact_url(base_url)!r} (is its port a number from 0 to 65535?)"
        ) from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"base URL must be https://HOST, got {redact_url(base_url)!r}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"refusing plain http:// to {host}: the API key would travel unencrypted "
            "(http is accepted only for localhost, 127.0.0.1 and [::1])"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL must not have a query or fragment: {redact_url(base_url)!r}")
    root = base_url.rstrip("/")
    if root.endswith("/api/v1"):
        # Refused, not stripped: the SDK reads INKBOX_BASE_URL the same way (it adds
        # /api/v1 too), so a value that only worked here would 404 everywhere else.
        raise ConfigError(
            f"base URL {redact_url(base_url)!r} ends in /api/v1, which inkbox-sync adds "
            f"itself: use INKBOX_BASE_URL={redact_url(root.removesuffix('/api/v1'))}"
        )
    return root


def _detail_text(detail: object, status: int) -> str:
    """A readable one-line summary of an error body's `detail`."""
    if isinstance(detail, list):  # 422: [{"loc": [...], "msg": "..."}]
        parts = []
        for item in detail:
            if isinstance(item, dict) and "msg" in item:
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
                parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        for key in ("message", "msg", "error"):
            if isinstance(detail.get(key), str):
                return str(detail[key])
        return ", ".join(f"{k}={v}" for k, v in detail.items())
    if detail is None or detail == "":
        return httpx.codes.get_reason_phrase(status) or f"HTTP {status}"
    text = str(detail)
    return text if len(text) <= 300 else text[:300] + "..."


def check_api_key(api_key: str) -> None:
    """ConfigError for a key that cannot travel in an HTTP header (never quoting it)."""
    if not api_key.isascii():
        raise ConfigError(
            "the API key has a non-ASCII character; check INKBOX_API_KEY or --api-key "
            "(a key copied from a web page may carry a typographic quote or dash)"
        )
    if not api_key.isprintable() or api_key != api_key.strip():
        raise ConfigError(
            "the API key has a line break, control character or surrounding whitespace; "
            "check INKBOX_API_KEY or --api-key"
        )


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and every exception behind it (`raise ... from` or implicit)."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return out


class Transport:
    """Sends requests with pacing, bounded concurrency and the one retry loop."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None,
        concurrency: int,
        timeout: float | httpx.Timeout,
        deadline: float,
        retry: RetryPolicy,
        sleep: Sleep,
        rng: _random.Random,
        clock: Callable[[], float],
        on_request: OnRequest | None,
        stats: ClientStats | None,
        notices: NoticeBoard | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        check_api_key(api_key)
        self.concurrency = concurrency
        self.stats = stats if stats is not None else ClientStats()
        self._retry = retry
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._on_request = on_request
        self._deadline = deadline
        self._notices = notices
        self._scrub = Redactor([api_key])
        self._sem = asyncio.Semaphore(concurrency)
        self._pacer = RateLimitPacer(clock)
        self._base_url = check_base_url(base_url)
        parts = urlsplit(self._base_url)
        self._host = parts.hostname or ""
        if transport is None:
            # Proxy variables are read now, so that a bad one fails before any work.
            proxy_from_environment(parts.scheme, self._host, parts.port or 443)
            transport = ConnectionPool(max_idle=concurrency)
        self._http = _ApiClient(
            base_url=self._base_url,
            headers={
                API_KEY_HEADER: api_key,
                "Accept": "application/json",
                "User-Agent": f"inkbox-sync/{__version__}",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect could carry the key to another host
            trust_env=False,  # proxies and trust are the pool's (proxy.py, tls.py); no .netrc
        )

    def __repr__(self) -> str:
        return f"Transport({self._host!r}, concurrency={self.concurrency})"

    async def aclose(self) -> None:
        await self._http.aclose()

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
    ) -> object: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        decode: Callable[[bytes], T],
    ) -> T: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        decode: Callable[[bytes], object] = json_body,
    ) -> object:
        """Send until a definitive answer; return the body as `decode` reads it: by
        default the parsed JSON (None if empty). A `decode` raises ValueError for
        an answer that is not JSON, PermanentApiError for one of the wrong shape.

        Every method is retried on 429, 5xx and temporary transport failures
        (refused or reset connections, timeouts, answers cut short or
        malformed). GET, PATCH and DELETE are idempotent. A POST that failed
        ambiguously (5xx, timeout, connection lost after sending) may have been
        committed; it is retried all the same, and the caller must treat a 409
        on the retry as "possibly mine" (see the adapters' `create_rule`). A 429
        was not committed. Permanent failures are raised at once: other 4xx
        (the matching ApiError), and a ConnectionFailedError for a certificate
        that does not verify, a host name that does not resolve, or an answer
        over the size limits. A 409 says whether an earlier attempt failed in a way
        that may have committed it (`after_lost_answer`).
        """
        failures = 0
        limited = 0
        attempt = 0
        lost = False  # an earlier attempt may have been committed, its answer lost
        what = f"{method} {path}"  # for messages: no host, no query, never the key
        while True:
            attempt += 1
            # Withheld when apply is stopping, unless an earlier attempt may have landed.
            gated = method != "GET" and not lost
            outcome = await self._attempt(method, path, params, json, attempt, gated)
            if isinstance(outcome, httpx.Response):
                status = outcome.status_code
                if status == 429:
                    self.stats.rate_limited += 1
                    limited += 1
                    wait = parse_retry_after(outcome.headers.get("retry-after"), self._clock())
                    if limited >= self._retry.max_rate_limited:
                        raise RateLimitedError(
                            f"{what}: still rate limited (429) after {attempt} attempts",
                            retry_after=wait,
                            detail=self._body_detail(outcome),
                        )
                    if wait is None:
                        wait = self._retry.backoff(limited - 1, self._rng)
                    self._pacer.pause_for(min(wait, self._retry.max_retry_after))
                    self.stats.retries += 1
                    continue
                if status >= 500:
                    self.stats.server_errors += 1
                    failures += 1
                    lost = True
                    if failures >= self._retry.max_attempts:
                        raise TemporaryApiError(
                            f"{what}: server error {status} after {attempt} attempts",
                            status=status,
                            detail=self._body_detail(outcome),
                        )
                    await self._backoff(failures)
                    continue
                if status >= 400:
                    raise self._error(what, outcome, after_lost_answer=lost)
                if status >= 300:
                    raise PermanentApiError(
                        f"{what}: unexpected redirect ({status}); check the base URL",
                        status=status,
                    )
                return self._decoded(what, outcome, decode)
            # A temporary transport failure: what went wrong (naming the host), and
            # whether the request may have reached the server before it did.
            cause, sent = outcome
            self.stats.transport_errors += 1
            failures += 1
            lost = lost or sent
            if failures >= self._retry.max_attempts:
                raise UnreachableError(
                    f"{what}: {cause} (gave up after {attempt} attempts)",
                    host=self._host,
                    cause=cause,
                )
            await self._backoff(failures)

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: object,
        attempt: int,
        gated: bool = False,
    ) -> httpx.Response | tuple[str, bool]:
        """One send: a response, or (what went wrong, whether the request may have
        reached the server) if it is worth another try. A failure to connect
        (refused, connect timeout) sent nothing: a create retried after one
        cannot have landed twice."""
        async with self._sem:
            await self._pace()
            if gated and not writes_allowed():
                raise NotSent(f"{method} {path}: not sent, apply is stopping")
            seq = self._pacer.sent()
            self.stats.requests[method] += 1
            started = time.perf_counter()
            if self.stats.first_sent is None:
                self.stats.first_sent = started
            try:
                # The whole URL as one string: httpx parses it once, instead of
                # parsing the path, merging it into base_url and merging params.
                url = (
                    self._base_url
                    + path
                    + (f"?{urlencode(params, quote_via=quote)}" if params else "")
                )
                async with asyncio.timeout(self._deadline):
                    response = await self._http.request(method, url, json=json)
            except (httpx.TransportError, TimeoutError) as exc:
                self._pacer.settled(seq)
                cause, permanent = self._failure(exc)
                self._emit(method, path, params, None, started, attempt, cause)
                if permanent:
                    raise ConnectionFailedError(
                        f"{method} {path}: {cause} (not retried)", host=self._host, cause=cause
                    ) from None
                return cause, not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            except httpx.HTTPError as exc:
                self._pacer.settled(seq)
                # Not transient (a bad URL, a protocol error on our side): report it
                # by class only; its text may quote the URL.
                self._emit(method, path, params, None, started, attempt, type(exc).__name__)
                raise PermanentApiError(f"{method} {path}: {type(exc).__name__}") from None
            except BaseException:
                self._pacer.settled(seq)  # cancelled, or a bug: no longer in flight
                raise
            self._pacer.observe(seq, response.headers)
            if self._notices is not None and NOTICES_HEADER in response.headers:
                self._notices.saw(response.headers[NOTICES_HEADER])
            self.stats.bytes_sent += len(response.request.content)
            self.stats.bytes_received += len(response.content)
            self._emit(method, path, params, response.status_code, started, attempt, None)
            return response

    def _failure(self, exc: httpx.TransportError | TimeoutError) -> tuple[str, bool]:
        """(what went wrong, naming the host; whether it is permanent). See `request`."""
        if isinstance(exc, TimeoutError):
            return (
                f"{self._host}: timed out after {self._deadline:g} s (the deadline of one attempt)",
                False,
            )
        text = self._scrub.text(str(exc)) or type(exc).__name__
        if self._host and self._host not in text:
            text = f"{self._host}: {text}"
        causes = _causes(exc)
        permanent = (
            isinstance(exc, (AnswerTooLarge, httpx.UnsupportedProtocol, httpx.LocalProtocolError))
            or (isinstance(exc, TunnelRefused) and 400 <= exc.status < 500)
            or any(isinstance(c, ssl.SSLError) for c in causes)
            or any(isinstance(c, socket.gaierror) and c.errno != socket.EAI_AGAIN for c in causes)
        )
        return text, permanent

    async def _pace(self) -> None:
        """Wait while the rate-limit window is spent; give up waiting after the cap."""
        waited = 0.0
        while (delay := self._pacer.delay()) > 0 and waited < self._retry.max_pacing_wait:
            delay = min(delay, self._retry.max_pacing_wait - waited)
            self.stats.paced_waits += 1
            self.stats.paced_seconds += delay
            waited += delay
            self.stats.waiting += 1
            try:
                await self._sleep(delay)
            finally:
                self.stats.waiting -= 1

    async def _backoff(self, failures: int) -> None:
        # Sleep outside the semaphore: a backing-off request should not hold a
        # slot that a healthy one could use.
        self.stats.retries += 1
        await self._sleep(self._retry.backoff(failures - 1, self._rng))

    def _emit(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        status: int | None,
        started: float,
        attempt: int,
        error: str | None,
    ) -> None:
        """An attempt ended, answered or not (a cancelled one never gets here): the
        stats' API span ends here for now, and `-vv` hears of it."""
        self.stats.last_ended = time.perf_counter()
        if self._on_request is None:
            return
        event = RequestEvent(
            method=method,
            path=path,
            params=dict(params or {}),
            status=status,
            elapsed=time.perf_counter() - started,
            attempt=attempt,
            error=error,
        )
        self._on_request(event)

    def _decoded(
        self, what: str, response: httpx.Response, decode: Callable[[bytes], object]
    ) -> object:
        try:
            return decode(response.content)
        except ValueError:
            raise PermanentApiError(
                f"{what}: answer is not JSON", status=response.status_code
            ) from None

    def _body_detail(self, response: httpx.Response) -> object:
        """The error body's `detail` (or its text), scrubbed of secrets."""
        try:
            body = response.json()
        except ValueError:
            # Scrubbed whole, then cut: a cut first could leave half a key behind.
            return self._scrub.text(response.text)[:500]
        detail = body.get("detail", body) if isinstance(body, dict) else body
        return self._scrub.detail(detail)

    def _error(
        self, what: str, response: httpx.Response, *, after_lost_answer: bool = False
    ) -> ApiError:
        status = response.status_code
        detail = self._body_detail(response)
        message = f"{what}: {status} {self._scrub.text(_detail_text(detail, status))}"
        if status in (401, 403):
            return AuthError(message, status=status, detail=detail)
        if status == 404:
            return NotFoundError(message, status=status, detail=detail)
        if status == 409:
            existing = detail.get("existing_rule_id") if isinstance(detail, dict) else None
            return ConflictError(
                message,
                existing_rule_id=str(existing) if existing is not None else None,
                detail=detail,
                after_lost_answer=after_lost_answer,
            )
        if status == 422:
            return ValidationFailedError(message, status=status, detail=detail)
        if status == 410:  # a route the API sunset: it speaks a newer version than asked
            return PermanentApiError(
                f"{message}. The API no longer serves this route: it speaks another API "
                "version than inkbox-sync used; let it detect the version (--api-version "
                "auto, the default) or name the right one (--api-version 2026-10)",
                status=status,
                detail=detail,
            )
        return PermanentApiError(message, status=status, detail=detail)
