"""`--state FILE`: snapshot + journal, replay, compaction, and what a crash leaves on disk.

A crash is simulated in-process by reading the files while the server is still
running: that is exactly what a SIGKILLed sandbox would restart from.
(test_crash.py does it for real, with a subprocess.)
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.persistence import StateFile, dump_document, replay
from inkbox_sync.sandbox.v2026_06 import NumberRuleStore, demo_document, normalize

SCHEDULER = demo_id("number", "+14155550003")
SALES = demo_id("number", "+14155550001")


def client(box: SandboxServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{box.base_url}/api/v1", headers={"X-API-Key": box.api_key}, trust_env=False
    )


def write_some(api: httpx.Client) -> dict[str, Any]:
    """A create, a pause, a create+delete and a number patch; returns the kept rule."""
    url = f"/phone/numbers/{SCHEDULER}/contact-rules"
    kept = api.post(
        url, json={"action": "block", "match_type": "exact_number", "match_target": "+15550100001"}
    ).json()
    kept = api.patch(f"{url}/{kept['id']}", json={"status": "paused"}).json()
    gone = api.post(
        url, json={"action": "allow", "match_type": "exact_number", "match_target": "+15550100002"}
    ).json()
    assert api.delete(f"{url}/{gone['id']}").status_code == 204
    patched = api.patch(f"/phone/numbers/{SALES}", json={"filter_mode": "whitelist"})
    assert patched.status_code == 200
    return dict(kept)


def on_disk(path: Path) -> Any:
    """What a sandbox restarted right now would load."""
    return StateFile(path).load()


def test_clean_stop_leaves_one_complete_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with (
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as box,
        client(box) as api,
    ):
        assert json.loads(state.read_text()) == demo_document()  # created with the demo
        kept = write_some(api)
        live = box.store.document()
    assert not state.with_name("state.json.journal").exists()
    saved = json.loads(state.read_text())
    assert saved == live
    assert kept in saved["rules"]
    assert next(n for n in saved["numbers"] if n["id"] == SALES)["filter_mode"] == "whitelist"
    with SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as again:
        assert again.store.document() == live


def test_every_acknowledged_write_is_on_disk_before_the_answer(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with (
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as box,
        client(box) as api,
    ):
        write_some(api)
        assert on_disk(state) == box.store.document()
        assert state.with_name("state.json.journal").stat().st_size > 0  # not rewritten per write
        assert json.loads(state.read_text()) == demo_document()


def test_put_state_survives_a_crash(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    wanted = normalize({"identities": [{"agent_handle": "only-bot"}], "numbers": [], "rules": []})
    with SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as box:
        httpx.put(f"{box.base_url}/_sandbox/state", json=wanted, trust_env=False).raise_for_status()
        assert on_disk(state) == wanted


def test_replay_onto_a_snapshot_that_already_has_the_writes_changes_nothing(tmp_path: Path) -> None:
    """Why compaction needs no marker: a crash between snapshot and journal rewrite
    replays records the snapshot already contains."""
    state = StateFile(tmp_path / "s.json")
    before = demo_document()
    state.start(before)
    store = NumberRuleStore(before, journal=state)
    rule = store.create_rule(
        SCHEDULER, {"action": "allow", "match_type": "exact_number", "match_target": "+15550200000"}
    )
    store.update_rule(SCHEDULER, rule["id"], {"status": "paused"})
    other = store.create_rule(
        SCHEDULER, {"action": "block", "match_type": "exact_number", "match_target": "+15550200001"}
    )
    store.delete_rule(SCHEDULER, other["id"])
    store.patch_number(SALES, {"client_websocket_url": "wss://x.example.com/ws"})
    after = store.document()
    lines = state.journal_path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 5
    assert replay(before, lines, "journal") == after
    assert replay(after, lines, "journal") == after


def test_a_torn_last_line_was_never_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(dump_document(demo_document()))
    rule = {
        "id": "0d6f3c5e-7a39-4c47-9d8e-1f2a3b4c5d6e",
        "phone_number_id": SCHEDULER,
        "action": "allow",
        "match_type": "exact_number",
        "match_target": "+15550300000",
        "status": "active",
        "created_at": "2025-02-01T00:00:00+00:00",
        "updated_at": "2025-02-01T00:00:00+00:00",
    }
    good = json.dumps({"op": "rule", "value": rule}) + "\n"
    torn = json.dumps({"op": "rule", "value": {**rule, "id": "x"}})[:40]
    path.with_name("s.json.journal").write_text(good + torn)
    loaded = on_disk(path)
    assert loaded is not None
    assert rule in loaded["rules"]
    assert len(loaded["rules"]) == len(demo_document()["rules"]) + 1


def test_a_journal_without_its_snapshot_is_not_replayed(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.with_name("s.json.journal").write_text('{"op": "rule_deleted", "id": "x"}\n')
    assert on_disk(path) is None  # the user removed the state file to start afresh


def test_compaction_under_load_keeps_every_write_and_the_file_always_whole(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    options = SandboxOptions(api_version="2026-06", state_file=state, journal_limit=2_000)
    created: list[str] = []
    broken: list[str] = []
    done = threading.Event()

    def read_file_repeatedly() -> None:
        while not done.is_set():
            try:
                json.loads(state.read_bytes())
            except ValueError as exc:  # a half-written state file
                broken.append(str(exc))

    with SandboxServer(options) as box:
        reader = threading.Thread(target=read_file_repeatedly)
        reader.start()

        def burst(worker: int) -> None:
            with client(box) as api:
                for i in range(60):
                    response = api.post(
                        f"/phone/numbers/{SCHEDULER}/contact-rules",
                        json={
                            "action": "allow",
                            "match_type": "exact_number",
                            "match_target": f"+1555{worker:02d}{i:05d}",
                        },
                    )
                    assert response.status_code == 201
                    created.append(response.json()["id"])

        workers = [threading.Thread(target=burst, args=(w,)) for w in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done.set()
        reader.join()
        crashed = on_disk(state)
        snapshot_rules = len(json.loads(state.read_bytes())["rules"])
    assert broken == []
    assert len(created) == 360
    assert crashed is not None
    assert set(created) <= {r["id"] for r in crashed["rules"]}
    assert snapshot_rules > len(demo_document()["rules"])  # compaction ran during the burst


def test_an_invalid_state_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    doc = demo_document()
    doc["rules"][0]["action"] = "deny"
    state.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"state\.json.*rules\[0\]\.action"):
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)).start()
    state.write_text("{")
    with pytest.raises(ConfigError, match="not JSON"):
        SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)).start()


def test_a_hand_written_state_gets_ids_and_defaults_that_stick(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "identities": [{"agent_handle": "a-bot"}],
                "numbers": [{"number": "+15550400000"}],
                "rules": [],
            }
        )
    )
    with SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as box:
        first = box.store.document()
    number = first["numbers"][0]
    assert (number["filter_mode"], number["incoming_call_action"], number["type"]) == (
        "blacklist",
        "auto_reject",
        "local",
    )
    with SandboxServer(SandboxOptions(api_version="2026-06", state_file=state)) as box:
        assert box.store.document() == first  # the filled-in ids were saved
