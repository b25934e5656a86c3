"""`sandbox serve` prints, first, the environment to use it, exactly as a user pastes it;
and a base URL that already ends in /api/v1 is refused with the fix, not sent as
/api/v1/api/v1/..."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inkbox_sync.cli.sandbox_cmd import banner, parse_banner
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from tests.support.cli import EXAMPLES, run_cli
from tests.support.sandbox import SandboxProcess, sandbox_process

ENTRY = "from inkbox_sync.cli.main import main; main()"
KEY = "a key with 'quotes', $dollars and spaces"


@pytest.fixture(scope="module")
def box() -> Iterator[SandboxProcess]:
    with sandbox_process(api_key=KEY) as box:
        yield box


@pytest.mark.parametrize(
    ("url", "key", "line"),
    [
        (
            "http://127.0.0.1:8765",
            "sandbox-key",
            "INKBOX_BASE_URL=http://127.0.0.1:8765 INKBOX_API_KEY=sandbox-key",
        ),
        # Brackets are a glob to a shell (zsh refuses an unmatched one): quoted.
        ("http://[::1]:8765", "k", "INKBOX_BASE_URL='http://[::1]:8765' INKBOX_API_KEY=k"),
    ],
)
def test_banner_is_shell_syntax(url: str, key: str, line: str) -> None:
    assert banner(url, key) == line
    assert parse_banner(line) == {"INKBOX_BASE_URL": url, "INKBOX_API_KEY": key}


def test_the_first_line_pasted_into_a_shell_points_inkbox_sync_at_the_sandbox(
    box: SandboxProcess, tmp_path: Path
) -> None:
    assert box.banner.startswith(f"INKBOX_BASE_URL={box.base_url} INKBOX_API_KEY=")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKBOX_")}
    box.clear_requests()
    done = subprocess.run(
        ["sh", "-c", f'{box.banner} "$0" -c "$1" plan "$2"', sys.executable, ENTRY, EXAMPLES],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path), "NO_COLOR": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert box.api_key == KEY  # what the test support read back from the same line
    statuses = {entry["status"] for entry in box.requests()}
    assert statuses == {200}  # the key was right: no 401


def test_a_base_url_ending_in_api_v1_is_refused_with_the_fix(box: SandboxProcess) -> None:
    box.clear_requests()
    done = run_cli(
        ["plan", EXAMPLES], env={"INKBOX_BASE_URL": box.api_url, "INKBOX_API_KEY": box.api_key}
    )
    assert done.returncode == 1
    assert (
        f"ends in /api/v1, which inkbox-sync adds itself: use INKBOX_BASE_URL={box.base_url}\n"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert box.requests() == []  # refused before any request


def test_on_all_interfaces_the_url_names_loopback() -> None:
    with SandboxServer(SandboxOptions(host="0.0.0.0")) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        response = httpx.get(f"{server.base_url}/", trust_env=False)
        assert response.json()["api"] == "/api/v1"
