"""A canary API key and a canary webhook token reach nothing people read (design 7).

Findings 1 and 8 of issue 12: a token in a webhook URL showed in text and
Markdown plans, apply output and annotations; `${INKBOX_API_KEY}` validated. Only
the JSON plan (and a saved plan) keeps the URL whole, because apply needs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inkbox_sync.cli import main as cli_main
from tests.support.cli import run_cli
from tests.support.sandbox import api_writes, sandbox_process

KEY = "sk-CANARY-e51f7c20"
TOKEN = "tok-CANARY-4a9d3b"
SALES = "+14155550001"
TOKENED = f"https://hooks.example.com/inkbox?token={TOKEN}"
SHOWN = "https://hooks.example.com/inkbox?token=***"


def test_key_and_token_reach_no_text_markdown_log_apply_or_annotation(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f'version: 1\nnumbers:\n  "{SALES}":\n    incoming_call_action: webhook\n'
        "    incoming_call_webhook_url: https://hooks.example.com/inkbox?token=${HOOK_TOKEN}\n"
    )
    token_env = {"HOOK_TOKEN": TOKEN}
    invalid = tmp_path / "bad.yaml"  # plain http:// to a remote host: quoted in the error
    invalid.write_text(
        f'version: 1\nnumbers:\n  "{SALES}":\n    incoming_call_webhook_url: "http://hooks.example.com/x?token={TOKEN}"\n'
    )
    saved = tmp_path / "plan.json"
    read: dict[str, str] = {}  # what each run printed, stdout and stderr
    printed: dict[str, str] = {}  # ...and its stdout alone (a document)
    with sandbox_process(tmp_path / "org.json", api_key=KEY) as box:
        host = box.base_url.removeprefix("http://")
        for name, args, env in [
            ("-v", ["-v", "plan", manifest], token_env),
            ("-vv", ["-vv", "plan", manifest], token_env),
            ("markdown", ["plan", manifest, "--format", "markdown"], token_env),
            ("json", ["plan", manifest, "--format", "json"], token_env),
            ("saved", ["-vv", "plan", manifest, "--out", saved], token_env),
            ("apply", ["-vv", "apply", manifest, "--auto-approve"], token_env),
            ("export -vv", ["-vv", "export", "--output", tmp_path / "exported.yaml"], {}),
            ("annotation", ["validate", invalid], {"GITHUB_ACTIONS": "true"}),
            ("validate json", ["validate", invalid, "--format", "json"], {}),
            (
                "base url",
                ["-vv", "plan", manifest],
                {**token_env, "INKBOX_BASE_URL": f"http://u:{TOKEN}@{host}/?token={TOKEN}"},
            ),
            (
                "no server",
                ["-vv", "plan", manifest],
                {**token_env, "INKBOX_BASE_URL": "http://127.0.0.1:9"},
            ),
            (
                "flag",
                ["-vv", "--api-key", KEY, "plan", manifest],
                {**token_env, "INKBOX_API_KEY": ""},
            ),
        ]:
            result = run_cli(args, box=box, env=env)
            read[name] = result.stdout + result.stderr
            printed[name] = result.stdout
        exported = run_cli(["export"], box=box)
        assert exported.returncode == 0

    for name, text in read.items():
        assert KEY not in text, name
        if name != "json":
            assert TOKEN not in text, name
    # Redacted, not dropped: a reviewer still sees which URL and which parameter.
    assert SHOWN in read["-v"] and SHOWN in read["markdown"] and SHOWN in read["apply"]
    assert "::error file=" in read["annotation"] and "token=***" in read["annotation"]
    assert "Applied 1 write in" in read["apply"] and "GET /api/v1/phone/numbers" in read["-vv"]
    # The JSON plan and the saved plan keep the value apply writes; never the key.
    for document in (printed["json"], saved.read_text()):
        assert TOKENED in json.dumps(json.loads(document))
        assert KEY not in document
    # An export is a manifest: it must describe live state exactly, token included,
    # and says so; its header names where it came from, never with a secret.
    assert TOKENED in exported.stdout and "exported URL(s) carry userinfo" in exported.stderr
    header = [line for line in exported.stdout.splitlines() if line.startswith("#")]
    assert header and not any(TOKEN in line or KEY in line for line in header)


@pytest.mark.parametrize("key", ["sk-CANARY-\u00e9t\u00e9-91b2", "sk-CANARY-83f1\r\nX-Injected: 1"])
def test_a_key_http_cannot_carry_never_shows_up_either(tmp_path: Path, key: str) -> None:
    """Finding 8: a non-ASCII or CR/LF key ended in a raw traceback."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f'version: 1\nnumbers:\n  "{SALES}": {{}}\n')
    with sandbox_process(tmp_path / "org.json") as box:
        result = run_cli(["-vv", "plan", manifest], box=box, env={"INKBOX_API_KEY": key})
    assert result.returncode == 1
    for part in key.split("\r\n"):
        assert part not in result.stdout + result.stderr


