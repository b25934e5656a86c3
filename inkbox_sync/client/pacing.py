"""Pacing by the server's rate-limit headers, so a limited run slows down instead of failing.

Pure bookkeeping over an injected clock: it never touches HTTP. The transport
asks `delay()` before each send, records the send with `sent()`, and feeds each
response's headers to `observe()`; a 429's Retry-After goes to `pause_for()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

#: A Reset value above this is a Unix time, not a number of seconds to wait:
#: 1e9 seconds is 31 years, far beyond any rate-limit window.
EPOCH_THRESHOLD = 1e9

#: When Remaining is 0 but the server gave no Reset, assume the common
#: one-second window rather than stalling for an unknown time.
DEFAULT_WINDOW = 1.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; be lenient with ones lacking it
        return None
    return max(0.0, when.timestamp() - now)


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


class RateLimitPacer:
    """Estimates how many requests the current window still allows.

    The estimate is the Remaining of the newest answered request, less the
    requests sent after it (they are in flight and not yet counted in that
    answer). Responses arriving out of order are ignored if older than the one
    already seen, so a late stale Remaining cannot raise or lower the estimate.
    When the estimate reaches 0, sends wait until the window's Reset; once it
    passes, the estimate is forgotten until the next response reports one.

    `clock` is wall-clock seconds since the epoch (time.time), so an epoch
    Reset and an HTTP-date Retry-After compare directly against it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._sent = 0  # sequence number of the next send
        self._seen_seq = -1  # newest send whose answer reported Remaining
        self._remaining: float | None = None
        self._reset_at: float | None = None
        self._paused_until = 0.0  # from a 429's Retry-After: everyone waits

    def sent(self) -> int:
        """Record a send; returns its sequence number for `observe`."""
        seq = self._sent
        self._sent += 1
        return seq

    def delay(self) -> float:
        """Seconds to wait before the next send may go (0 = go now)."""
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        if self._remaining is None or self._reset_at is None:
            return 0.0
        if now >= self._reset_at:
            # The window rolled over: the old estimate says nothing any more.
            self._remaining = None
            self._reset_at = None
            return 0.0
        in_flight_after = self._sent - (self._seen_seq + 1)
        if self._remaining - in_flight_after > 0:
            return 0.0
        return self._reset_at - now

    def observe(self, seq: int, headers: Mapping[str, str]) -> None:
        """Take X-RateLimit-Remaining/Reset from the answer to send `seq`."""
        headers = {k.lower(): v for k, v in headers.items()}  # any Mapping, any case
        remaining = _number(headers, "x-ratelimit-remaining")
        if remaining is None or seq < self._seen_seq:
            return
        now = self._clock()
        reset = _number(headers, "x-ratelimit-reset")
        self._seen_seq = seq
        self._remaining = remaining
        if reset is None:
            self._reset_at = now + DEFAULT_WINDOW
        elif reset > EPOCH_THRESHOLD:
            self._reset_at = reset
        else:
            self._reset_at = now + reset

    def pause_for(self, seconds: float) -> None:
        """A 429 said to wait: hold every send, not just the one that was refused."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
