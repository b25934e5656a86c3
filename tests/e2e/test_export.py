"""`inkbox-sync export` round trip: export what is live, plan on it, nothing to do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cli import run_cli
from tests.support.sandbox import SandboxProcess, api_writes, sandbox_process

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
    if box.api_version == "2026-10":  # what only 2026-10 has, as the demo shows it
        assert "direction: inbound" in text and "outbound_filter_mode: whitelist" in text
        assert 'forwarding_sip_uri: "sip:reception@pbx.partners.example.com"' in text
        assert 'agents:\n  "research-bot":' in text

    for path in (single, tmp_path / "by-agent"):
        if path.suffix != ".yaml":
            assert run_cli(["export", "--output-dir", path], box=box).returncode == 0
            names = {p.name for p in path.iterdir()}
            assert names >= {"support-bot.yaml", "legacy-bot.yaml"}
            assert ("research-bot.yaml" in names) == (box.api_version == "2026-10")
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


@st.composite
def organisations_2026_10(draw: st.DrawFn) -> dict[str, Any]:
    """2026-10 live states: per-side modes, one-way and legacy paused rows (never two
    one-way rows the server would have merged), forwarding, hosted agents, identities
    without a number and pool numbers without an identity."""
    identities: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    modes = st.sampled_from(["blacklist", "whitelist"])
    for n in range(draw(st.integers(1, 4))):
        identity = None
        if draw(st.integers(0, 4)):  # mostly an identity, sometimes a pool number
            identity = {
                "id": str(uuid.uuid4()),
                "agent_handle": f"agent-{n}",
                "phone_inbound_filter_mode": draw(modes),
                "phone_outbound_filter_mode": draw(modes),
            }
            identities.append(identity)
        if identity is None or draw(st.integers(0, 3)):  # an identity may have no number
            action = draw(
                st.sampled_from(["auto_reject", "hosted_agent", "webhook", "forward", "forward"])
            )
            kind = draw(st.sampled_from([None, "phone", "sip"])) if action != "forward" else None
            kind = kind or (
                draw(st.sampled_from(["phone", "sip"])) if action == "forward" else None
            )
            numbers.append(
                {
                    "id": str(uuid.uuid4()),
                    "number": f"+1833555{n:04d}",
                    "incoming_call_action": action,
                    "incoming_call_webhook_url": "https://h.example.com/in"
                    if action == "webhook"
                    else None,
                    "forwarding_target_type": kind,
                    "forwarding_phone_number": "+14155559000" if kind == "phone" else None,
                    "forwarding_sip_uri": "sip:desk@pbx.example.com" if kind == "sip" else None,
                    "agent_identity_id": identity["id"] if identity else None,
                }
            )
        if identity is None:
            continue
        for target in draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=5)):
            cell = st.tuples(
                st.sampled_from(["allow", "block"]), st.sampled_from(["active", "paused"])
            )
            layout = draw(st.sampled_from(["both", "inbound", "outbound", "pair"]))
            first = draw(cell)
            rows = [(layout if layout != "pair" else "inbound", first)]
            if layout == "pair":
                second = draw(cell.filter(lambda c, first=first: c != first))
                rows.append(("outbound", second))
            for direction, (action, status) in rows:
                rules.append(
                    {
                        "id": str(uuid.uuid4()),
                        "agent_identity_id": identity["id"],
                        "action": action,
                        "match_type": "exact_number",
                        "match_target": target,
                        "direction": direction,
                        "status": status,
                    }
                )
    return {"api_version": "2026-10", "identities": identities, "numbers": numbers, "rules": rules}


def round_trips(box: SandboxProcess, tmp_path: Path, org: dict[str, Any]) -> None:
    box.put_state(org)
    out = tmp_path / "export.yaml"
    result = run_cli(["export", "--output", out, "--force"], box=box)
    assert result.returncode == 0, result.stderr
    plan = run_cli(["plan", out, "--detailed-exitcode"], box=box)
    assert plan.returncode == 0, out.read_text() + plan.stdout + plan.stderr


@pytest.fixture(scope="module")
def shared_box() -> Iterator[dict[str, SandboxProcess]]:
    """One 2026-06 and one 2026-10 sandbox for every example (the state is replaced)."""
    with sandbox_process(api_version="2026-06") as old, sandbox_process() as new:
        yield {"2026-06": old, "2026-10": new}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(org=organisations())
def test_any_2026_06_live_state_exports_to_a_manifest_with_an_empty_plan(
    shared_box: dict[str, SandboxProcess], tmp_path: Path, org: dict[str, Any]
) -> None:
    round_trips(shared_box["2026-06"], tmp_path, org)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(org=organisations_2026_10())
def test_any_2026_10_live_state_exports_to_a_manifest_with_an_empty_plan(
    shared_box: dict[str, SandboxProcess], tmp_path: Path, org: dict[str, Any]
) -> None:
    round_trips(shared_box["2026-10"], tmp_path, org)
