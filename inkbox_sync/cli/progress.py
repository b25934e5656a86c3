"""How far a long read or apply has got, as a person following it sees it.

On a terminal (stderr), one live line at the bottom, redrawn a few times a
second: done/total, the rate, elapsed time, the ETA, and "waiting on the rate
limit" while the client is pacing itself or honouring a Retry-After. Without a
terminal (a CI log), the same text as a plain line every `LOG_INTERVAL` seconds
at most, and none at all for a run shorter than that; there "waiting on the
rate limit" means that some send waited for it since the line before. The ticker is a daemon
thread, so the line also moves while nothing completes (a long Retry-After);
every line goes through `output`, which keeps the live line below what else is
printed.

Why not rich: this is one line of text and a timer; rich would add a
dependency and its import time to every command, and would need every other
line printed through its console instead of the redaction layer's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Final

from inkbox_sync.cli import output
from inkbox_sync.client import ClientStats

#: Seconds between redraws of the live line on a terminal.
DRAW_INTERVAL: Final = 0.2
#: Seconds between progress lines without a terminal: "every few seconds at most".
LOG_INTERVAL: Final = 5.0
#: The rate (and so the ETA) is measured over about this many recent seconds,
#: so it follows a run that slows down (a rate limit) or speeds up.
RATE_WINDOW: Final = 10.0


class Progress:
    """One long phase, counted in `unit`s. Use as a context manager; feed it with
    `update(done, total)` (it is also that callback: `progress(done, total)`) or
    `advance()`. A total of None means "not known yet" (a listing that does not
    say how many pages it has): then there is no percentage and no ETA.

    `stats` are the client's: they tell when sends wait on the rate limit.
    `terminal` defaults to whether stderr is one.
    """

    def __init__(
        self,
        label: str,
        unit: str,
        *,
        total: int | None = None,
        stats: ClientStats | None = None,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.done = 0
        self._stats = stats
        self._waits_seen = stats.paced_waits if stats is not None else 0
        self._terminal = output.is_terminal(err=True) if terminal is None else terminal
        self._clock = clock
        self._started = clock()
        self._samples: deque[tuple[float, int]] = deque([(self._started, 0)])
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- feeding it ------------------------------------------------------------------

    def update(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total

    __call__ = update

    def advance(self, count: int = 1) -> None:
        self.done += count

    # -- the ticker ------------------------------------------------------------------

    def __enter__(self) -> Progress:
        self._started = self._clock()
        self._samples = deque([(self._started, self.done)])
        self._ticker = threading.Thread(target=self._tick, name="inkbox-progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._terminal:
            output.live(None)

    def _tick(self) -> None:
        interval = DRAW_INTERVAL if self._terminal else LOG_INTERVAL
        while not self._stop.wait(interval):
            if self._terminal:
                output.live(self.line())
            else:
                output.say(self.line(), err=True)

    # -- what it says ----------------------------------------------------------------

    def _waited(self) -> bool:
        """On a terminal: a send waits on the rate limit now. In a log: one waited
        since the line before (a line every few seconds would miss most waits)."""
        stats = self._stats
        if stats is None:
            return False
        if self._terminal:
            return stats.waiting > 0
        before, self._waits_seen = self._waits_seen, stats.paced_waits
        return stats.waiting > 0 or stats.paced_waits > before

    def elapsed(self) -> float:
        return self._clock() - self._started

    def rate(self) -> float | None:
        """Units a second over the last RATE_WINDOW seconds (None: too early to say)."""
        now = self._clock()
        samples = self._samples
        samples.append((now, self.done))
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW:
            samples.popleft()
        then, done_then = samples[0]
        if now - then < 0.5:
            return None
        return (self.done - done_then) / (now - then)

    def line(self) -> str:
        """`applying: 3436/10000 writes (34%), 412/s, 0:08 elapsed, ETA 0:16`."""
        total = self.total
        if total:
            count = f"{self.done}/{total} {self.unit} ({100 * self.done // total}%)"
        else:
            count = f"{self.done} {self.unit}"
        parts = [f"{self.label}: {count}"]
        rate = self.rate()
        if rate is not None:
            parts.append(f"{rate:.0f}/s")
        parts.append(f"{clock_time(self.elapsed())} elapsed")
        if self._waited():
            parts.append("waiting on the rate limit")
        elif total and rate and self.done < total:
            parts.append(f"ETA {clock_time((total - self.done) / rate)}")
        return ", ".join(parts)


def clock_time(seconds: float) -> str:
    """`0:08`, `12:30`, `1:02:03`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
