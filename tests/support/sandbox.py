"""Sandboxes for tests: the real `inkbox-sync sandbox serve` in a subprocess.

    from tests.support.sandbox import sandbox_process

    with sandbox_process(tmp_path / "state.json", latency_ms=20) as box:
        client = Adapter2026_10(box.base_url, box.api_key)
        ...
        assert box.requests()[-1]["status"] == 201

`base_url` has no `/api/v1` suffix. The port is picked by the server
(`--port 0`); URL and key are read from the first line it prints
(`INKBOX_BASE_URL=... INKBOX_API_KEY=...`), as a user would paste it. The module-level
functions speak to the control endpoints of any sandbox, including an
in-process `SandboxServer` or `EmbeddedSandbox` (pass its `base_url`).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from inkbox_sync.cli.sandbox_cmd import parse_banner

#: What `sandbox serve` speaks unless told otherwise, as for a user; tests written
#: for one version's wire say which.
DEFAULT_API_VERSION = "2026-10"
#: Both versions, newest first: what end-to-end tests run against.
API_VERSIONS = ("2026-10", "2026-06")

# The real console entry point, without depending on the venv's bin/ being on PATH.
_ENTRY = "from inkbox_sync.cli.main import main; main()"


@dataclass
class SandboxProcess:
    """A running `inkbox-sync sandbox serve` subprocess."""

    base_url: str
    api_key: str
    api_version: str
    state_path: Path | None
    process: subprocess.Popen[str]
    args: list[str]
    banner: str  # the first line it printed: INKBOX_BASE_URL=... INKBOX_API_KEY=...
    _stderr: IO[bytes] = field(repr=False)
    _stderr_text: str | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    # control endpoints
    def get_state(self) -> dict[str, Any]:
        return get_state(self.base_url)

    def put_state(self, document: dict[str, Any]) -> dict[str, Any]:
        return put_state(self.base_url, document)

    def requests(self) -> list[dict[str, Any]]:
        return get_requests(self.base_url)

    def clear_requests(self) -> None:
        clear_requests(self.base_url)

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        return set_faults(self.base_url, **knobs)

    def get_faults(self) -> dict[str, Any]:
        return get_faults(self.base_url)

    # lifecycle
    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM: a clean shutdown (final snapshot). Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_stderr()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._close_stderr()

    def stderr_text(self) -> str:
        """What the server wrote to stderr (also after it stopped)."""
        if self._stderr_text is not None:
            return self._stderr_text
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _close_stderr(self) -> None:
        if self._stderr_text is None:
            self._stderr_text = self.stderr_text()
            self._stderr.close()


def serve_args(
    state: Path | None = None,
    *,
    api_version: str = DEFAULT_API_VERSION,
    api_key: str | None = None,
    agent_key: str | None = None,
    agent_handle: str | None = None,
    latency_ms: float | None = None,
    fail_rate: float | None = None,
    rate_limit: int | None = None,
    page_size: int | None = None,
    seed: int | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The `sandbox serve` arguments for these options (`--port 0` always; the API
    version always explicit, the sandbox's default unless asked otherwise)."""
    args = ["sandbox", "serve", "--api-version", api_version, "--host", "127.0.0.1", "--port", "0"]
    options: list[tuple[str, object]] = [
        ("--state", state),
        ("--api-key", api_key),
        ("--agent-key", agent_key),
        ("--agent-handle", agent_handle),
        ("--latency-ms", latency_ms),
        ("--fail-rate", fail_rate),
        ("--rate-limit", rate_limit),
        ("--page-size", page_size),
        ("--seed", seed),
    ]
    for flag, value in options:
        if value is not None:
            args += [flag, str(value)]
    return args + list(extra_args)


