"""Sandbox fixtures for every suite; the helpers behind them are in tests/support/sandbox.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from tests.support.sandbox import SandboxProcess, sandbox_process


@pytest.fixture
def sandbox_server() -> Iterator[SandboxServer]:
    """An in-process 2026-06 sandbox: demo organisation in memory, free loopback port."""
    with SandboxServer(SandboxOptions(api_version="2026-06")) as server:
        yield server


@pytest.fixture
def sandbox_subprocess(tmp_path: Path) -> Iterator[SandboxProcess]:
    """`inkbox-sync sandbox serve --api-version 2026-06 --port 0 --state <tmp>/sandbox.json`
    in a subprocess."""
    with sandbox_process(tmp_path / "sandbox.json", api_version="2026-06") as box:
        yield box
