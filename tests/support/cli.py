"""Run the real `inkbox-sync` console entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.sandbox import SandboxProcess

_ENTRY = "from inkbox_sync.cli.main import main; main()"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def run_cli(
    args: Sequence[str | Path],
    *,
    box: SandboxProcess | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`inkbox-sync ARGS`, pointed at `box` through INKBOX_BASE_URL / INKBOX_API_KEY.

    HOME is a fresh directory so no ~/.inkbox/config of the machine leaks in.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INKBOX_")}
    full_env["NO_COLOR"] = "1"
    full_env.pop("GITHUB_ACTIONS", None)
    if box is not None:
        full_env["INKBOX_BASE_URL"] = box.base_url
        full_env["INKBOX_API_KEY"] = box.api_key
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", _ENTRY, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=input,
        timeout=timeout,
    )
