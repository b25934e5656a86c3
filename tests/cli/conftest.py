"""One sandbox subprocess for the module, reset to the demo organisation before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox import SandboxProcess, sandbox_process


@pytest.fixture(scope="module")
def _shared_box() -> Iterator[tuple[SandboxProcess, dict[str, Any]]]:
    with sandbox_process() as running:  # the demo organisation, in memory
        yield running, running.get_state()


@pytest.fixture
def box(_shared_box: tuple[SandboxProcess, dict[str, Any]]) -> SandboxProcess:
    running, demo = _shared_box
    running.put_state(demo)
    running.clear_requests()
    return running
