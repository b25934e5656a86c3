"""Work on part of a load in a forked child process, on the machine's other core.

Composing YAML is most of the cost of loading a fleet's manifests (about
0.4 s of 0.75 s for 100,000 rules) and it holds the GIL, so a thread cannot
share it out. A child forked before anything else runs composes the later
files while this process composes the first ones; the child streams notes
as it goes (which holders a file names, so the reads can start sooner) and
hands its results back pickled at the end.

Only where fork is sound and cheap: Linux, a process with one thread (the
caller forks before it starts any: forking a threaded process may deadlock
the child), and when there is enough to share out. Anything that goes wrong
with the child (it dies, its answer does not arrive or does not unpickle) is
not an error: the caller does that work itself, and the result is the same.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["Forked"]

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("!Q")  # each message: its pickle's length, then the pickle


class Forked(Generic[T, R]):
    """`work(item, note)` for each of `items`, in a forked child, started at once.

    `note(message)` sends `message` to the parent as it happens (`listen`);
    `results()` waits for the child and gives each item's result in order, or
    None when the child did not deliver (the caller then does the work).
    """

    def __init__(self, pid: int, reader: int) -> None:
        self._pid = pid
        self._file = os.fdopen(reader, "rb")
        self._notes: list[object] = []
        self._results: list[R] | None = None
        self._listener: Callable[[Any], None] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._receive, name="forked-load", daemon=True)
        self._thread.start()

    @classmethod
    def start(
        cls, items: Sequence[T], work: Callable[[T, Callable[[Any], None]], R]
    ) -> Forked[T, R] | None:
        """Fork a child doing `work` over `items`; None where that is not sound here."""
        if not (sys.platform.startswith("linux") and hasattr(os, "fork")):
            return None
        if threading.active_count() != 1 or (os.cpu_count() or 1) < 2:
            return None
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into the caller's code
            status = 1
            try:
                os.close(reader)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it, quietly
                with os.fdopen(writer, "wb") as out:
                    _child(out, items, work)
                status = 0
            finally:
                os._exit(status)
        os.close(writer)
        return cls(pid, reader)

    def listen(self, on_note: Callable[[Any], None]) -> None:
        """Pass every note, those already in and those to come, to `on_note` (called
        from a thread of this class's own)."""
        with self._lock:
            self._listener = on_note
            waiting, self._notes = self._notes, []
        for note in waiting:
            on_note(note)

    def results(self) -> list[R] | None:
        """Each item's result, once the child is done; None if it did not deliver."""
        self._thread.join()
        self._reap()
        return self._results

    def close(self) -> None:
        """Stop the child if it still runs (the caller gave up on the load)."""
        if self._pid:  # (0 once reaped: os.kill(0, ...) would signal our whole group)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._thread.join()
        self._reap()

    def _reap(self) -> None:
        if self._pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def _receive(self) -> None:
        try:
            with self._file:
                while True:
                    message = _read(self._file)
                    if message is None:
                        return
                    kind, body = message
                    if kind == "results":
                        self._results = body
                        continue
                    with self._lock:
                        listener = self._listener
                        if listener is None:
                            self._notes.append(body)
                    if listener is not None:
                        listener(body)
        except Exception:
            self._results = None


def _child(out: Any, items: Sequence[T], work: Callable[[T, Callable[[Any], None]], R]) -> None:
    def send(kind: str, body: object) -> None:
        data = pickle.dumps((kind, body), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()

    results = [work(item, lambda note: send("note", note)) for item in items]
    send("results", results)


def _read(file: Any) -> tuple[str, Any] | None:
    header = file.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = file.read(size)
    if len(data) < size:
        return None
    message: tuple[str, Any] = pickle.loads(data)
    return message
