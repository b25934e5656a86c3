"""Run the real `inkbox-sync` console entry point in a subprocess, as a user would."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from tests.support.sandbox import SandboxProcess

_ENTRY = "from inkbox_sync.cli.main import main; main()"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def cli_env(box: SandboxProcess | None, env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a CLI run: pointed at `box` through INKBOX_BASE_URL /
    INKBOX_API_KEY, no colour, not under GitHub Actions, and nothing of the
    machine's own INKBOX_* settings or ~/.inkbox/config (HOME is an empty
    directory unless `env` names one)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INKBOX_")}
    full_env["HOME"] = _empty_home()
    full_env["NO_COLOR"] = "1"
    full_env.pop("GITHUB_ACTIONS", None)
    if box is not None:
        full_env["INKBOX_BASE_URL"] = box.base_url
        full_env["INKBOX_API_KEY"] = box.api_key
    full_env.update(env or {})
    return full_env


def run_cli(
    args: Sequence[str | Path],
    *,
    box: SandboxProcess | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`inkbox-sync ARGS`, pointed at `box` through INKBOX_BASE_URL / INKBOX_API_KEY.

    HOME is a fresh directory so no ~/.inkbox/config of the machine leaks in.
    """
    return subprocess.run(
        [sys.executable, "-c", _ENTRY, *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(box, env),
        cwd=cwd,
        input=input,
        timeout=timeout,
    )


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll `condition` until it holds; a test that waits on state, never on time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


class CliProcess:
    """`inkbox-sync ARGS` running in the background, its output collected as it comes,
    for tests that act on it mid-run (send it signals, answer its prompt)."""

    def __init__(
        self,
        args: Sequence[str | Path],
        *,
        box: SandboxProcess | None = None,
        env: Mapping[str, str] | None = None,
        stdin: int | IO[str] | None = subprocess.DEVNULL,
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, *map(str, args)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**cli_env(box, env), "PYTHONUNBUFFERED": "1"},
        )
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            for stream, sink in ((self.process.stdout, self._out), (self.process.stderr, self._err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: IO[str] | None, sink: list[str]) -> None:
        assert stream is not None
        while chunk := stream.read(1):  # unbuffered: a prompt has no newline
            sink.append(chunk)

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def wait_for(self, text: str, *, stream: str = "stderr", timeout: float = 60.0) -> None:
        """Wait until `text` appears on `stream` (or fail, with what did appear)."""
        try:
            wait_until(lambda: text in getattr(self, stream), timeout)
        except AssertionError:
            raise AssertionError(
                f"{text!r} never appeared; stdout: {self.stdout[-2000:]}\nstderr: {self.stderr}"
            ) from None

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 120.0) -> int:
        """Wait for the exit; its code (output stays readable)."""
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(timeout=10)
        return code


@functools.cache
def _empty_home() -> str:
    """One empty HOME for the test session: a malformed ~/.inkbox/config of the
    machine's is an error now, and a valid one would hide "no API key"."""
    return tempfile.mkdtemp(prefix="inkbox-sync-test-home-")
