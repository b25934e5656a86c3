"""`inkbox-sync --sandbox FILE`: the sandbox server, in-process, for one command.

The same HTTP server as `sandbox serve`, on a free loopback port in a
background thread, so a command run with `--sandbox` goes through exactly the
client path it would use against the real API. FILE is created with the demo
organisation if missing; writes are persisted to it as with `--state`, and on
exit the server stops and FILE is left a complete JSON document. It speaks the
API version it is given (`versions.DEFAULT_API_VERSION` unless told otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from inkbox_sync.sandbox.server import SandboxOptions, SandboxServer


class EmbeddedSandbox:
    """Context manager; `options` are further `SandboxOptions` fields (e.g. `latency_ms`)."""

    def __init__(self, state_file: Path, **options: Any) -> None:
        self._server = SandboxServer(
            SandboxOptions(host="127.0.0.1", port=0, state_file=Path(state_file), **options)
        )

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, no trailing slash and no `/api/v1`."""
        return self._server.base_url

    @property
    def api_key(self) -> str:
        return self._server.api_key

    @property
    def server(self) -> SandboxServer:
        return self._server