def test_a_crash_shows_its_traceback_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug's traceback is what a report needs; it passes through the same layer."""

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom with {KEY} and https://u:p@h.example.com/?token={TOKEN}")

    monkeypatch.setattr("inkbox_sync.cli.plan_cmd.loading", crash)
    with pytest.raises(SystemExit) as info:
        cli_main.main(["--api-key", KEY, "plan", "anything.yaml"])
    assert info.value.code == 1
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "internal error" in text and "Traceback" in text and "RuntimeError: boom" in text
    assert KEY not in text and TOKEN not in text and "token=***" in text


def test_a_manifest_value_holding_the_key_itself_is_refused_before_any_write(
    tmp_path: Path,
) -> None:
    """`${INKBOX_*}` is refused at load; the key pasted in (or arriving through another
    variable) was written to the live webhook URL by apply, and a saved plan or an
    export held `***` in its place, which `apply --plan` then wrote."""
    literal = tmp_path / "literal.yaml"
    literal.write_text(
        f'version: 1\nnumbers:\n  "{SALES}":\n    incoming_call_action: webhook\n'
        f"    incoming_call_webhook_url: https://hooks.example.com/inkbox?token={KEY}\n"
    )
    through = tmp_path / "through.yaml"
    through.write_text(
        f'version: 1\nnumbers:\n  "{SALES}":\n    incoming_call_action: webhook\n'
        "    incoming_call_webhook_url: https://hooks.example.com/inkbox?token=${HOOK_TOKEN}\n"
    )
    saved = tmp_path / "plan.json"
    with sandbox_process(tmp_path / "org.json", api_key=KEY) as box:
        box.clear_requests()
        runs = [
            run_cli(["plan", literal, "--out", saved], box=box),
            run_cli(["apply", literal, "--auto-approve"], box=box),
            run_cli(["apply", through, "--auto-approve"], box=box, env={"HOOK_TOKEN": KEY}),
        ]
        writes = api_writes(box.requests())
        # Live already holds the key in a URL (set outside inkbox-sync): export says so.
        state = box.get_state()
        sales = next(n for n in state["numbers"] if n["number"] == SALES)
        sales["incoming_call_webhook_url"] = f"https://hooks.example.com/inkbox?token={KEY}"
        box.put_state(state)
        exported = run_cli(["export", "--target", SALES], box=box)
    assert exported.returncode == 0, exported.stderr
    assert "a live value holds the API key itself" in exported.stderr
    assert "token=***" in exported.stdout and KEY not in exported.stdout + exported.stderr
    for result, manifest in zip(runs, (literal, literal, through), strict=True):
        assert result.returncode == 1, result.stderr
        assert f"{manifest}:3:3: {SALES}: incoming_call_webhook_url holds the API key" in (
            result.stderr
        )
        assert KEY not in result.stdout + result.stderr
    assert writes == [] and not saved.exists()
