"""Wire details the SDK does not show: headers, envelopes, clamping, error forms, ordering."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from inkbox_sync.sandbox import SandboxOptions, SandboxServer, empty
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.v2026_06 import demo_document

SUPPORT = demo_id("number", "+18335794607")
SCHEDULER = demo_id("number", "+14155550003")
RULE_BODY = {"action": "allow", "match_type": "exact_number"}


@pytest.fixture
def api(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{sandbox_server.base_url}/api/v1",
        headers={"X-API-Key": sandbox_server.api_key},
        trust_env=False,
    ) as client:
        yield client


def create(api: httpx.Client, number_id: str, target: str, action: str = "allow") -> Any:
    response = api.post(
        f"/phone/numbers/{number_id}/contact-rules",
        json={"action": action, "match_type": "exact_number", "match_target": target},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_rate_limit_headers_on_every_answer(api: httpx.Client) -> None:
    answers = [
        api.get("/phone/numbers"),
        api.get("/phone/numbers/not-a-uuid"),
        api.get(f"/phone/numbers/{SCHEDULER}/contact-rules/{SUPPORT}"),
        api.get("/phone/numbers", headers={"X-API-Key": "wrong"}),
        api.get("/no/such/route"),
    ]
    assert [a.status_code for a in answers] == [200, 422, 404, 401, 404]
    for answer in answers:
        assert int(answer.headers["X-RateLimit-Limit"]) >= 1
        assert int(answer.headers["X-RateLimit-Remaining"]) >= 0
        assert int(answer.headers["X-RateLimit-Reset"]) > 1_000_000_000  # Unix time


def test_paging_envelope_default_limit_and_clamping(
    sandbox_server: SandboxServer, api: httpx.Client
) -> None:
    for i in range(260):
        create(api, SCHEDULER, f"+1555100{i:04d}")
    url = f"/phone/numbers/{SCHEDULER}/contact-rules"
    first = api.get(url).json()
    assert (first["limit"], first["offset"], first["has_more"], len(first["items"])) == (
        50,
        0,
        True,
        50,
    )
    clamped = api.get(url, params={"limit": 1000}).json()
    assert (clamped["limit"], len(clamped["items"]), clamped["has_more"]) == (200, 200, True)
    last = api.get(url, params={"limit": 200, "offset": 200}).json()
    assert (len(last["items"]), last["has_more"]) == (60, False)
    exact_end = api.get(url, params={"limit": 60, "offset": 200}).json()
    assert exact_end["has_more"] is False
    ids = [r["id"] for r in clamped["items"] + last["items"]]
    assert len(set(ids)) == 260


def test_page_size_option_sets_the_maximum() -> None:
    with SandboxServer(SandboxOptions(api_version="2026-06", page_size=5)) as box:
        response = httpx.get(
            f"{box.base_url}/api/v1/phone/contact-rules",
            params={"limit": 50},
            headers={"X-API-Key": box.api_key},
            trust_env=False,
        )
        body = response.json()
        assert (body["limit"], len(body["items"]), body["has_more"]) == (5, 5, True)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "x"},
        {"offset": "-1"},
        {"action": "deny"},
        {"match_type": "prefix"},
    ],
)
def test_bad_query_parameters_are_422(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get(f"/phone/numbers/{SUPPORT}/contact-rules", params=params)
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["query", next(iter(params))]


def test_org_listing_with_malformed_or_unknown_number(api: httpx.Client) -> None:
    assert api.get("/phone/contact-rules", params={"phone_number_id": "nope"}).status_code == 422
    unknown = api.get(
        "/phone/contact-rules", params={"phone_number_id": SCHEDULER.replace("5", "6")}
    )
    assert unknown.status_code == 200
    assert unknown.json()["items"] == []


def test_invalid_json_and_non_object_bodies_are_422(api: httpx.Client) -> None:
    url = f"/phone/numbers/{SUPPORT}"
    bad_json = api.patch(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 422
    assert bad_json.json()["detail"][0]["type"] == "json_invalid"
    assert api.patch(url, json=["filter_mode"]).status_code == 422
    assert api.post(f"{url}/contact-rules").json()["detail"][0]["type"] == "missing"


def test_create_reports_every_problem_at_once(api: httpx.Client) -> None:
    response = api.post(
        f"/phone/numbers/{SUPPORT}/contact-rules",
        json={"action": "deny", "match_type": "prefix", "match_target": "+0123", "note": "x"},
    )
    assert response.status_code == 422
    locs = sorted(item["loc"][-1] for item in response.json()["detail"])
    assert locs == ["action", "match_target", "match_type", "note"]


def test_urls_and_routing_after_the_patch(api: httpx.Client) -> None:
    url = f"/phone/numbers/{SUPPORT}"
    ok = api.patch(
        url,
        json={
            "client_websocket_url": "ws://127.0.0.1:9000/ws",
            "incoming_call_action": "auto_accept",
        },
    )
    assert ok.status_code == 200
    # Clearing the URL the routing needs is refused: the check is on the result.
    refused = api.patch(url, json={"client_websocket_url": None})
    assert refused.status_code == 422
    assert api.get(url).json()["client_websocket_url"] == "ws://127.0.0.1:9000/ws"
    assert (
        api.patch(url, json={"incoming_call_webhook_url": "http://localhost:8080/hook"}).status_code
        == 200
    )
    assert (
        api.patch(url, json={"incoming_call_webhook_url": "http://example.com/hook"}).status_code
        == 422
    )
    assert api.patch(url, json={"incoming_call_action": None}).status_code == 422


def test_updated_at_moves_on_writes_only(api: httpx.Client) -> None:
    rule = create(api, SCHEDULER, "+15552220000")
    url = f"/phone/numbers/{SCHEDULER}/contact-rules/{rule['id']}"
    assert api.get(url).json()["updated_at"] == rule["updated_at"]
    patched = api.patch(url, json={"status": "paused"}).json()
    assert patched["updated_at"] > rule["updated_at"]
    assert patched["created_at"] == rule["created_at"]


def test_rule_patch_rejects_deleted_status_and_unknown_fields(api: httpx.Client) -> None:
    rule = create(api, SCHEDULER, "+15552220001")
    url = f"/phone/numbers/{SCHEDULER}/contact-rules/{rule['id']}"
    assert api.patch(url, json={"status": "deleted"}).status_code == 422
    assert api.patch(url, json={"match_target": "+15552220002"}).status_code == 422
    assert api.get(url).json() == rule


def test_delete_is_204_then_404_and_frees_the_slot(api: httpx.Client) -> None:
    rule = create(api, SCHEDULER, "+15552220003")
    url = f"/phone/numbers/{SCHEDULER}/contact-rules/{rule['id']}"
    deleted = api.delete(url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert [
        api.request(m, url, json={"status": "paused"} if m == "PATCH" else None).status_code
        for m in ("GET", "PATCH", "DELETE")
    ] == [404, 404, 404]
    assert create(api, SCHEDULER, "+15552220003")["id"] != rule["id"]


def test_org_listing_is_creation_order_across_numbers(api: httpx.Client) -> None:
    before = [
        r["id"] for r in api.get("/phone/contact-rules", params={"limit": 200}).json()["items"]
    ]
    made = [
        create(api, n, f"+1555333{i:04d}")["id"]
        for i, n in enumerate([SUPPORT, SCHEDULER, SUPPORT])
    ]
    after = [
        r["id"] for r in api.get("/phone/contact-rules", params={"limit": 200}).json()["items"]
    ]
    assert after == before + made
    api.delete(f"/phone/numbers/{SCHEDULER}/contact-rules/{made[1]}")
    allows = api.get("/phone/contact-rules", params={"action": "allow", "limit": 200}).json()[
        "items"
    ]
    assert [r["id"] for r in allows][-2:] == [made[0], made[2]]


def test_provision_and_release(api: httpx.Client, sandbox_server: SandboxServer) -> None:
    handle = "fresh-bot"
    doc = demo_document()
    doc["identities"].append({"agent_handle": handle})
    sandbox_server.store.replace(_normalized(doc))
    made = api.post("/phone/numbers", json={"agent_handle": handle, "type": "local", "state": "NY"})
    assert made.status_code == 201
    number = made.json()
    assert number["number"].startswith("+1212")
    assert api.get(f"/identities/{handle}").json()["phone_number"]["id"] == number["id"]
    assert api.post("/phone/numbers", json={"agent_handle": handle}).status_code == 409
    create(api, number["id"], "+15554440000")
    assert api.delete(f"/phone/numbers/{number['id']}").status_code == 204
    assert api.get(f"/phone/numbers/{number['id']}").status_code == 404
    assert all(
        r["phone_number_id"] != number["id"] for r in sandbox_server.store.document()["rules"]
    )


def test_identities_list_with_and_without_trailing_slash(api: httpx.Client) -> None:
    assert api.get("/identities/").json() == api.get("/identities").json()
    assert api.get("/identities/%40support-bot").json()["agent_handle"] == "support-bot"
    assert api.get("/identities/legacy-bot").json()["phone_number"]["number"] == "+13125550199"


def test_method_not_allowed(api: httpx.Client) -> None:
    assert api.delete("/phone/contact-rules").status_code == 405


def test_concurrent_duplicates_get_one_rule_and_409s_naming_it(
    sandbox_server: SandboxServer,
) -> None:
    url = f"{sandbox_server.base_url}/api/v1/phone/numbers/{SCHEDULER}/contact-rules"
    body = {**RULE_BODY, "match_target": "+15556660000"}
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        response = httpx.post(url, json=body, headers={"X-API-Key": "sandbox-key"}, trust_env=False)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=post) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [r.json() for r in results if r.status_code == 201]
    conflicts = [r.json()["detail"] for r in results if r.status_code == 409]
    assert len(created) == 1 and len(conflicts) == 11
    assert {c["existing_rule_id"] for c in conflicts} == {created[0]["id"]}


def test_empty_start() -> None:
    with SandboxServer(SandboxOptions(api_version="2026-06", initial_state=empty())) as box:
        response = httpx.get(
            f"{box.base_url}/api/v1/phone/numbers",
            headers={"X-API-Key": box.api_key},
            trust_env=False,
        )
        assert response.json() == []


def _normalized(doc: Any) -> Any:
    from inkbox_sync.sandbox.v2026_06 import normalize

    return normalize(doc)


@pytest.mark.parametrize(
    "target", ["+14155550100\n", "+1415555\u0661\u0662\u0663", "+0123", "+1234567890123456"]
)
def test_e164_is_ascii_and_whole(api: httpx.Client, target: str) -> None:
    response = api.post(
        f"/phone/numbers/{SCHEDULER}/contact-rules", json={**RULE_BODY, "match_target": target}
    )
    assert response.status_code == 422


def test_fast_rule_encoding_is_the_json_of_the_rule() -> None:
    from inkbox_sync.sandbox.v2026_06.api import encode_rule

    rule = demo_document()["rules"][0]
    assert json.loads(encode_rule(rule)) == rule
    odd = {**rule, "note": 'has "quotes" and \\ and \n'}
    assert json.loads(encode_rule(odd)) == odd  # not the standard shape: json.dumps


def test_keep_alive_serves_many_requests_on_one_connection(api: httpx.Client) -> None:
    for _ in range(20):
        assert api.get("/phone/numbers").status_code == 200
    assert api.delete(f"/phone/numbers/{SCHEDULER}/contact-rules/{SUPPORT}").status_code == 404
    assert api.get("/phone/numbers").status_code == 200  # an error answer keeps the connection too
