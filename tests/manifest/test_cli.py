"""`inkbox-sync validate` and `inkbox-sync schema` through the real entry point."""

from __future__ import annotations

import json

import pytest

from inkbox_sync.cli.main import main
from inkbox_sync.manifest import schema_text
from tests.manifest.helpers import write

VALID = """
version: 1
policies:
  p: {block: ["+14155550100", "+14155550101"]}
numbers:
  "+18335794607": {use: [p], allow: ["+14155550102"]}
"""
INVALID = """
version: 1
numbers:
  "+18335794607":
    filter_mode: yes
    allow: [+14155550100]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def test_valid_prints_one_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    write("m/a.yaml", VALID)
    write("m/b.yaml", 'version: 1\nnumbers:\n  "+18335794608": {}\n')
    assert run(capsys, "validate", "m") == (
        0,
        "valid: 2 files, 2 numbers, 3 rules (1 policy)\n",
        "",
    )


def test_invalid_prints_every_error_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    write("bad.yaml", INVALID)
    code, out, err = run(capsys, "validate", "bad.yaml")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        'bad.yaml:4:18: yes is read by YAML as a boolean; quote it if you mean the string "yes"',
        'bad.yaml:5:13: +14155550100 was read by YAML as the integer 14155550100; quote it: "+14155550100"',
        "error: 2 errors in manifests",
    ]


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    write("ok.yaml", VALID)
    write("bad.yaml", INVALID)
    code, out, _ = run(capsys, "validate", "--format", "json", "ok.yaml")
    assert code == 0
    assert json.loads(out) == {
        "valid": True,
        "errors": [],
        "summary": {"files": 1, "numbers": 1, "agents": 0, "rules": 3, "policies": 1},
    }
    code, out, err = run(capsys, "validate", "--format", "json", "bad.yaml")
    assert code == 1
    assert err == ""
    document = json.loads(out)
    assert document["valid"] is False
    assert document["summary"] is None
    assert document["errors"][0] == {
        "file": "bad.yaml",
        "line": 4,
        "column": 18,
        "message": 'yes is read by YAML as a boolean; quote it if you mean the string "yes"',
    }


def test_github_actions_annotations(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    write("dir,1/bad.yaml", INVALID)
    code, out, err = run(capsys, "validate", "dir,1")
    assert code == 1
    assert out.splitlines()[0] == (
        "::error file=dir%2C1/bad.yaml,line=4,col=18::"
        'yes is read by YAML as a boolean; quote it if you mean the string "yes"'
    )
    assert len(out.splitlines()) == 2
    assert "dir,1/bad.yaml:4:18: yes" in err  # the plain form is still on stderr


def test_no_paths_is_a_usage_error_exiting_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == 1
    assert "Missing argument" in err


def test_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "nowhere")
    assert code == 1
    assert "nowhere:1:1: no such file or directory" in err


def test_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert out == schema_text()
    assert out.endswith("}\n")
