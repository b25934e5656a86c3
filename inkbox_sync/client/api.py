"""The Inkbox phone API client: the one place that knows URLs and field names.

Speaks the per-number contract of `inkbox-phone-api.md` and turns its JSON into
the core's model types. Retries, pacing, errors and redaction are the
transport's (`inkbox_sync.client.transport`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Self, TypeVar, cast

import httpx

from inkbox_sync.client.transport import (
    DEFAULT_DEADLINE,
    ClientStats,
    OnRequest,
    RetryPolicy,
    Sleep,
    Transport,
)
from inkbox_sync.errors import NotFoundError, PermanentApiError
from inkbox_sync.model import (
    ACTIONS,
    RULE_STATUSES,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    LiveNumber,
    LiveRule,
    RuleStatus,
    Side,
)
from inkbox_sync.plan import Step

API: Final = "/api/v1"
WHOAMI: Final = "/api/whoami"  # outside /api/v1, as in the SDK
ADMIN_SCOPED: Final = "api_key.admin_scoped"
AGENT_SCOPED: Final = "api_key.agent_scoped."  # .claimed, .unclaimed
#: What this contract is called in plans, and what it can express (the core asks
#: only these): one filter mode per number for both sides, rules on both sides
#: only, rule status writable, no `apply_to`.
API_VERSION: Final = "2026-06"
CAPABILITIES: Final = Capabilities(
    directional_rules=False, separate_modes=False, writable_status=True, apply_to=False
)
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
NUMBER_FIELDS: Final = frozenset(
    {"incoming_call_action", "client_websocket_url", "incoming_call_webhook_url", "filter_mode"}
)

JsonObject = dict[str, object]
_S = TypeVar("_S", bound=str)


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
class _Page:
    items: list[JsonObject]
    step: int  # how far the next page's offset moves
    more: bool  # whether another page may follow
    bare: bool  # the server answered a bare list (no paging metadata)


class InkboxClient:
    """Async client for the phone API. Use as `async with InkboxClient(...) as client:`.

    `transport` is the test seam (e.g. httpx.MockTransport); `concurrency`
    bounds requests in flight across all calls on this client; `sleep`, `rng`
    and `clock` (epoch seconds) are injectable so tests run without waiting.
    """

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
        )

    def __repr__(self) -> str:  # the key must never reach a log line or traceback
        return f"InkboxClient(concurrency={self.concurrency})"

    @property
    def stats(self) -> ClientStats:
        return self._t.stats

    @property
    def api_version(self) -> str:
        return API_VERSION

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

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
        item = _obj(data, WHOAMI)
        return KeyScope(
            auth_type=_str(item, "auth_type", WHOAMI),
            auth_subtype=_opt_str(item, "auth_subtype", WHOAMI),
            organization_id=_opt_str(item, "organization_id", WHOAMI),
            key_id=_opt_str(item, "key_id", WHOAMI),
        )

    @staticmethod
    def needs_admin(step: Step) -> bool:
        """Whether this contract lets only an admin-scoped key make the write: setting
        the filter mode, and a rule's PATCH or DELETE. Routing and creating a rule are
        open to an agent-scoped key."""
        if step.kind == "set_modes":
            return True
        return step.kind in ("update_rule", "delete_rule")

    # -- identities and numbers -------------------------------------------------

    async def list_identities(self) -> dict[str, str]:
        """Identity id -> agent_handle, for every agent identity of the organisation."""
        path = f"{API}/identities/"
        out: dict[str, str] = {}
        for item in _items(await self._t.request("GET", path), path):
            out[_str(item, "id", path)] = _str(item, "agent_handle", path)
        return out

    async def list_numbers(self) -> list[LiveNumber]:
        """Every number of the organisation, rules not read (`rules=None`)."""
        path = f"{API}/phone/numbers"
        return [_number(item, path) for item in _items(await self._t.request("GET", path), path)]

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> LiveNumber:
        """PATCH the given fields only (None clears a URL); returns the updated number."""
        unknown = set(fields) - NUMBER_FIELDS
        if unknown:
            raise ValueError(f"not a number field: {', '.join(sorted(unknown))}")
        path = f"{API}/phone/numbers/{number_id}"
        return _number(_obj(await self._t.request("PATCH", path, json=dict(fields)), path), path)

    async def set_modes(self, number_id: str, modes: Mapping[Side, FilterMode]) -> LiveNumber:
        """Set the number's filter mode: one mode for both sides in this contract."""
        values = set(modes.values())
        if len(modes) != 2 or len(values) != 1:
            raise ValueError("this API sets one filter_mode for both sides")
        return await self.patch_number(number_id, {"filter_mode": values.pop()})

    # -- contact rules ----------------------------------------------------------

    async def list_number_rules(self, number_id: str) -> list[LiveRule]:
        """The number's non-deleted exact-number rules, all pages, in server order."""
        path = f"{API}/phone/numbers/{number_id}/contact-rules"
        items = await self._list_sequential(path, {})
        return [rule for _, rule in _rules(items, path)]

    async def list_org_rules(
        self,
        phone_number_id: str | None = None,
        *,
        on_page: Callable[[], None] | None = None,
    ) -> dict[str, list[LiveRule]]:
        """Number id -> its non-deleted rules, from the org-wide listing (admin-only).

        Pages after the first are fetched concurrently (see `_list_concurrent`).
        Offset paging is not a snapshot: a rule created or deleted by someone
        else while the pages are read can shift later pages, so one rule may be
        missed or seen twice (duplicates are dropped by id). This is best
        effort like any paged read; a plan records what it was computed from,
        and apply re-checks it, so a concurrent edit cannot be silently undone.
        """
        path = f"{API}/phone/contact-rules"
        params = {"phone_number_id": phone_number_id} if phone_number_id else {}
        out: dict[str, list[LiveRule]] = {}

        def take(items: list[JsonObject]) -> None:
            for number_id, rule in _rules(items, path):
                if number_id is None:
                    raise _malformed(path, f"rule {rule.id} has no phone_number_id")
                out.setdefault(number_id, []).append(rule)

        await self._list_concurrent(path, params, on_page, take)
        return out

    async def get_rule(self, number_id: str, rule_id: str) -> LiveRule:
        """One rule; NotFoundError if it is unknown or deleted."""
        path = f"{API}/phone/numbers/{number_id}/contact-rules/{rule_id}"
        found = list(_rules([_obj(await self._t.request("GET", path), path)], path))
        if not found:
            raise NotFoundError(f"GET {path}: rule is deleted", status=404)
        return found[0][1]

    async def create_rule(
        self, number_id: str, *, action: Action, target: str, direction: Direction = "both"
    ) -> LiveRule:
        """Create an active exact-number rule (on both sides: this contract has no directions).

        Raises ConflictError (with `existing_rule_id`) on 409: a non-deleted rule
        already holds the target's slot. Because a create that failed
        ambiguously (5xx, timeout, lost connection) is retried, that rule may be
        the one an earlier attempt of this very call committed. The caller
        (apply) adopts `existing_rule_id`; `get_rule` tells it the rule's
        action and status if it must be sure.
        """
        if direction != "both":
            raise ValueError("this API has no one-way rules")
        path = f"{API}/phone/numbers/{number_id}/contact-rules"
        body = {"action": action, "match_type": "exact_number", "match_target": target}
        return _one_rule(await self._t.request("POST", path, json=body), path)

    async def update_rule(
        self,
        number_id: str,
        rule_id: str,
        *,
        action: Action | None = None,
        status: RuleStatus | None = None,
        direction: Direction | None = None,
        apply_to: Side | None = None,
    ) -> LiveRule:
        """PATCH only the given fields of a rule (admin-only)."""
        if direction is not None or apply_to is not None:
            raise ValueError("this API has no rule directions")
        body: JsonObject = {}
        if action is not None:
            body["action"] = action
        if status is not None:
            body["status"] = status
        if not body:
            raise ValueError("update_rule needs an action or a status")
        path = f"{API}/phone/numbers/{number_id}/contact-rules/{rule_id}"
        return _one_rule(await self._t.request("PATCH", path, json=body), path)

    async def delete_rule(self, number_id: str, rule_id: str) -> None:
        """Delete a rule. Already gone (404) counts as done: a retried DELETE may
        find that its first, unanswered attempt succeeded."""
        path = f"{API}/phone/numbers/{number_id}/contact-rules/{rule_id}"
        with contextlib.suppress(NotFoundError):
            await self._t.request("DELETE", path)

    # -- paging -----------------------------------------------------------------

    async def _page(self, path: str, params: Mapping[str, str], offset: int, limit: int) -> _Page:
        query = {**params, "limit": str(limit), "offset": str(offset)}
        return _interpret(await self._t.request("GET", path, params=query), limit, path)

    async def _list_sequential(
        self,
        path: str,
        params: Mapping[str, str],
        first: _Page | None = None,
        on_page: Callable[[], None] | None = None,
    ) -> list[JsonObject]:
        """Page by offset until the server says (or a short page shows) it is done."""
        page = first or await self._page(path, params, 0, PAGE_LIMIT)
        if first is None and on_page:
            on_page()
        items = list(page.items)
        seen = {item.get("id") for item in items}
        offset = 0
        for _ in range(MAX_PAGES):
            if not page.more:
                return items
            offset += page.step
            page = await self._page(path, params, offset, page.step)
            if on_page:
                on_page()
            fresh = [item for item in page.items if item.get("id") not in seen]
            if page.bare and page.items and not fresh:
                return items  # a bare list that ignores `offset` repeats itself: done
            seen.update(item.get("id") for item in fresh)
            items.extend(fresh)
        raise PermanentApiError(f"GET {path}: paging did not end after {MAX_PAGES} pages")

    async def _list_concurrent(
        self,
        path: str,
        params: Mapping[str, str],
        on_page: Callable[[], None] | None,
        take: Callable[[list[JsonObject]], None],
    ) -> None:
        """Page with up to `concurrency` pages in flight; hand the items to `take`, page
        by page in offset order, duplicates (by id) and pages past the end dropped.

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
        first = await self._page(path, params, 0, PAGE_LIMIT)
        if on_page:
            on_page()
        if not first.more:
            take(first.items)
            return
        if first.bare or self.concurrency == 1:
            # Without paging metadata, offsets can't be trusted to be honoured:
            # only the sequential walk can tell when a bare list repeats itself.
            take(await self._list_sequential(path, params, first, on_page))
            return
        step = first.step
        pages: dict[int, list[JsonObject]] = {}  # read, not yet handed over
        seen: set[object] = set()
        handed = 0  # pages handed over: offsets 0 .. (handed - 1) * step

        def hand_over(items: list[JsonObject]) -> None:
            nonlocal handed
            fresh = []
            for item in items:
                key = item.get("id")
                if key not in seen:
                    seen.add(key)
                    fresh.append(item)
            take(fresh)
            handed += 1

        hand_over(first.items)
        end: int | None = None  # offset of the last page, once a page says so
        next_offset = step
        in_flight: dict[asyncio.Task[_Page], int] = {}
        try:
            while True:
                window = min(self.concurrency + QUEUED_AHEAD, 2 * (handed + len(pages)))
                while end is None and len(in_flight) < window:
                    if next_offset // step > MAX_PAGES:
                        raise PermanentApiError(
                            f"GET {path}: paging did not end after {MAX_PAGES} pages"
                        )
                    task = asyncio.ensure_future(self._page(path, params, next_offset, step))
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


# -- parsing: JSON shapes of the contract -> model types --------------------------


def _malformed(path: str, why: str) -> PermanentApiError:
    return PermanentApiError(f"GET {path}: unexpected answer from the API: {why}")


def _obj(data: object, path: str) -> JsonObject:
    if not isinstance(data, dict):
        raise _malformed(path, f"expected an object, got {type(data).__name__}")
    return cast(JsonObject, data)


def _items(data: object, path: str) -> list[JsonObject]:
    """A bare list or an `{"items": [...]}` envelope, as the contract allows."""
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise _malformed(path, "expected a list or {'items': [...]}")
    if all(isinstance(item, dict) for item in data):
        return cast(list[JsonObject], data)
    return [_obj(item, path) for item in data]  # raises, naming what is not an object


def _interpret(data: object, requested: int, path: str) -> _Page:
    items = _items(data, path)
    if not isinstance(data, dict):
        # Bare list: a full page may have a successor, a short page is the last.
        return _Page(items, step=max(len(items), 1), more=len(items) >= requested, bare=True)
    limit = data.get("limit")
    has_more = data.get("has_more")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        step = limit  # the server's (maybe clamped) page size, even if deleted rows thinned it
    elif has_more is True and 0 < len(items) < requested:
        step = len(items)  # clamped without saying so
    else:
        step = requested
    more = has_more if isinstance(has_more, bool) else len(items) >= step
    return _Page(items, step=step, more=more, bare=False)


def _str(item: JsonObject, key: str, path: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _malformed(path, f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def _opt_str(item: JsonObject, key: str, path: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(path, f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def _choice(item: JsonObject, key: str, allowed: tuple[_S, ...], path: str) -> _S:
    value = item.get(key)
    for choice in allowed:
        if value == choice:
            return choice
    raise _malformed(path, f"field {key!r} is {value!r}, expected one of {allowed}")


def _number(item: JsonObject, path: str) -> LiveNumber:
    """A number; its one filter_mode is both sides' mode. Values this tool does
    not know (a newer call action or mode) are carried as they are."""
    item = dict(item)
    item.setdefault("filter_mode", "blacklist")  # the SDK's default for older servers
    item.setdefault("incoming_call_action", "auto_reject")  # the contract's default
    filter_mode = _str(item, "filter_mode", path)
    return LiveNumber(
        id=_str(item, "id", path),
        number=_str(item, "number", path),
        incoming_call_action=_str(item, "incoming_call_action", path),
        client_websocket_url=_opt_str(item, "client_websocket_url", path),
        incoming_call_webhook_url=_opt_str(item, "incoming_call_webhook_url", path),
        inbound_filter_mode=filter_mode,
        outbound_filter_mode=filter_mode,
        agent_identity_id=_opt_str(item, "agent_identity_id", path),
    )


def _rules(items: list[JsonObject], path: str) -> Iterator[tuple[str | None, LiveRule]]:
    """(phone_number_id, rule) for each live exact-number rule; deleted ones skipped.

    This runs once per rule of the fleet (100,000s), so the well-formed case is
    checked inline; anything else goes through `_checked_rule`, which says
    what is wrong. Action and status become the model's own constants, so the
    decoded JSON strings are freed.
    """
    for item in items:
        status = item.get("status")
        if status == "deleted":
            continue
        if item.get("match_type", "exact_number") != "exact_number":
            continue  # no other match type exists in this contract; never manage one
        rule_id = item.get("id")
        target = item.get("match_target")
        number_id = item.get("phone_number_id")
        raw_action = item.get("action")
        action: Action | None = (
            "allow" if raw_action == "allow" else "block" if raw_action == "block" else None
        )
        rule_status: RuleStatus | None = (
            "active" if status == "active" else "paused" if status == "paused" else None
        )
        if (
            action is None
            or rule_status is None
            or type(rule_id) is not str
            or type(target) is not str
            or (number_id is not None and type(number_id) is not str)
        ):
            yield _checked_rule(item, path)
            continue
        yield number_id, LiveRule(rule_id, target, action, rule_status)


def _checked_rule(item: JsonObject, path: str) -> tuple[str | None, LiveRule]:
    """`_rules` for one item, field by field: raises on the first malformed one."""
    action: Action = _choice(item, "action", ACTIONS, path)
    status: RuleStatus = _choice(item, "status", RULE_STATUSES, path)
    rule = LiveRule(
        id=_str(item, "id", path),
        target=_str(item, "match_target", path),
        action=action,
        status=status,
    )
    return _opt_str(item, "phone_number_id", path), rule


def _one_rule(data: object, path: str) -> LiveRule:
    found = list(_rules([_obj(data, path)], path))
    if not found:
        raise _malformed(path, "the rule in the answer is deleted or not an exact-number rule")
    return found[0][1]
