"""Loading the manifests in a forked child process, on a core of its own.

`plan` and `apply` read live state while the manifests load. In one process
the two share the GIL, and at 100,000 rules both are CPU work of about a
second: run in a thread, the loading slowed the pages the event loop could
take in from ~380 to ~270-360 a second, and the reads from it. A child
process loads on the other core instead. It
tells the parent each file's holders as it names them (so the reads can choose
their listing early), then hands over the result (`manifest.handoff`) or the
ManifestError, through a pipe.

The child is forked, so it needs no re-import and sees the same environment,
and only from a process with one thread (forking beside other threads can
leave their locks held in the child forever), on Linux (macOS forks badly
under some system libraries); elsewhere `ChildLoad.start` returns None and
the caller loads in a thread as before. The child ignores SIGINT and SIGTERM:
they are the parent's to handle, and the parent ends the child (SIGKILL)
whenever it stops waiting for it (`close`). A Ctrl-C while the manifests load
ends the command once the load is in, as with a loading thread (a second one
at once: the child is killed on the way out).
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Final

from inkbox_sync.errors import Diagnostic, ManifestError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.files import OnNamed
from inkbox_sync.model import DesiredState
from inkbox_sync.phases import Phases

__all__ = ["ChildLoad", "LoaderCrashed", "loading"]

_HEADER: Final = struct.Struct("!cQ")  # kind, payload length
_NAMES: Final = b"N"  # marshal (numbers, agents)
_STATE: Final = b"S"  # one of handoff.encode's chunks of the DesiredState
_DONE: Final = b"D"  # (empty) the last chunk is in
_INVALID: Final = b"M"  # marshal of the ManifestError's diagnostics, as tuples
_CRASHED: Final = b"C"  # any other exception: its traceback, as UTF-8
_LEFT_TO_THE_PARENT: Final = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def loading(
    paths: Sequence[Path | str],
    loaded: DesiredState | None = None,
    phases: Phases | None = None,
) -> Iterator[Callable[[OnNamed | None], DesiredState]]:
    """Start loading the manifests at `paths` now; yields `load(on_named)`, which
    waits for the result (the workflow's Loader). In a child process where one
    can be forked (call this before any thread starts), else in the caller's
    thread when `load` is called. `loaded`: already loaded, `load` returns it.
    `phases`: the "manifests" phase starts at the fork. Leaving the block ends
    a child that is still loading."""
    forked = time.perf_counter()
    child = ChildLoad.start(paths) if loaded is None and paths else None
    if child is not None and phases is not None:
        phases.mark("manifests", forked, forked)  # the loader's own span extends it

    def load(on_named: OnNamed | None) -> DesiredState:
        if loaded is not None:
            return loaded
        if child is not None:
            return child.result(on_named)
        from inkbox_sync.manifest.loader import load_manifests

        return load_manifests(paths, on_named=on_named)

    try:
        yield load
    finally:
        if child is not None:
            child.close()


class LoaderCrashed(RuntimeError):
    """The loading child raised something other than a ManifestError (a bug), or
    ended without a word (it was killed): not an error raised on purpose, so the
    CLI shows it as a bug, with the child's traceback."""


class ChildLoad:
    """One manifest load running in a forked child; `result` waits for it."""

    def __init__(self, pid: int, pipe: IO[bytes]) -> None:
        self._pid = pid
        self._pipe = pipe
        self._reaped = False
        self._status = 0
        # `close` may come from the main thread (the command ending, on a second
        # Ctrl-C say) while `result` reads in a worker thread, which closes too.
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls, paths: Sequence[Path | str], env: Mapping[str, str] | None = None
    ) -> ChildLoad | None:
        """Fork a child that loads `paths` now; None where that is not safe here (or
        the fork fails: then the caller loads in a thread)."""
        if sys.platform != "linux" or threading.active_count() != 1:
            return None
        read_end, write_end = os.pipe()
        # Held back over the fork, so that a Ctrl-C cannot reach the child before it
        # ignores them (it would unwind through a copy of the CLI); the parent's
        # arrive when the mask is restored.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _LEFT_TO_THE_PARENT)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:
            # The child: load, hand over, and leave without running the parent's exits.
            # It never collects garbage: all it builds is handed over, then it exits.
            code = 1
            try:
                for signum in _LEFT_TO_THE_PARENT:
                    signal.signal(signum, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                gc.disable()
                os.close(read_end)
                with os.fdopen(write_end, "wb") as out:
                    _load_and_send(paths, env, out)
                code = 0
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb"))

    def result(self, on_named: OnNamed | None = None) -> DesiredState:
        """The desired state the child loaded, telling `on_named` the holders it names
        meanwhile. Raises the load's ManifestError, or LoaderCrashed."""
        from inkbox_sync.manifest.handoff import Decoder

        decoder = Decoder()
        # ~200,000 objects are built here: a collection meanwhile would walk them all
        try:
            with gc_paused():
                for kind, payload in self._frames():
                    if kind == _NAMES:
                        if on_named is not None:
                            numbers, agents = marshal.loads(payload)
                            on_named(numbers, agents)
                    elif kind == _STATE:
                        decoder.add(payload)
                    elif kind == _DONE:
                        return decoder.state()
                    elif kind == _INVALID:
                        raise ManifestError([Diagnostic(*d) for d in marshal.loads(payload)])
                    else:
                        raise LoaderCrashed(
                            "the manifest loader failed:\n" + payload.decode("utf-8", "replace")
                        )
                raise LoaderCrashed(f"the manifest loader ended early ({self._exit_status()})")
        finally:
            self.close()

    def _frames(self) -> Iterator[tuple[bytes, bytes]]:
        """(kind, payload) of each whole frame the child wrote, until the pipe ends."""
        while True:
            header = self._pipe.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            kind, size = _HEADER.unpack(header)
            payload = self._pipe.read(size)
            if len(payload) < size:
                return
            yield kind, payload

    def close(self) -> None:
        """End the child (if it still runs) and reap it; idempotent, from any thread.
        The child is killed first: a `result` blocked reading the pipe then sees its
        end at once, and returns (raising LoaderCrashed) instead of holding on."""
        with self._lock:
            if not self._reaped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
                self._reap()
        with contextlib.suppress(OSError, ValueError):
            self._pipe.close()

    def _exit_status(self) -> str:
        with self._lock:
            if not self._reaped:
                self._reap()
        if os.WIFSIGNALED(self._status):
            return f"killed by signal {os.WTERMSIG(self._status)}"
        return f"exit status {os.waitstatus_to_exitcode(self._status)}"

    def _reap(self) -> None:
        _, self._status = os.waitpid(self._pid, 0)
        self._reaped = True


def _load_and_send(
    paths: Sequence[Path | str], env: Mapping[str, str] | None, out: IO[bytes]
) -> None:
    """The child's whole job. Everything it has to say goes down the pipe."""
    from inkbox_sync.manifest.files import read_manifests
    from inkbox_sync.manifest.skim import skim_texts

    def send(kind: bytes, payload: bytes) -> None:
        out.write(_HEADER.pack(kind, len(payload)))
        out.write(payload)
        out.flush()

    def named(numbers: Iterable[str], agents: Iterable[str]) -> None:
        send(_NAMES, marshal.dumps((list(numbers), list(agents))))

    try:
        # Skimming first, before PyYAML is even imported: the names are what the
        # reads wait for. Composing names the files skimming could not.
        read, problems = read_manifests(paths)
        unnamed = skim_texts(read, named)
        from inkbox_sync.manifest import handoff
        from inkbox_sync.manifest.loader import load_read

        loaded = load_read(read, problems, env, on_named=named, unnamed=unnamed)
        for chunk in handoff.encode(loaded.state):
            send(_STATE, chunk)
        send(_DONE, b"")
    except ManifestError as exc:
        send(
            _INVALID,
            marshal.dumps([(d.file, d.line, d.column, d.message) for d in exc.diagnostics]),
        )
    except BaseException:  # a bug: the parent shows it with this traceback
        send(_CRASHED, traceback.format_exc().encode("utf-8", "replace"))
