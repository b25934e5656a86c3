"""The official SDKs, each in its own virtual environment (built once, cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sdk import sdk_python


@pytest.fixture(scope="session")
def sdk_0_4_12() -> Path:
    """The interpreter of a venv with `inkbox==0.4.12`, which speaks 2026-06."""
    return sdk_python("0.4.12")


@pytest.fixture(scope="session")
def sdk_0_7_20() -> Path:
    """The interpreter of a venv with `inkbox==0.7.20`, which speaks 2026-10."""
    return sdk_python("0.7.20")
