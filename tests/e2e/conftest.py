"""End-to-end fixtures: a sandbox subprocess holding the demo organisation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxProcess, sandbox_process


@pytest.fixture
def box(tmp_path: Path) -> Iterator[SandboxProcess]:
    with sandbox_process(tmp_path / "org.json") as running:
        yield running
