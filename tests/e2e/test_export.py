"""`inkbox-sync export` round trip: export what is live, plan on it, nothing to do."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cli import run_cli
from tests.support.sandbox import SandboxProcess, api_writes

TARGETS = [f"+1555010{i:04d}" for i in range(30)] + ["+442071838750", "+33142685300"]


def test_export_of_the_demo_organisation_round_trips(box: SandboxProcess, tmp_path: Path) -> None:
    single = tmp_path / "all.yaml"
    result = run_cli(["export", "--output", single], box=box)
    assert result.returncode == 0, result.stderr
    text = single.read_text()
    assert (
        text.startswith("# Editor help") and "Exported by inkbox-sync from http://127.0.0.1" in text
    )
    assert box.api_key not in text
    assert '"+18335794607":' in text and "status: paused" in text

    for path in (single, tmp_path / "by-agent"):
        if path.suffix != ".yaml":
            assert run_cli(["export", "--output-dir", path], box=box).returncode == 0
            assert {p.name for p in path.iterdir()} >= {"support-bot.yaml", "legacy-bot.yaml"}
        assert run_cli(["validate", path]).returncode == 0
        box.clear_requests()
        plan = run_cli(["plan", path, "--detailed-exitcode"], box=box)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert api_writes(box.requests()) == []


def test_export_to_stdout_and_target(box: SandboxProcess) -> None:
    result = run_cli(["export", "--target", "+14155550001"], box=box)
    assert result.returncode == 0
    document = yaml.safe_load(result.stdout)
    assert list(document["numbers"]) == ["+14155550001"]
    assert document["numbers"]["+14155550001"]["agent"] == "sales-bot"
    missing = run_cli(["export", "--target", "+19995550000"], box=box)
    assert missing.returncode == 1 and "does not own" in missing.stderr


@st.composite
def organisations(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    identities, numbers, rules = [], [], []
    for n in range(draw(st.integers(1, 4))):
        number_id = str(uuid.uuid4())
        identity = None
        if draw(st.booleans()):
            identity = {"id": str(uuid.uuid4()), "agent_handle": f"agent-{n}"}
            identities.append(identity)
        action = draw(st.sampled_from(["auto_reject", "auto_accept", "webhook"]))
        ws = draw(st.sampled_from([None, "wss://a.example.com/ws", "wss://a.example.com/$HOME/x"]))
        hook = draw(
            st.sampled_from([None, "https://h.example.com/in?x=1", "https://h.example.com/${V}"])
        )
        if action == "auto_accept" and ws is None:
            ws = "wss://a.example.com/ws"
        if action == "webhook" and hook is None:
            hook = "https://h.example.com/in"
        numbers.append(
            {
                "id": number_id,
                "number": f"+1833555{n:04d}",
                "type": "local",
                "status": "active",
                "incoming_call_action": action,
                "client_websocket_url": ws,
                "incoming_call_webhook_url": hook,
                "filter_mode": draw(st.sampled_from(["blacklist", "whitelist"])),
                "agent_identity_id": identity["id"] if identity else None,
            }
        )
        for target in draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=6)):
            rules.append(
                {
                    "id": str(uuid.uuid4()),
                    "phone_number_id": number_id,
                    "action": draw(st.sampled_from(["allow", "block"])),
                    "match_type": "exact_number",
                    "match_target": target,
                    "status": draw(st.sampled_from(["active", "paused"])),
                }
            )
    return {"identities": identities, "numbers": numbers, "rules": rules}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(org=organisations())
def test_any_live_state_exports_to_a_manifest_with_an_empty_plan(
    box: SandboxProcess, tmp_path: Path, org: dict[str, list[dict[str, Any]]]
) -> None:
    box.put_state(org)
    out = tmp_path / "export.yaml"
    out.unlink(missing_ok=True)  # tmp_path is shared by hypothesis' examples
    result = run_cli(["export", "--output", out], box=box)
    assert result.returncode == 0, result.stderr
    plan = run_cli(["plan", out, "--detailed-exitcode"], box=box)
    assert plan.returncode == 0, out.read_text() + plan.stdout + plan.stderr


# --- never overwrite without --force ----------------------------------------------------

HAND_WRITTEN = '# hand-written: keep me\nversion: 1\nnumbers:\n  "+14155550001": {}  # a note\n'


def test_export_output_refuses_an_existing_file(box: SandboxProcess, tmp_path: Path) -> None:
    # The issue: `export --output examples/fleet/sales.yaml` silently replaced a manifest.
    target = tmp_path / "sales.yaml"
    target.write_text(HAND_WRITTEN)
    box.clear_requests()
    refused = run_cli(["export", "--output", target], box=box)
    assert refused.returncode == 1
    assert f"not overwriting 1 existing file(s): {target}" in refused.stderr
    assert "--force" in refused.stderr
    assert target.read_text() == HAND_WRITTEN
    assert box.requests() == []  # refused before reading anything
    forced = run_cli(["export", "--output", target, "--force"], box=box)
    assert forced.returncode == 0, forced.stderr
    assert "Exported by inkbox-sync" in target.read_text()


def test_export_output_dir_refuses_before_writing_any_file(
    box: SandboxProcess, tmp_path: Path
) -> None:
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "sales-bot.yaml").write_text(HAND_WRITTEN)
    (out / "legacy-bot.yaml").write_text(HAND_WRITTEN)
    refused = run_cli(["export", "--output-dir", out], box=box)
    assert refused.returncode == 1
    assert "not overwriting 2 existing file(s)" in refused.stderr
    assert str(out / "sales-bot.yaml") in refused.stderr
    assert str(out / "legacy-bot.yaml") in refused.stderr
    # No partial write: the other agents' files were not written either.
    assert sorted(p.name for p in out.iterdir()) == ["legacy-bot.yaml", "sales-bot.yaml"]
    assert (out / "sales-bot.yaml").read_text() == HAND_WRITTEN

    forced = run_cli(["export", "--output-dir", out, "--force"], box=box)
    assert forced.returncode == 0, forced.stderr
    assert {p.name for p in out.iterdir()} >= {"support-bot.yaml", "sales-bot.yaml"}
    assert "Exported by inkbox-sync" in (out / "sales-bot.yaml").read_text()


def test_export_output_dir_writes_beside_other_files(box: SandboxProcess, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "policies.yaml").write_text(HAND_WRITTEN)  # no agent has this name
    result = run_cli(["export", "--output-dir", out], box=box)
    assert result.returncode == 0, result.stderr
    assert (out / "policies.yaml").read_text() == HAND_WRITTEN
    assert (out / "sales-bot.yaml").is_file()
