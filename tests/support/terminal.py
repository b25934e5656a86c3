"""Run the real CLI on a pseudo-terminal, as a person at a terminal would, and keep
everything it drew: for tests (and `benchmarks/apply_output.py`) that check what
a person sees: the live progress line, colour, the prompt and where it comes.

    seen = run_in_terminal(["apply", manifests], box=box, answers={"Make these": "y\\n"})
    assert seen.code == 0 and "Make these" in seen.before("Make these")
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import cli_env
from tests.support.sandbox import SandboxProcess

_ENTRY = "from inkbox_sync.cli.main import main; main()"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Transcript:
    """What the terminal received (stdout and stderr share it, as on a real one)."""

    raw: str
    code: int

    @property
    def plain(self) -> str:
        """Without colour and cursor codes; `\\r` kept (a redrawn line)."""
        return _ANSI.sub("", self.raw).replace("\r\n", "\n")

    @property
    def lines(self) -> list[str]:
        """The lines that stay on screen: each line as last drawn (after its last `\\r`)."""
        return [line.rsplit("\r", 1)[-1] for line in self.plain.split("\n")]

    def before(self, text: str) -> str:
        """Everything drawn before `text` first appeared (plain)."""
        plain = self.plain
        index = plain.find(text)
        assert index >= 0, f"{text!r} never appeared in {plain[-2000:]!r}"
        return plain[:index]


def run_in_terminal(
    args: Sequence[str | Path],
    *,
    box: SandboxProcess | None = None,
    env: Mapping[str, str] | None = None,
    answers: Mapping[str, str] | None = None,
    columns: int = 120,
    colour: bool = False,
    timeout: float = 120.0,
) -> Transcript:
    """`inkbox-sync ARGS` with stdin, stdout and stderr on one pseudo-terminal of
    `columns` columns. Each text of `answers` that appears is answered, once.
    `colour` False sets NO_COLOR (as every CLI test does)."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    full_env = cli_env(box, env)
    full_env.pop("NO_COLOR", None)
    if not colour:
        full_env["NO_COLOR"] = "1"
    full_env["TERM"] = "xterm-256color"
    full_env["COLUMNS"] = str(columns)
    process = subprocess.Popen(
        [sys.executable, "-c", _ENTRY, *map(str, args)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=full_env,
        start_new_session=True,  # the pty becomes its controlling terminal
    )
    os.close(terminal)
    pending = dict(answers or {})
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the terminal shows: {received[-2000:]!r}")
            ready, _, _ = select.select([controller], [], [], 0.2)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the other end is closed (the process exited)
                break
            if not chunk:
                break
            received += chunk
            text = received.decode(errors="replace")
            for prompt in [p for p in pending if p in text]:
                os.write(controller, pending.pop(prompt).encode())
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return Transcript(received.decode(errors="replace"), code)