def start_sandbox(
    state: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    **options: Any,
) -> SandboxProcess:
    """Start `inkbox-sync sandbox serve --port 0 ...`; returns once it is listening.

    `options` are `serve_args`' (api_version, api_key, latency_ms, ...). `state`
    None: the demo organisation in memory. The caller must `stop()` (or
    `kill()`) it; `sandbox_process` does so for you.
    """
    args = serve_args(state, **options)
    # A file, not a pipe: a chatty server can't block on it. Closed by stop().
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", _ENTRY, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:  # keep reading so the pipe never fills
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line is None:
                raise RuntimeError("sandbox exited before listening")
            env = parse_banner(line)
            if env:
                break
    except (queue.Empty, RuntimeError) as exc:
        process.kill()
        process.wait()
        stderr.seek(0)
        raise RuntimeError(
            f"sandbox did not start ({exc or 'timeout'}): {stderr.read().decode(errors='replace')}"
        ) from None
    return SandboxProcess(
        base_url=env["INKBOX_BASE_URL"],
        api_key=env["INKBOX_API_KEY"],
        api_version=options.get("api_version") or DEFAULT_API_VERSION,
        state_path=state,
        process=process,
        args=args,
        banner=line.rstrip("\n"),
        _stderr=stderr,
    )


@contextmanager
def sandbox_process(state: Path | None = None, **options: Any) -> Iterator[SandboxProcess]:
    """`start_sandbox(state, **options)` as a context manager that stops it on exit."""
    box = start_sandbox(state, **options)
    try:
        yield box
    finally:
        box.stop()


# -- control endpoints of any running sandbox -------------------------------------

_shared: httpx.Client | None = None


def control_client() -> httpx.Client:
    """One pooled client for control requests: building an httpx.Client costs ~40 ms
    (its TLS context), far more than a loopback request. No proxies from the env."""
    global _shared
    if _shared is None:
        _shared = httpx.Client(timeout=30, trust_env=False, verify=False)
    return _shared


def get_state(base_url: str) -> dict[str, Any]:
    """The state document `{"identities", "numbers", "rules"}`."""
    response = control_client().get(f"{base_url}/_sandbox/state")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def put_state(base_url: str, document: dict[str, Any]) -> dict[str, Any]:
    """Replace the state; returns it as stored (ids and defaults filled in)."""
    response = control_client().put(f"{base_url}/_sandbox/state", json=document)
    if response.status_code == 422:
        raise ValueError(f"invalid sandbox state: {response.json()['detail']}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def get_requests(base_url: str) -> list[dict[str, Any]]:
    """The request log: `{"method", "path", "query", "body", "status", "fault"}` each."""
    response = control_client().get(f"{base_url}/_sandbox/requests")
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def clear_requests(base_url: str) -> None:
    control_client().delete(f"{base_url}/_sandbox/requests").raise_for_status()


def get_faults(base_url: str) -> dict[str, Any]:
    """The knobs now, and `held`: API writes held by `hold_writes_after`."""
    response = control_client().get(f"{base_url}/_sandbox/faults")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def set_faults(base_url: str, **knobs: Any) -> dict[str, Any]:
    """Change `latency_ms`, `fail_rate`, `seed`, `rate_limit`, `hold_writes_after`,
    `refuse_writes_after` of a running sandbox."""
    response = control_client().patch(f"{base_url}/_sandbox/faults", json=knobs)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def api_writes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request-log entries of API writes (POST, PATCH, PUT, DELETE)."""
    return [e for e in entries if e["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def mode_writes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API writes that set a filter mode: a 2026-06 number PATCH with filter_mode,
    a 2026-10 identity PATCH with phone_filter_mode or a directional one."""
    return [e for e in api_writes(entries) if any("filter_mode" in k for k in e.get("body") or {})]


def add_rule(box: SandboxProcess, number: str, target: str, action: str = "block") -> None:
    """Create a rule for `number`'s policy behind inkbox-sync's back, through the API
    route of the sandbox's version (the number's own in 2026-06, its identity's in 2026-10)."""
    state = box.get_state()
    owner = next(n for n in state["numbers"] if n["number"] == number)
    body = {"action": action, "match_type": "exact_number", "match_target": target}
    if box.api_version == "2026-06":
        path = f"{box.api_url}/phone/numbers/{owner['id']}/contact-rules"
    else:
        handle = next(
            i["agent_handle"] for i in state["identities"] if i["id"] == owner["agent_identity_id"]
        )
        path = f"{box.api_url}/identities/{handle}/phone-contact-rules"
    response = control_client().post(path, headers=box.headers(), json=body)
    assert response.status_code == 201, response.text
