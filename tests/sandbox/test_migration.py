"""A 2026-06 state loaded into a 2026-10 sandbox moves the way Inkbox moved its data.

Rules go to their number's identity as `both` rules (ids, timestamps and
paused status kept), the number's `filter_mode` becomes the identity's phone
mode in both directions, and the original document is kept beside the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.persistence import dump_document
from inkbox_sync.sandbox.v2026_06 import demo_document as demo_2026_06
from inkbox_sync.sandbox.v2026_10 import demo_document as demo_2026_10
from tests.support.cli import run_cli
from tests.support.sandbox import put_state

SCHEDULER = demo_id("number", "+14155550003")
BILLING = demo_id("number", "+14155550002")


def client(box: SandboxServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{box.base_url}/api/v1", headers={"X-API-Key": box.api_key}, trust_env=False
    )


def test_a_2026_06_state_file_with_its_journal_migrates_and_keeps_the_original(
    tmp_path: Path,
) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    with (
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=old_dir / "s.json")) as old,
        client(old) as api,
    ):
        body = {"action": "block", "match_type": "exact_number", "match_target": "+15550080001"}
        made = api.post(f"/phone/numbers/{SCHEDULER}/contact-rules", json=body).json()
        api.patch(
            f"/phone/numbers/{SCHEDULER}/contact-rules/{made['id']}", json={"status": "paused"}
        )
        api.patch(f"/phone/numbers/{BILLING}", json={"filter_mode": "whitelist"})
        written = old.store.document()
        # What a SIGKILLed 2026-06 sandbox leaves: the snapshot and its journal.
        for name in ("s.json", "s.json.journal"):
            shutil.copy(old_dir / name, new_dir / name)

    state = new_dir / "s.json"
    with SandboxServer(SandboxOptions(api_version="2026-10", state_file=state)) as box:
        assert (box.migrated_from, box.kept_copy) == ("2026-06", new_dir / "s.2026-06.json")
        migrated = box.store.document()
    assert json.loads((new_dir / "s.2026-06.json").read_text()) == written  # journal included
    assert json.loads(state.read_text()) == migrated
    assert migrated["api_version"] == "2026-10"

    owner = {n["id"]: n["agent_identity_id"] for n in written["numbers"]}
    rules = {r["id"]: r for r in migrated["rules"]}
    assert set(rules) == {r["id"] for r in written["rules"]}  # every rule, same id
    for old_rule in written["rules"]:
        new = rules[old_rule["id"]]
        assert new["agent_identity_id"] == owner[old_rule["phone_number_id"]]
        assert (new["direction"], new["status"], new["created_at"]) == (
            "both",
            old_rule["status"],
            old_rule["created_at"],
        )
    assert rules[made["id"]]["status"] == "paused"  # paused rows stay paused
    modes = {n["agent_identity_id"]: n["filter_mode"] for n in written["numbers"]}
    for identity in migrated["identities"]:
        assert identity["phone_inbound_filter_mode"] == modes[identity["id"]]
        assert identity["phone_outbound_filter_mode"] == modes[identity["id"]]
    billing = next(n for n in migrated["numbers"] if n["id"] == BILLING)
    assert (billing["filter_mode"], billing["forwarding_target_type"], billing["country"]) == (
        "whitelist",
        None,
        "US",
    )

    # Restarted, the file is a 2026-10 state: nothing is migrated again.
    with SandboxServer(SandboxOptions(api_version="2026-10", state_file=state)) as again:
        assert again.migrated_from is None
        assert again.store.document() == migrated
    # Inkbox never moved back: a 2026-10 state is refused by a 2026-06 sandbox.
    with pytest.raises(ConfigError, match="a 2026-10 state cannot be served as 2026-06"):
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)).start()


def test_put_state_migrates_a_2026_06_document(tmp_path: Path) -> None:
    with SandboxServer(SandboxOptions(api_version="2026-10")) as box:
        stored: dict[str, Any] = put_state(box.base_url, demo_2026_06())
        assert stored["api_version"] == "2026-10"
        assert {r["direction"] for r in stored["rules"]} == {"both"}
        assert len(stored["rules"]) == len(demo_2026_06()["rules"])
        assert put_state(box.base_url, demo_2026_10()) == demo_2026_10()
    with SandboxServer(SandboxOptions(api_version="2026-06")) as old:
        refused = httpx.put(f"{old.base_url}/_sandbox/state", json=demo_2026_10(), trust_env=False)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "api_version"]


def test_a_rule_whose_number_has_no_identity_cannot_move(tmp_path: Path) -> None:
    doc = demo_2026_06()
    number = next(n for n in doc["numbers"] if n["id"] == SCHEDULER)
    number["agent_identity_id"] = None
    doc["rules"].append(
        {"phone_number_id": SCHEDULER, "action": "allow", "match_target": "+15550090001"}
    )
    state = tmp_path / "s.json"
    state.write_bytes(dump_document(doc))
    with pytest.raises(ConfigError, match=r"rules\[\d+\]\.phone_number_id: this rule's number"):
        SandboxServer(SandboxOptions(api_version="2026-10", state_file=state)).start()
    assert json.loads(state.read_text())["rules"][-1]["match_target"] == "+15550090001"  # untouched


def test_the_embedded_sandbox_speaks_2026_10_unless_told_2026_06(tmp_path: Path) -> None:
    default, legacy = tmp_path / "default.json", tmp_path / "legacy.json"
    run_cli(["--sandbox", default, "export"])  # the client cannot read 2026-10 yet
    assert json.loads(default.read_text())["api_version"] == "2026-10"
    exported = run_cli(["--sandbox", legacy, "--api-version", "2026-06", "export"])
    assert exported.returncode == 0, exported.stderr
    assert "api_version" not in json.loads(legacy.read_text())
    assert json.loads(legacy.read_text()) == demo_2026_06()
