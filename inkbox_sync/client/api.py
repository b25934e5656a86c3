"""What every API version adapter shares: the connection, whoami, listings and paging.

`InkboxClient` owns the transport (retries, pacing, errors, redaction:
`inkbox_sync.client.transport`) and the parts of the contract that did not
change between versions: `GET /api/whoami`, the identities and numbers
listings, offset paging of rule listings, and the choice between the org-wide
rule listing and one listing per policy holder. The version adapters
(`v2026_06`, `v2026_10`) subclass it with their URLs, field names and writes;
`inkbox_sync.client.adapter` picks one.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, Protocol, Self, TypeVar

import httpx
import msgspec

from inkbox_sync.client.demand import Demand, Settled
from inkbox_sync.client.notices import NoticeBoard
from inkbox_sync.client.shapes import JsonObject, Shape, items, obj, opt_string, string
from inkbox_sync.client.transport import (
    DEFAULT_DEADLINE,
    ClientStats,
    OnRequest,
    RetryPolicy,
    Sleep,
    Transport,
)
from inkbox_sync.errors import AuthError, NotFoundError, PermanentApiError
from inkbox_sync.model import SIDES, Capabilities, LiveRule, LiveRules, entry_of, on_side

API: Final = "/api/v1"
WHOAMI: Final = "/api/whoami"  # outside /api/v1, as in the SDK
IDENTITIES: Final = f"{API}/identities/"
NUMBERS: Final = f"{API}/phone/numbers"
ADMIN_SCOPED: Final = "api_key.admin_scoped"
AGENT_SCOPED: Final = "api_key.agent_scoped."  # .claimed, .unclaimed
PAGE_LIMIT: Final = 200  # the contract's maximum page size: fewest requests per listing
#: Pages of a concurrent listing queued for a free request slot beyond those in flight:
#: at 20 ms latency they raise slot use from ~90% to ~93% (a 100,000-rule read: -5%).
QUEUED_AHEAD: Final = 2
#: A listing that never ends is a server bug: 10,000 pages is 2M rules at 200 a page
#: (the benchmark fleet is 500 pages), and bounds the damage of a has_more that lies.
MAX_PAGES: Final = 10_000
#: connect: DNS, TCP (every address, Happy Eyeballs) and TLS together; read: each wait
#: for more of an answer; write: each wait for the socket to take the request. The
#: whole attempt has its own deadline (`DEFAULT_DEADLINE`). See the README.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
#: Read rules org-wide once the holders whose rules are wanted are at least this
#: share of the organisation's holders (numbers in 2026-06, identities in 2026-10).
#: Why: one listing per holder costs at least one request per wanted holder (w);
#: the org-wide listing costs ceil(all rules / 200), at most the per-holder cost of
#: *every* holder (n). With up to 100 rules per holder on average (typical fleets
#: have far fewer), org-wide is at most n/2 requests, so from w >= n/2 on it never
#: costs more, and with few rules per holder it costs far less. Below that share,
#: per-holder bounds the read to what the manifests name (a `--target` run reads
#: one holder, not the organisation).
ORG_WIDE_MIN_SHARE: Final = 0.5
#: ...and at least this many holders: for one both cost one request, and the
#: per-holder route also works with an agent-scoped key.
ORG_WIDE_MIN_HOLDERS: Final = 2

#: progress(done, total): rule requests done so far, out of `total`. The
#: org-wide listing does not say how many pages it has, so there `total` is
#: None (not known yet) until the last page is in, then done: a counter that
#: ends at done == total.
OnProgress = Callable[[int, int | None], None]
T = TypeVar("T")


class Row(Protocol):
    """A row of a listing, as the paging sees it: its id, for dropping duplicates."""

    @property
    def id(self) -> object: ...


R = TypeVar("R", bound=Row)


class Envelope(msgspec.Struct, Generic[R], gc=False):
    """`{"items": [...], "limit": ..., "has_more": ...}`; `limit` and `has_more` count
    only when they are a positive int and a bool (`_interpret`), so any value decodes."""

    items: list[R]
    limit: Any = None
    has_more: Any = None


#: A page as the contracts allow it: a bare list, or the envelope.
Page = list[R] | Envelope[R]


def page_shape(typed: type[R], raw: type[R]) -> Shape[Page[R]]:
    """The shape of a listing's page of `typed` rows, or of `raw` ones if any row is not
    well formed. Each version declares its rule row so: `raw` with any JSON value in
    each field (a missing one as `dict.get` would give it), checked field by field;
    `typed`, its subclass, the well-formed row that needs no check, its Literal
    fields decoded as the model's own constants."""
    return Shape(list[typed] | Envelope[typed], list[raw] | Envelope[raw], items)  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class KeyScope:
    """What `GET /api/whoami` says about the key (never the key itself)."""

    auth_type: str
    auth_subtype: str | None
    organization_id: str | None
    key_id: str | None

    @property
    def admin(self) -> bool | None:
        """True admin-scoped, False agent-scoped, None a kind this client does not know."""
        if self.auth_subtype == ADMIN_SCOPED:
            return True
        if self.auth_subtype is not None and self.auth_subtype.startswith(AGENT_SCOPED):
            return False
        return None


