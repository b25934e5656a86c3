from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its manifests in a fresh directory and names them relatively,
    so diagnostics read `m.yaml:3:5: ...` exactly as a user would see them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
