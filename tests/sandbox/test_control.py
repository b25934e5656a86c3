"""`/_sandbox/state` and `/_sandbox/requests`, and the embedded mode behind `--sandbox FILE`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.embedded import EmbeddedSandbox
from inkbox_sync.sandbox.v2026_06 import demo_document
from tests.support.sandbox import clear_requests, get_requests, get_state, put_state

SUPPORT = demo_id("number", "+18335794607")


def test_state_round_trips_and_put_fills_defaults(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.base_url
    assert get_state(base) == demo_document()
    stored = put_state(
        base,
        {
            "identities": [{"agent_handle": "x-bot"}],
            "numbers": [{"number": "+15550500000", "filter_mode": "whitelist"}],
            "rules": [],
        },
    )
    [number] = stored["numbers"]
    assert re.fullmatch(r"[0-9a-f-]{36}", number["id"])
    assert number["incoming_call_action"] == "auto_reject"
    assert get_state(base) == stored
    rule = {"phone_number_id": number["id"], "action": "block", "match_target": "+15550500001"}
    with_rule = put_state(base, {**stored, "rules": [rule, {**rule, "status": "deleted"}]})
    assert [r["match_target"] for r in with_rule["rules"]] == ["+15550500001"]  # deleted: dropped


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ({"numbers": [{"number": "4155550100"}]}, ["body", "numbers", 0, "number"]),
        (
            {"rules": [{"phone_number_id": SUPPORT, "action": "allow", "match_target": "+1555"}]},
            ["body", "rules", 0, "phone_number_id"],
        ),
        ({"extra": []}, ["body", "extra"]),
        (
            {"numbers": [{"number": "+15550000001", "incoming_call_action": "webhook"}]},
            ["body", "numbers", 0, "incoming_call_action"],
        ),
    ],
)
def test_put_state_refuses_invalid_documents_in_list_form(
    sandbox_server: SandboxServer, document: dict[str, object], loc: list[object]
) -> None:
    response = httpx.put(
        f"{sandbox_server.base_url}/_sandbox/state", json=document, trust_env=False
    )
    assert response.status_code == 422
    assert loc in [item["loc"] for item in response.json()["detail"]]
    assert get_state(sandbox_server.base_url) == demo_document()  # unchanged


def test_put_state_refuses_two_rules_in_one_slot(sandbox_server: SandboxServer) -> None:
    doc = demo_document()
    doc["rules"].append({**doc["rules"][0], "id": None, "action": "allow"})
    response = httpx.put(f"{sandbox_server.base_url}/_sandbox/state", json=doc, trust_env=False)
    assert response.status_code == 422


def test_request_log_records_api_requests_only_and_never_the_key(
    sandbox_server: SandboxServer,
) -> None:
    base = sandbox_server.base_url
    secret = "sk-CANARY-must-not-be-logged"
    with SandboxServer(SandboxOptions(api_version="2026-06")) as other:
        assert get_requests(other.base_url) == []
    with httpx.Client(
        base_url=f"{base}/api/v1", headers={"X-API-Key": sandbox_server.api_key}, trust_env=False
    ) as api:
        api.get(f"/phone/numbers/{SUPPORT}/contact-rules", params={"action": "block", "limit": "2"})
        created = api.post(
            f"/phone/numbers/{SUPPORT}/contact-rules",
            json={"action": "allow", "match_type": "exact_number", "match_target": "+15550600000"},
        ).json()
        api.get("/phone/numbers", headers={"X-API-Key": secret})
    get_state(base)  # control requests are not logged
    log = get_requests(base)
    keys = ("method", "path", "query", "body", "status", "fault", "result_id")
    assert [{k: entry[k] for k in keys} for entry in log] == [
        {
            "method": "GET",
            "path": f"/api/v1/phone/numbers/{SUPPORT}/contact-rules",
            "query": {"action": "block", "limit": "2"},
            "body": None,
            "status": 200,
            "fault": None,
            "result_id": None,
        },
        {
            "method": "POST",
            "path": f"/api/v1/phone/numbers/{SUPPORT}/contact-rules",
            "query": {},
            "body": {
                "action": "allow",
                "match_type": "exact_number",
                "match_target": "+15550600000",
            },
            "status": 201,
            "fault": None,
            "result_id": created["id"],  # what a POST made, even if a fault hid the answer
        },
        {
            "method": "GET",
            "path": "/api/v1/phone/numbers",
            "query": {},
            "body": None,
            "status": 401,
            "fault": None,
            "result_id": None,
        },
    ]
    assert secret not in json.dumps(log) and sandbox_server.api_key not in json.dumps(log)
    clear_requests(base)
    assert get_requests(base) == []


def test_embedded_creates_the_demo_file_and_keeps_writes(tmp_path: Path) -> None:
    state = tmp_path / "demo.json"
    with EmbeddedSandbox(state, api_version="2026-06") as box:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", box.base_url)
        assert box.api_key == "sandbox-key"
        assert json.loads(state.read_text()) == demo_document()
        answer = httpx.patch(
            f"{box.base_url}/api/v1/phone/numbers/{SUPPORT}",
            json={"filter_mode": "whitelist"},
            headers={"X-API-Key": box.api_key},
            trust_env=False,
        )
        assert answer.status_code == 200
    saved = json.loads(state.read_text())
    assert next(n for n in saved["numbers"] if n["id"] == SUPPORT)["filter_mode"] == "whitelist"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json"]
    with EmbeddedSandbox(state, api_version="2026-06", latency_ms=1) as again:
        assert get_state(again.base_url) == saved