@dataclass(frozen=True, slots=True)
class Listings:
    """The identities and numbers listings, as the API answered them (JSON objects)."""

    identities: list[JsonObject]
    numbers: list[JsonObject]


@dataclass(frozen=True, slots=True)
class _Page(Generic[R]):
    items: list[R]
    step: int  # how far the next page's offset moves
    more: bool  # whether another page may follow
    bare: bool  # the server answered a bare list (no paging metadata)


class InkboxClient:
    """The connection to the API. Use as `async with Adapter(...) as client:`.

    `transport` is the test seam (e.g. httpx.MockTransport); `concurrency`
    bounds requests in flight across all calls on this client; `sleep`, `rng`
    and `clock` (epoch seconds) are injectable so tests run without waiting;
    `notices` collects the API's `Inkbox-Notices`.
    """

    #: A version adapter's API version and what it can express (set by each subclass).
    VERSION: ClassVar[str]
    CAPABILITIES: ClassVar[Capabilities]
    #: Listings read before this adapter was chosen (by version detection), used
    #: by its first read instead of asking again.
    _prefetched: Listings | None = None

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: _random.Random | None = None,
        clock: Callable[[], float] = time.time,
        on_request: OnRequest | None = None,
        stats: ClientStats | None = None,
        notices: NoticeBoard | None = None,
    ) -> None:
        self._t = Transport(
            base_url,
            api_key,
            transport=transport,
            concurrency=concurrency,
            timeout=timeout,
            deadline=deadline,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            rng=rng or _random.Random(),
            clock=clock,
            on_request=on_request,
            stats=stats,
            notices=notices,
        )

    @classmethod
    def sharing(cls, other: InkboxClient, prefetched: Listings | None = None) -> Self:
        """This adapter over `other`'s connection (pool, pacing, stats), which it takes over."""
        adapter = cls.__new__(cls)
        adapter._t = other._t
        adapter._prefetched = prefetched
        return adapter

    def __repr__(self) -> str:  # the key must never reach a log line or traceback
        return f"{type(self).__name__}(concurrency={self.concurrency})"

    @property
    def api_version(self) -> str:
        return self.VERSION

    @property
    def capabilities(self) -> Capabilities:
        return self.CAPABILITIES

    @classmethod
    def recognise(cls, listings: Listings) -> str | None:
        """Why `listings` come from this adapter's version, or None (see `detect`)."""
        return None

    @classmethod
    async def probe(cls, client: InkboxClient, listings: Listings) -> str | None:
        """One more read that tells, when the listings do not; None: no such read."""
        return None

    @property
    def stats(self) -> ClientStats:
        return self._t.stats

    @property
    def concurrency(self) -> int:
        return self._t.concurrency

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._t.aclose()

    # -- the key ----------------------------------------------------------------

    async def whoami(self) -> KeyScope | None:
        """The key's scope; None when the API does not answer whoami (404: an older server)."""
        try:
            data = await self._t.request("GET", WHOAMI)
        except NotFoundError:
            return None
        item = obj(data, WHOAMI)
        return KeyScope(
            auth_type=string(item, "auth_type", WHOAMI),
            auth_subtype=opt_string(item, "auth_subtype", WHOAMI),
            organization_id=opt_string(item, "organization_id", WHOAMI),
            key_id=opt_string(item, "key_id", WHOAMI),
        )

    # -- identities and numbers -------------------------------------------------

    async def listings(self) -> Listings:
        """`GET /identities/` and `GET /phone/numbers`, both at once (every version
        reads both: they cost one round trip together). Prefetched ones are used once."""
        if self._prefetched is not None:
            found, self._prefetched = self._prefetched, None
            return found
        identities_task = asyncio.ensure_future(self._t.request("GET", IDENTITIES))
        try:
            numbers = items(await self._t.request("GET", NUMBERS), NUMBERS)
            identities = items(await identities_task, IDENTITIES)
        finally:
            identities_task.cancel()
            await asyncio.gather(identities_task, return_exceptions=True)
        return Listings(identities, numbers)

    # -- rules: which listing, and paging ----------------------------------------

    async def _read_rules(
        self,
        demand: Demand,
        *,
        org_size: int,
        named: Callable[[frozenset[str], frozenset[str]], int],
        wanted: Callable[[Settled], list[str]],
        org_wide: Callable[[Callable[[], None]], Awaitable[None]],
        per_holder: Callable[[str], Awaitable[None]],
        progress: OnProgress | None,
    ) -> Settled:
        """Read the rules `demand` needs by whichever listing needs fewer requests,
        starting as soon as that is known; return the settled demand.

        `named(numbers, agents)` counts the distinct policy holders the names so
        far stand for, `wanted(settled)` lists the holders whose rules the settled
        demand reads. While the manifests load, the org-wide listing starts the
        moment the holders named so far make it the cheaper one: names only add
        up to the settled demand, so it is the listing the settled demand would
        choose (see `inkbox_sync.client.demand`). Otherwise the choice waits for
        the settled demand (`_read_rule_lists`).

        `org_wide(on_page)` reads every holder's rules; the caller keeps those of
        the holders `wanted` names.
        """
        early = await demand.until(
            lambda numbers, agents: _org_wide_pays(named(numbers, agents), org_size)
        )
        if early and await self._read_org_wide(org_wide, progress):
            return await demand.settled()
        settled = await demand.settled()
        holders = wanted(settled)
        await self._read_rule_lists(
            holders,
            org_size=org_size,
            org_wide=None if early else org_wide,  # early: it was refused (403)
            per_holder=per_holder,
            progress=progress,
        )
        return settled

    async def _read_rule_lists(
        self,
        holders: list[str],
        *,
        org_size: int,
        org_wide: Callable[[Callable[[], None]], Awaitable[None]] | None,
        per_holder: Callable[[str], Awaitable[None]],
        progress: OnProgress | None,
    ) -> None:
        """Read the rules of `holders` by whichever listing needs fewer requests.

        `org_wide(on_page)` reads the whole organisation's rules (admin-only: on 403
        the holders are read one by one; None: not to be tried); `per_holder(holder)`
        reads one holder's. Both hand what they read to the caller's own bookkeeping.
        """
        if not holders:
            return
        if (
            org_wide is not None
            and _org_wide_pays(len(holders), org_size)
            and await self._read_org_wide(org_wide, progress)
        ):
            return
        done = 0
        if progress:
            progress(0, len(holders))

        async def one(holder: str) -> None:
            nonlocal done
            await per_holder(holder)
            done += 1
            if progress:
                progress(done, len(holders))

        await gather_all(one(holder) for holder in holders)

    @staticmethod
    async def _read_org_wide(
        org_wide: Callable[[Callable[[], None]], Awaitable[None]], progress: OnProgress | None
    ) -> bool:
        """Read the org-wide listing; False when it is refused (403: it is admin-only,
        and a narrower key may still read its holders one by one)."""
        pages = 0

        def on_page() -> None:
            nonlocal pages
            pages += 1
            if progress:
                progress(pages, None)

        try:
            await org_wide(on_page)
        except AuthError as exc:
            if exc.status != 403:
                raise
            return False
        if progress:
            progress(pages, pages)
        return True

    async def _page(
        self, path: str, params: dict[str, str], offset: int, limit: int, shape: Shape[Page[R]]
    ) -> _Page[R]:
        query = {**params, "limit": str(limit), "offset": str(offset)}
        page = await self._t.request("GET", path, params=query, decode=shape.at(path))
        return _interpret(page, limit)

    async def _list_sequential(
        self,
        path: str,
        params: dict[str, str],
        first: _Page[R] | None = None,
        on_page: Callable[[], None] | None = None,
        *,
        shape: Shape[Page[R]],
    ) -> list[R]:
        """Page by offset until the server says (or a short page shows) it is done."""
        page = first or await self._page(path, params, 0, PAGE_LIMIT, shape)
        if first is None and on_page:
            on_page()
        found = list(page.items)
        seen = {item.id for item in found}
        offset = 0
        for _ in range(MAX_PAGES):
            if not page.more:
                return found
            offset += page.step
            page = await self._page(path, params, offset, page.step, shape)
            if on_page:
                on_page()
            fresh = [item for item in page.items if item.id not in seen]
            if page.bare and page.items and not fresh:
                return found  # a bare list that ignores `offset` repeats itself: done
            seen.update(item.id for item in fresh)
            found.extend(fresh)
        raise PermanentApiError(f"GET {path}: paging did not end after {MAX_PAGES} pages")

    async def _list_concurrent(
        self,
        path: str,
        params: dict[str, str],
        on_page: Callable[[], None] | None,
        take: Callable[[list[R]], None],
        *,
        shape: Shape[Page[R]],
    ) -> None:
        """Page with up to `concurrency` pages in flight; hand the items to `take`, page
        by page in offset order, duplicates (by id) and pages past the end dropped.

        Offset paging is not a snapshot: a rule created or deleted by someone
        else while the pages are read can shift later pages, so one rule may be
        missed or seen twice (duplicates are dropped by id). This is best effort
        like any paged read; a plan records what it was computed from, and apply
        re-checks it, so a concurrent edit cannot be silently undone.

        Each page is handed over as soon as the pages before it are in, so the
        caller's work on it overlaps the requests still in flight instead of
        waiting for the last one.

        The first page comes alone: it tells the real page size (the server may
        clamp `limit`) and whether there is more. Then a sliding window keeps
        speculative offsets in flight; the first page that says it is the last
        fixes the end, and pages past it are cancelled or dropped. The window
        starts at 2 and grows to twice the pages read, up to `concurrency` in
        flight plus QUEUED_AHEAD waiting for a slot (so a slot freed by an
        answer is reused at once, not after that answer is decoded and the
        window refilled). A short listing wastes at most as many requests as it
        has pages, a long one at most `concurrency + QUEUED_AHEAD - 1`, for one
        extra round trip over opening the whole window at once.
        """
        first = await self._page(path, params, 0, PAGE_LIMIT, shape)
        if on_page:
            on_page()
        if not first.more:
            take(first.items)
            return
        if first.bare or self.concurrency == 1:
            # Without paging metadata, offsets can't be trusted to be honoured:
            # only the sequential walk can tell when a bare list repeats itself.
            take(await self._list_sequential(path, params, first, on_page, shape=shape))
            return
        step = first.step
        pages: dict[int, list[R]] = {}  # read, not yet handed over
        seen: set[object] = set()
        handed = 0  # pages handed over: offsets 0 .. (handed - 1) * step

        def hand_over(page_items: list[R]) -> None:
            nonlocal handed
            fresh = []
            for item in page_items:
                key = item.id
                if key not in seen:
                    seen.add(key)
                    fresh.append(item)
            take(fresh)
            handed += 1

        hand_over(first.items)
        end: int | None = None  # offset of the last page, once a page says so
        next_offset = step
        in_flight: dict[asyncio.Task[_Page[R]], int] = {}
        try:
            while True:
                window = min(self.concurrency + QUEUED_AHEAD, 2 * (handed + len(pages)))
                while end is None and len(in_flight) < window:
                    if next_offset // step > MAX_PAGES:
                        raise PermanentApiError(
                            f"GET {path}: paging did not end after {MAX_PAGES} pages"
                        )
                    task = asyncio.ensure_future(self._page(path, params, next_offset, step, shape))
                    in_flight[task] = next_offset
                    next_offset += step
                # Only now, with the window full again, the CPU work on what came in.
                while handed * step in pages and (end is None or handed * step <= end):
                    hand_over(pages.pop(handed * step))
                if not in_flight:
                    break
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    offset = in_flight.pop(task)
                    page = task.result()  # an error ends the listing (finally cancels the rest)
                    if on_page:
                        on_page()
                    pages[offset] = page.items
                    if not page.more and (end is None or offset < end):
                        end = offset
                if end is not None:
                    for task, offset in list(in_flight.items()):
                        if offset > end:
                            task.cancel()
                            del in_flight[task]
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


