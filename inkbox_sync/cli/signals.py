"""SIGINT and SIGTERM outside apply's writes: both end the command as an interrupt.

Python turns SIGINT into KeyboardInterrupt; SIGTERM (what CI sends to cancel a
job) would kill the process silently. Here SIGTERM is delivered the same way,
and the CLI root turns either into `Interrupted` (exit 130 or 143) with a
message. While apply writes, `workflow.run_steps` takes both signals over
(no new write starts, those in flight finish) and gives them back after.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from inkbox_sync.errors import Interrupted, signal_name

_terminated = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """For the whole command: SIGTERM raises KeyboardInterrupt, as SIGINT does
    (unless the process was started ignoring SIGTERM: then it stays ignored)."""
    global _terminated
    _terminated = False
    previous = None
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def is_interrupt(exc: BaseException) -> bool:
    """KeyboardInterrupt itself, or click's Abort raised because of one (at a prompt)."""
    return isinstance(exc, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt)


def interrupting_signal() -> int:
    """The signal behind the KeyboardInterrupt being handled: SIGTERM or SIGINT."""
    return signal.SIGTERM if _terminated else signal.SIGINT


def interrupted(detail: str = "") -> Interrupted:
    """`Interrupted` for the signal being handled; `detail` says what it means for the user."""
    signum = interrupting_signal()
    tail = f" {detail}" if detail else ""
    return Interrupted(f"interrupted by {signal_name(signum)}{tail}", signum=signum)
