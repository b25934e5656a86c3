"""The sandbox's knobs for misbehaving like a real service: failures and rate limits.

Both are thread-safe and cheap (one short lock each); latency is a plain sleep
in the server, outside every lock, so slow requests overlap as they would on
the real service.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

Fault = Literal["before_commit", "after_commit"]

DEFAULT_RATE_LIMIT: Final = 10_000
_MAX_TRACKED_KEYS: Final = 10_000


class FaultInjector:
    """Decides, from one seeded random stream, which requests get a 500.

    One draw `r` per request: `r < fail_rate` fails it. For writes, the lower
    half of that range (`r < fail_rate / 2`) fails *after* the write is
    committed and persisted, so half the failed writes did happen and the
    client cannot tell which: exactly the ambiguity a retrying client must
    survive. With a fixed seed the sequence of decisions is reproducible
    (requests sent one at a time get the same outcomes on every run).
    """

    def __init__(self, fail_rate: float = 0.0, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(fail_rate, seed)

    def configure(self, fail_rate: float, seed: int | None) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        with self._lock:
            self.fail_rate = fail_rate
            self.seed = seed
            self._rng = random.Random(seed)

    def draw(self, is_write: bool) -> Fault | None:
        if self.fail_rate <= 0.0:
            return None
        with self._lock:
            r = self._rng.random()
        if r >= self.fail_rate:
            return None
        return "after_commit" if is_write and r < self.fail_rate / 2 else "before_commit"


class WriteGate:
    """A knob for crash and stop tests: once set to k, admit the next k API writes and
    hold every later one, uncommitted, until the knob is lifted; held writes are
    then refused (503) without touching state. With `refuse`, later writes are not
    held but answered 403 at once, uncommitted, as if the key lost its rights.

    A test can thus stop a client after exactly k committed writes, kill it
    while it waits on write k+1, and know that write never happened; or fail
    write k+1 and count what the client sends after that.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.limit: int | None = None
        self.refuse = False
        self.admitted = 0
        self.held = 0

    def configure(self, limit: int | None, *, refuse: bool = False) -> None:
        with self._cond:
            self.limit = limit
            self.refuse = refuse and limit is not None
            self.admitted = 0
            self._cond.notify_all()

    def refusal(self) -> tuple[int, str]:
        """Status and detail for a write `enter` turned away."""
        if self.refuse:
            return 403, "refused by the sandbox's refuse_writes_after knob, never committed"
        return 503, "held by the sandbox's hold_writes_after knob, never committed"

    def enter(self) -> bool:
        """True: go ahead with the write. False: it was refused, or held and then
        released; answer it with `refusal()`."""
        with self._cond:
            if self.limit is None:
                return True
            if self.admitted < self.limit:
                self.admitted += 1
                return True
            if self.refuse:
                return False
            self.held += 1
            try:
                while self.limit is not None:
                    self._cond.wait()
            finally:
                self.held -= 1
            return False


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """`limit` requests per key per second, in windows aligned to wall-clock seconds.

    Aligned windows make `X-RateLimit-Reset` exact: it is the Unix time (whole
    seconds) at which the current window ends and the count starts again.
    """

    def __init__(self, limit: int = DEFAULT_RATE_LIMIT, clock: Callable[[], float] = time.time):
        if limit < 1:
            raise ValueError("rate limit must be at least 1 request per second")
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window second, requests)

    def check(self, key: str) -> RateDecision:
        now = self._clock()
        window = math.floor(now)
        with self._lock:
            start, used = self._windows.get(key, (window, 0))
            if start != window:
                used = 0
            allowed = used < self.limit
            if allowed:
                used += 1
            if len(self._windows) >= _MAX_TRACKED_KEYS and key not in self._windows:
                self._windows.clear()  # only garbage keys get here; forgetting them is fine
            self._windows[key] = (window, used)
        reset = window + 1
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - used),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
        return RateDecision(allowed, headers)
