"""How the process ends: every output flushed, its exit code, and no teardown for nothing.

Once a fleet-sized plan is printed, a normal exit still has work to do that
nobody waits for the result of: freeing the plan, the desired and the live
state as the command returns (hundreds of thousands of objects at 100,000
rules), then the interpreter's teardown (collections over what is left,
every module cleared). On the fleet benchmark (2 CPUs, shared) the plan's
last line came ~0.045 s before the end of the process; it comes ~0.017 s
before it this way (what is left: `os._exit` and the kernel releasing the
process's memory). (`gc.freeze()` alone skips the collections only.)

So the console script, which owns the process (`own_the_process`), ends it
itself once the command is done (`finish`): it runs the `atexit` handlers
(coverage's, logging's, the tempfile clean-ups of `weakref.finalize`),
flushes stdout and stderr, and calls `os._exit` with the command's exit code,
the objects the command handed to `keep_until_exit` still alive. It falls
back to the ordinary `sys.exit`, teardown and all, whenever skipping it
could be seen:

- a tracer or profiler is installed (coverage, cProfile, pyinstrument, a
  debugger): they report after the program returns;
- a non-daemon thread is still running (Python would wait for it);
- flushing stdout or stderr fails (a closed pipe): Python reports it and exits
  120, as it always has;
- `main` was given its arguments (tests, embedding): the caller gets its
  `SystemExit`, and nothing was kept.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

__all__ = ["finish", "keep_until_exit", "own_the_process"]

#: What `keep_until_exit` was given; None unless the console script owns the process
#: (elsewhere, as under click's CliRunner, nothing is kept: nothing would free it).
_kept: list[object] | None = None


def own_the_process() -> None:
    """The console script's entry, before the command runs: from now on commands'
    results are kept, and `finish` may end the process."""
    global _kept
    _kept = []


def keep_until_exit(*objects: object) -> None:
    """Keep `objects` alive until the process ends, when the console script owns it:
    ended by `finish`, they are never freed object by object (a command's big
    results: its plan, its states)."""
    if _kept is not None:
        _kept.extend(objects)


def finish(code: int) -> NoReturn:
    """End with `code`: the process itself, without its teardown, when the console
    script owns it and nothing could tell the difference (see the module
    docstring); else `sys.exit(code)`, everything kept released first."""
    global _kept
    if _kept is not None and _unobserved():
        atexit._run_exitfuncs()  # clears them too: a fallback below does not run them twice
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):
            pass  # let the interpreter's own exit report it, as it would have
        else:
            os._exit(code)
    _kept = None
    sys.exit(code)


def _unobserved() -> bool:
    """No tracer, profiler or `sys.monitoring` tool (3.12+), and no other live
    non-daemon thread."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return False
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None and any(monitoring.get_tool(tool) for tool in range(6)):
        return False
    main = threading.main_thread()
    return not any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())
