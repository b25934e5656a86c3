"""Write real manifest files and load them the way the CLI does."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from inkbox_sync.errors import ManifestError
from inkbox_sync.manifest import ManifestSet, load_manifest_set
from inkbox_sync.model import DesiredState


def write(name: str, text: str) -> Path:
    """Write `text` (dedented) to `name`, relative to the current directory."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(*paths: str | Path, env: Mapping[str, str] | None = None) -> DesiredState:
    return load_set(*paths, env=env).state


def load_set(*paths: str | Path, env: Mapping[str, str] | None = None) -> ManifestSet:
    return load_manifest_set(list(paths), env={} if env is None else env)


def errors(*paths: str | Path, env: Mapping[str, str] | None = None) -> list[str]:
    """Every diagnostic as `file:line:column: message`; fails if the manifests are valid."""
    with pytest.raises(ManifestError) as caught:
        load_manifest_set(list(paths), env={} if env is None else env)
    return [str(d) for d in caught.value.diagnostics]


def assert_error(found: list[str], expected: str) -> None:
    """`expected` is `file:line:column: start of message`; one diagnostic must begin with it."""
    assert any(d.startswith(expected) for d in found), "\n".join(
        [
            "expected a diagnostic starting with:",
            f"  {expected}",
            "got:",
            *(f"  {d}" for d in found),
        ]
    )