def _org_wide_pays(holders: int, org_size: int) -> bool:
    """Whether reading `holders` of an organisation of `org_size` org-wide costs no more
    requests than one listing per holder (see ORG_WIDE_MIN_SHARE)."""
    return holders >= ORG_WIDE_MIN_HOLDERS and holders >= ORG_WIDE_MIN_SHARE * org_size


def _interpret(data: Page[R], requested: int) -> _Page[R]:
    if isinstance(data, list):
        # Bare list: a full page may have a successor, a short page is the last.
        return _Page(data, step=max(len(data), 1), more=len(data) >= requested, bare=True)
    found = data.items
    limit = data.limit
    has_more = data.has_more
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        step = limit  # the server's (maybe clamped) page size, even if deleted rows thinned it
    elif has_more is True and 0 < len(found) < requested:
        step = len(found)  # clamped without saying so
    else:
        step = requested
    more = has_more if isinstance(has_more, bool) else len(found) >= step
    return _Page(found, step=step, more=more, bare=False)


def by_target(rules: Iterable[LiveRule]) -> dict[str, LiveRules]:
    """Target -> its rows. The contracts allow one live row per (target, side);
    should the API ever list two, keep one deterministically per side: the
    active one (it is the one that can decide), else the smaller id."""
    rows = rules if isinstance(rules, list) else list(rules)
    common: dict[str, LiveRules] = {rule.target: rule for rule in rows if rule.direction == "both"}
    if len(common) == len(rows):
        return common  # the common case, in one pass: every row covers both sides of its own target
    out: dict[str, LiveRules] = {}
    for rule in rows:
        have = out.get(rule.target)
        if have is None and rule.direction == "both":
            out[rule.target] = rule  # the common case, kept cheap
            continue
        sides = [on_side(have, side) for side in SIDES]
        for index, side in enumerate(SIDES):
            if rule.direction != "both" and rule.direction != side:
                continue
            old = sides[index]
            if old is None or (rule.status == "active", old.id) > (old.status == "active", rule.id):
                sides[index] = rule
        # A row that lost one of its sides to another row keeps only the other.
        entry = entry_of(sides[0], sides[1])
        if entry is not None:
            out[rule.target] = entry
    return out


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Run all at once; on the first failure cancel the rest and raise that failure.

    (asyncio.gather leaves siblings running; a TaskGroup would wrap the error
    in an ExceptionGroup, which the CLI's error mapping would not recognise.)
    """
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
