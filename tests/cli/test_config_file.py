"""~/.inkbox/config: the SDK's `key = value` format; a file that exists but cannot be read
or parsed is an error naming the file and line, never a puzzling "no API key"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from inkbox_sync.cli.context import read_config_file
from inkbox_sync.errors import ConfigError
from tests.support.cli import EXAMPLES, run_cli
from tests.support.sandbox import SandboxProcess

SECRET = "sk-live-DO-NOT-PRINT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("# only a comment\n\n", {}),
        ("api_key = abc\n", {"api_key": "abc"}),
        ("api_key=\"abc\"\nbase_url = 'http://x'\n", {"api_key": "abc", "base_url": "http://x"}),
        ("  api_key   =   a=b  \n", {"api_key": "a=b"}),  # the first '=' separates
        ("\ufeffapi_key = abc\n", {"api_key": "abc"}),  # a BOM is not part of the key
        ("api_key =\n", {"api_key": ""}),
        ("vault_key = v\n", {"vault_key": "v"}),  # other keys of the SDK are fine
    ],
)
def test_the_sdk_format(tmp_path: Path, text: str, expected: dict[str, str]) -> None:
    path = tmp_path / "config"
    path.write_text(text, encoding="utf-8")
    assert read_config_file(path) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"api_key: {SECRET}\n", ":1: expected `api_key = ...`, found `api_key` without '='"),
        (f"# key\n\napi_key {SECRET}\n", ":3: expected `api_key = ...`"),
        (f"{SECRET}\n", ":1: expected `key = value`, found a line without '='"),
        (f"= {SECRET}\n", ":1: nothing before '='"),
    ],
)
def test_a_line_that_is_not_key_value_is_named_by_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "config"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert f"{path}{expected}" in str(caught.value)
    assert SECRET not in str(caught.value)  # a line's value may be the key itself


def test_a_missing_file_is_an_empty_one(tmp_path: Path) -> None:
    assert read_config_file(tmp_path / "nope" / "config") == {}
    (tmp_path / "file").write_text("")
    assert read_config_file(tmp_path / "file" / "config") == {}


# --- the real CLI, HOME pointing at a directory of the test's --------------------------


def cli_with_config(
    home: Path, content: bytes | None, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    config = home / ".inkbox" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    if content is not None:
        config.write_bytes(content)
    return run_cli(args, env={"HOME": str(home), **env}), config


def test_wrong_syntax_says_so_instead_of_no_api_key(tmp_path: Path) -> None:
    result, config = cli_with_config(
        tmp_path, f"api_key: {SECRET}\n".encode(), "plan", str(EXAMPLES)
    )
    assert result.returncode == 1
    assert "no API key" not in result.stderr
    assert f"{config}:1: expected `api_key = ...`, found `api_key` without '='" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    config = tmp_path / ".inkbox" / "config"
    config.mkdir(parents=True)  # exists, cannot be read as a file
    result = run_cli(["plan", EXAMPLES], env={"HOME": str(tmp_path)})
    assert result.returncode == 1
    assert f"{config}: cannot read the config file" in result.stderr
    assert "no API key" not in result.stderr


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    result, config = cli_with_config(tmp_path, b"# ok\napi_key = caf\xe9\n", "plan", str(EXAMPLES))
    assert result.returncode == 1
    assert f"{config}:2: the config file is not UTF-8 text" in result.stderr


def test_no_api_key_says_what_the_file_holds(tmp_path: Path) -> None:
    missing = run_cli(["plan", EXAMPLES], env={"HOME": str(tmp_path)})
    assert missing.returncode == 1 and "no API key" in missing.stderr
    assert "(it does not exist)" in missing.stderr
    result, _ = cli_with_config(tmp_path, b"base_url = http://127.0.0.1:9\n", "plan", str(EXAMPLES))
    assert "no API key" in result.stderr and "(it has no api_key line)" in result.stderr


def test_a_good_file_is_used(box: SandboxProcess, tmp_path: Path) -> None:
    content = f'# mine\napi_key = "{box.api_key}"\nbase_url = {box.base_url}\n'.encode()
    result, _ = cli_with_config(tmp_path, content, "plan", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert "Plan:" in result.stdout
    assert box.requests()


def test_the_file_is_not_read_when_option_and_environment_say_everything(
    box: SandboxProcess, tmp_path: Path
) -> None:
    result, _ = cli_with_config(
        tmp_path,
        b"api_key: broken\n",
        "plan",
        str(EXAMPLES),
        INKBOX_API_KEY=box.api_key,
        INKBOX_BASE_URL=box.base_url,
    )
    assert result.returncode == 0, result.stderr
