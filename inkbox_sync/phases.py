"""Where a command's time went: named spans, in seconds since the process began.

`-v` prints them as one line (`Phases.line`), which `benchmarks/fleet.py`
reads to break a plan's wall time down: imports, loading the manifests,
reading live state (which overlaps the loading), planning, output, writes.

"Began" is when this module was first imported: the console script's entry
module imports it before anything else, so only the interpreter's own
start-up comes before it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ["STARTED", "Phases"]

#: perf_counter() when the process began, as near as Python can see it.
STARTED = time.perf_counter()


class Phases:
    """Named spans (start, end) since STARTED; spans may overlap and come from any
    thread. A name given twice keeps its first start and its last end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: dict[str, tuple[float, float]] = {}

    def mark(self, name: str, start: float, end: float) -> None:
        """Record `name` from `start` to `end` (perf_counter() values)."""
        with self._lock:
            had = self._spans.get(name)
            if had is not None:
                start = min(start, had[0] + STARTED)
            self._spans[name] = (start - STARTED, end - STARTED)

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Record the time inside the block as `name` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.mark(name, start, time.perf_counter())

    def since_start(self, name: str) -> None:
        """Record `name` from the start of the process until now (the imports)."""
        self.mark(name, STARTED, time.perf_counter())

    def line(self) -> str:
        """`phases: imports 0.000-0.182, manifests 0.182-0.801, ...`, by start."""
        with self._lock:
            spans = sorted(self._spans.items(), key=lambda item: item[1])
        shown = ", ".join(f"{name} {start:.3f}-{end:.3f}" for name, (start, end) in spans)
        return f"phases: {shown}"
