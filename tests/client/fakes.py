"""An in-memory fake of the 2026-06 phone API for httpx.MockTransport, and a fake clock."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from inkbox_sync.client import Adapter2026_06, RetryPolicy

KEY = "sk-CANARY-8c1f0e2d-do-not-print"
BASE = "https://inkbox.test"

Fault = Callable[[httpx.Request], httpx.Response | None]


class FakeTime:
    """Wall clock that only moves when the client sleeps."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def number(i: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"num-{i:04d}",
        "number": f"+1833555{i:04d}",
        "type": "local",
        "status": "active",
        "incoming_call_action": "auto_reject",
        "client_websocket_url": None,
        "incoming_call_webhook_url": None,
        "filter_mode": "blacklist",
        "agent_identity_id": f"ident-{i:04d}",
    }
    base.update(fields)
    return base


def rule(
    number_id: str, j: int, *, action: str = "allow", status: str = "active", rid: str | None = None
) -> dict[str, Any]:
    return {
        "id": rid or f"{number_id}-r{j:05d}",
        "phone_number_id": number_id,
        "action": action,
        "match_type": "exact_number",
        "match_target": f"+1415{j:07d}",
        "status": status,
    }


@dataclass
class FakeApi:
    """Speaks the contract's paths; knobs for page shapes, faults and latency."""

    numbers: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    max_limit: int = 200  # clamp `limit` to this
    envelope: bool = True  # False: bare lists
    say_limit: bool = True  # include `limit` in the envelope
    say_has_more: bool = True
    ignore_offset: bool = False  # bare-list server that returns everything every time
    org_forbidden: bool = False
    latency: float = 0.0  # real seconds, to make concurrency observable
    faults: list[Fault] = field(default_factory=list)  # consulted in order, first answer wins
    log: list[httpx.Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    @classmethod
    def fleet(cls, n_numbers: int, rules_per_number: int, **kw: Any) -> FakeApi:
        numbers = [number(i) for i in range(n_numbers)]
        rules = [rule(n["id"], j) for n in numbers for j in range(rules_per_number)]
        identities = [
            {"id": f"ident-{i:04d}", "agent_handle": f"bot-{i}"} for i in range(n_numbers)
        ]
        return cls(numbers=numbers, rules=rules, identities=identities, **kw)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.log]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            for fault in self.faults:
                answer = fault(request)
                if answer is not None:
                    return answer
            return self.route(request)
        finally:
            self.in_flight -= 1

    def route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        parts = path.partition("/api/v1/")[2].strip("/").split("/")
        if request.headers.get("x-api-key") != KEY:
            return httpx.Response(401, json={"detail": "unknown API key"})
        if parts == ["identities"] and method == "GET":
            return httpx.Response(200, json=self.identities)
        if parts == ["phone", "numbers"] and method == "GET":
            return httpx.Response(200, json=self.numbers)
        if parts == ["phone", "contact-rules"] and method == "GET":
            if self.org_forbidden:
                return httpx.Response(403, json={"detail": "admin only"})
            wanted = request.url.params.get("phone_number_id")
            rows = [r for r in self.rules if wanted in (None, r["phone_number_id"])]
            return self.page(request, rows)
        if len(parts) >= 4 and parts[:2] == ["phone", "numbers"] and parts[3] == "contact-rules":
            number_id = parts[2]
            if not any(n["id"] == number_id for n in self.numbers):
                return httpx.Response(404, json={"detail": "number not found"})
            mine = [r for r in self.rules if r["phone_number_id"] == number_id]
            if len(parts) == 4 and method == "GET":
                return self.page(request, mine)
            if len(parts) == 4 and method == "POST":
                body = json.loads(request.content)
                for r in mine:
                    if r["match_target"] == body["match_target"] and r["status"] != "deleted":
                        return httpx.Response(
                            409, json={"detail": {"existing_rule_id": r["id"], "message": "dup"}}
                        )
                new = rule(number_id, 0, action=body["action"], rid=f"new-{len(self.rules)}")
                new["match_target"] = body["match_target"]
                self.rules.append(new)
                return httpx.Response(201, json=new)
            found = [r for r in mine if r["id"] == parts[4] and r["status"] != "deleted"]
            if not found:
                return httpx.Response(404, json={"detail": "rule not found"})
            if method == "GET":
                return httpx.Response(200, json=found[0])
            if method == "PATCH":
                found[0].update(json.loads(request.content))
                return httpx.Response(200, json=found[0])
            if method == "DELETE":
                found[0]["status"] = "deleted"
                return httpx.Response(204)
        if parts[:2] == ["phone", "numbers"] and len(parts) == 3 and method == "PATCH":
            for n in self.numbers:
                if n["id"] == parts[2]:
                    n.update(json.loads(request.content))
                    return httpx.Response(200, json=n)
            return httpx.Response(404, json={"detail": "number not found"})
        return httpx.Response(404, json={"detail": f"no route {method} {path}"})

    def page(self, request: httpx.Request, rows: list[dict[str, Any]]) -> httpx.Response:
        params = request.url.params
        limit = min(int(params.get("limit", 50)), self.max_limit)
        offset = int(params.get("offset", 0))
        if self.ignore_offset:
            return httpx.Response(200, json=rows[:limit])
        # Deleted rows occupy offsets but are filtered out, as a lazy server might.
        window = rows[offset : offset + limit]
        items = [r for r in window if r["status"] != "deleted"]
        if not self.envelope:
            return httpx.Response(200, json=items)
        body: dict[str, Any] = {"items": items, "offset": offset}
        if self.say_limit:
            body["limit"] = limit
        if self.say_has_more:
            body["has_more"] = offset + limit < len(rows)
        return httpx.Response(200, json=body)


def make_client(
    api: Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]] | FakeApi,
    ft: FakeTime | None = None,
    *,
    base_url: str = BASE,
    retry: RetryPolicy | None = None,
    rng: random.Random | None = None,
    **kw: Any,
) -> Adapter2026_06:
    ft = ft or FakeTime()
    return Adapter2026_06(
        base_url,
        KEY,
        transport=httpx.MockTransport(api),
        sleep=ft.sleep,
        clock=ft.clock,
        rng=rng or random.Random(1),
        retry=retry,
        **kw,
    )


def canned_org(
    identities: list[dict[str, Any]],
    numbers: list[dict[str, Any]],
    rules: Callable[[httpx.Request], httpx.Response],
) -> httpx.MockTransport:
    """A 2026-10 organisation's listings as given; `rules` answers the org-wide rule listing."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/identities/":
            return httpx.Response(200, json=identities)
        if path == "/api/v1/phone/numbers":
            return httpx.Response(200, json=numbers)
        if path == "/api/v1/phone/contact-rules":
            return rules(request)
        return httpx.Response(404, json={"detail": f"no route {path}"})

    return httpx.MockTransport(answer)


def fail_times(n: int, answer: Callable[[httpx.Request], httpx.Response], **match: str) -> Fault:
    """A fault that answers the first `n` matching requests with `answer(request)`."""
    left = [n]

    def fault(request: httpx.Request) -> httpx.Response | None:
        if match.get("method", request.method) != request.method:
            return None
        if left[0] <= 0:
            return None
        left[0] -= 1
        return answer(request)

    return fault
