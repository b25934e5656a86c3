"""A sandbox server for the GitOps tests: the real `inkbox-sync sandbox serve --port 0` in a
subprocess, as a user's pipeline would run it; one per module, reset to the demo
organisation before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.sandbox import SandboxProcess, api_writes, sandbox_process


@dataclass
class Sandbox:
    process: SandboxProcess
    demo: dict[str, Any]

    @property
    def base_url(self) -> str:
        return self.process.base_url

    @property
    def api_key(self) -> str:
        return self.process.api_key

    def state(self) -> dict[str, Any]:
        return self.process.get_state()

    def put_state(self, document: dict[str, Any]) -> None:
        self.process.put_state(document)

    def requests(self) -> list[dict[str, Any]]:
        """API requests since the last `clear_requests` (control requests are not logged)."""
        return self.process.requests()

    def clear_requests(self) -> None:
        self.process.clear_requests()

    def writes(self) -> list[dict[str, Any]]:
        return api_writes(self.requests())

    def reset(self) -> None:
        self.put_state(self.demo)
        self.clear_requests()


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    # The 2026-06 demo organisation, in memory: the workflows' manifests are written for it.
    with sandbox_process(api_version="2026-06") as box:
        yield Sandbox(box, box.get_state())


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    sandbox_server.reset()
    return sandbox_server
