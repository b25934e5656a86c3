"""Control endpoints under `/_sandbox/`, for tests and demos; not part of the API.

They need no API key, get no latency, failures or rate limiting, and are not
recorded in the request log (reading the log must not change it).

    GET    /_sandbox/state      the state document
    PUT    /_sandbox/state      replace it (checked like --state, an older version's document
                                 migrated; answers the stored form)
    GET    /_sandbox/requests   the request log
    DELETE /_sandbox/requests   clear it
    GET    /_sandbox/faults     {"latency_ms", "fail_rate", "seed", "rate_limit",
                                 "hold_writes_after", "refuse_writes_after", "held"}
    PATCH  /_sandbox/faults     change any of them while running; `hold_writes_after: k`
                                 admits k more API writes and holds later ones
                                 uncommitted until set back to null (then 503);
                                 `refuse_writes_after: k` answers later ones 403 at once
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from inkbox_sync.sandbox.app import Request, Response
from inkbox_sync.sandbox.document import Document, DocumentError
from inkbox_sync.sandbox.faults import FaultInjector, RateLimiter, WriteGate
from inkbox_sync.sandbox.reqlog import RequestLog
from inkbox_sync.sandbox.store import Store
from inkbox_sync.sandbox.validation import ErrorItem, error


@dataclass(slots=True)
class Knobs:
    """The fault settings a running sandbox reads on every request."""

    latency_ms: float
    faults: FaultInjector
    limiter: RateLimiter
    gate: WriteGate = field(default_factory=WriteGate)

    def as_json(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "fail_rate": self.faults.fail_rate,
            "seed": self.faults.seed,
            "rate_limit": self.limiter.limit,
            "hold_writes_after": None if self.gate.refuse else self.gate.limit,
            "refuse_writes_after": self.gate.limit if self.gate.refuse else None,
            "held": self.gate.held,
        }


class Control:
    def __init__(
        self,
        store: Store,
        log: RequestLog,
        knobs: Knobs,
        load: Callable[[object], Document],
    ) -> None:
        """`load` checks a state document for this sandbox's API version (DocumentError)."""
        self.store = store
        self.log = log
        self.knobs = knobs
        self.load = load

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        if request.body_error is not None:
            return _invalid([error(["body", 0], request.body_error, "json_invalid")])
        if route == ("GET", "/_sandbox/state"):
            return Response(200, self.store.document())
        if route == ("PUT", "/_sandbox/state"):
            try:
                doc = self.load(request.body)
            except DocumentError as exc:
                return _invalid(exc.errors)
            self.store.replace(doc)
            return Response(200, doc)
        if route == ("GET", "/_sandbox/requests"):
            return Response(200, self.log.entries())
        if route == ("DELETE", "/_sandbox/requests"):
            self.log.clear()
            return Response(204)
        if route == ("GET", "/_sandbox/faults"):
            return Response(200, self.knobs.as_json())
        if route == ("PATCH", "/_sandbox/faults"):
            return self._patch_faults(request.body)
        return Response(404, {"detail": "Not Found"})

    def _patch_faults(self, body: object) -> Response:
        if not isinstance(body, dict):
            return _invalid([error(["body"], "Input should be an object", "dict_type")])
        errors = [
            error(["body", key], "Extra inputs are not permitted", "extra_forbidden")
            for key in body
            if key not in _KNOBS
        ]
        latency = body.get("latency_ms", self.knobs.latency_ms)
        fail_rate = body.get("fail_rate", self.knobs.faults.fail_rate)
        seed = body.get("seed", self.knobs.faults.seed)
        rate_limit = body.get("rate_limit", self.knobs.limiter.limit)
        if not _number(latency) or latency < 0:
            errors.append(
                error(["body", "latency_ms"], "Input should be a number >= 0", "value_error")
            )
        if not _number(fail_rate) or not 0 <= fail_rate <= 1:
            errors.append(
                error(["body", "fail_rate"], "Input should be between 0 and 1", "value_error")
            )
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            errors.append(error(["body", "seed"], "Input should be an integer or null", "int_type"))
        if not isinstance(rate_limit, int) or isinstance(rate_limit, bool) or rate_limit < 1:
            errors.append(
                error(["body", "rate_limit"], "Input should be an integer >= 1", "value_error")
            )
        for gate_knob in ("hold_writes_after", "refuse_writes_after"):
            limit = body.get(gate_knob)
            if limit is not None and (
                not isinstance(limit, int) or isinstance(limit, bool) or limit < 0
            ):
                errors.append(
                    error(
                        ["body", gate_knob],
                        "Input should be an integer >= 0 or null",
                        "value_error",
                    )
                )
        if "hold_writes_after" in body and "refuse_writes_after" in body:
            errors.append(
                error(
                    ["body", "refuse_writes_after"],
                    "Set either hold_writes_after or refuse_writes_after, not both",
                    "value_error",
                )
            )
        if errors:
            return _invalid(errors)
        if "hold_writes_after" in body:
            self.knobs.gate.configure(body["hold_writes_after"])
        if "refuse_writes_after" in body:
            self.knobs.gate.configure(body["refuse_writes_after"], refuse=True)
        self.knobs.latency_ms = float(latency)
        self.knobs.faults.configure(float(fail_rate), seed)
        self.knobs.limiter.limit = rate_limit
        return Response(200, self.knobs.as_json())


_KNOBS = frozenset(
    {
        "latency_ms",
        "fail_rate",
        "seed",
        "rate_limit",
        "hold_writes_after",
        "refuse_writes_after",
    }
)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _invalid(errors: list[ErrorItem]) -> Response:
    return Response(422, {"detail": errors})
