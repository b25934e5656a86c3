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

#: Two answers whose windows end this close together (seconds) describe the same
#: window: a Reset in seconds-from-now moves with each answer's arrival time.
SAME_WINDOW = 0.25


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """A header by lower-case name from any Mapping, in any case (httpx.Headers, which
    ignores case itself, answers the first lookup; a plain dict may need the scan)."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


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
    raw = _get(headers, name)
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


class RateLimitPacer:
    """Estimates how many requests the current window still allows.

    Within one window a server's Remaining only goes down, so the estimate is
    the lowest Remaining any answer reported for the current window (answers
    arrive out of order: the lowest is the most recent count), less every
    request still unanswered. Those sent after the lowest answer are not in its
    count; those sent before it usually are, but a server need not count
    requests in the order they were sent (concurrent requests overtake each
    other), so they are subtracted too: counting one twice costs at most
    `concurrency - 1` requests of a window, not counting it costs a 429 and
    its Retry-After. An answer whose window ends later starts a new window; one
    whose window ended, or ends earlier than the current one, says nothing.
    When the estimate reaches 0, sends wait until the window's Reset; once it
    passes, the estimate is forgotten until the next response reports one.

    `clock` is wall-clock seconds since the epoch (time.time), so an epoch
    Reset and an HTTP-date Retry-After compare directly against it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._sent = 0  # sequence number of the next send
        self._remaining: float | None = None
        self._reset_at: float | None = None
        self._paused_until = 0.0  # from a 429's Retry-After: everyone waits
        self._unanswered: set[int] = set()  # sends with no answer yet

    def sent(self) -> int:
        """Record a send; returns its sequence number for `observe` / `settled`."""
        seq = self._sent
        self._sent += 1
        self._unanswered.add(seq)
        return seq

    def settled(self, seq: int) -> None:
        """Send `seq` ended without an answer to observe (a transport failure)."""
        self._unanswered.discard(seq)

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
        if self._remaining - len(self._unanswered) > 0:
            return 0.0
        return self._reset_at - now

    def observe(self, seq: int, headers: Mapping[str, str]) -> None:
        """Take X-RateLimit-Remaining/Reset from the answer to send `seq`."""
        self._unanswered.discard(seq)
        remaining = _number(headers, "x-ratelimit-remaining")
        if remaining is None:
            return
        now = self._clock()
        reset = _number(headers, "x-ratelimit-reset")
        if reset is None:
            reset_at = now + DEFAULT_WINDOW
        elif reset > EPOCH_THRESHOLD:
            reset_at = reset
        else:
            reset_at = now + reset
        if reset_at <= now:
            return  # that window is over
        current = self._reset_at
        if current is None or self._remaining is None or reset_at > current + SAME_WINDOW:
            self._remaining, self._reset_at = remaining, reset_at  # a new window
        elif reset_at >= current - SAME_WINDOW:
            self._remaining = min(self._remaining, remaining)  # the same window
        # else: an answer from an earlier window, arriving late

    def pause_for(self, seconds: float) -> None:
        """A 429 said to wait: hold every send, not just the one that was refused."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
