"""End-to-end fixtures: a sandbox subprocess holding the demo organisation, once per
API version (the CLI detects which it speaks, as against the real API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import API_VERSIONS, SandboxProcess, sandbox_process


@pytest.fixture(params=API_VERSIONS)
def box(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SandboxProcess]:
    with sandbox_process(tmp_path / "org.json", api_version=request.param) as running:
        yield running
