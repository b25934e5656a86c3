"""2026-10 wire details over loopback HTTP: coverage, consolidation, splits, aliases, paused
rows, the sunset routes, notices, and the 422s the SDK would refuse to send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.persistence import StateFile, replay
from inkbox_sync.sandbox.v2026_10 import IdentityRuleStore, demo_document

SCHEDULER = "/identities/scheduler-bot/phone-contact-rules"
SUPPORT_NUMBER = demo_id("number", "+18335794607")
SALES_NUMBER = demo_id("number", "+14155550001")


@pytest.fixture
def box() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(api_version="2026-10", agent_key="agent-key")) as server:
        yield server


@pytest.fixture
def api(box: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{box.base_url}/api/v1", headers={"X-API-Key": box.api_key}, trust_env=False
    ) as client:
        yield client


def create(api: httpx.Client, target: str, action: str = "allow", **extra: str) -> Any:
    body = {"action": action, "match_type": "exact_number", "match_target": target, **extra}
    response = api.post(SCHEDULER, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def notices(response: httpx.Response) -> list[str]:
    return [n["code"] for n in json.loads(response.headers.get("Inkbox-Notices", "[]"))]


def listed(api: httpx.Client, url: str = SCHEDULER, **params: str) -> list[Any]:
    items: list[Any] = api.get(url, params={"limit": "200", **params}).json()["items"]
    return items


def test_a_one_way_create_completing_the_other_side_extends_that_rule(api: httpx.Client) -> None:
    first = create(api, "+15550010001", direction="inbound")
    response = api.post(
        SCHEDULER,
        json={
            "action": "allow",
            "match_type": "exact_number",
            "match_target": "+15550010001",
            "direction": "outbound",
        },
    )
    assert response.status_code == 201
    merged = response.json()
    assert (merged["id"], merged["direction"]) == (first["id"], "both")
    assert notices(response) == ["contact_rule_consolidated"]
    assert [r["id"] for r in listed(api) if r["match_target"] == "+15550010001"] == [first["id"]]
    # Another action on the other side is its own rule, not a merge.
    other = create(api, "+15550010002", direction="inbound")
    block = create(api, "+15550010002", action="block", direction="outbound")
    assert block["id"] != other["id"] and block["direction"] == "outbound"


def test_split_then_merge_keeps_the_older_id_and_aliases_the_other(api: httpx.Client) -> None:
    rule = create(api, "+15550020001", action="block")
    split = api.patch(f"{SCHEDULER}/{rule['id']}", json={"action": "allow", "apply_to": "outbound"})
    assert split.status_code == 200 and notices(split) == ["contact_rule_split"]
    carved = split.json()
    assert (carved["direction"], carved["action"]) == ("outbound", "allow")
    same = api.patch(f"{SCHEDULER}/{rule['id']}", json={"action": "block", "apply_to": "inbound"})
    assert same.json()["direction"] == "inbound" and notices(same) == []  # one-way: no split
    assert {(r["direction"], r["action"]) for r in listed(api, match_type="exact_number")} >= {
        ("inbound", "block"),
        ("outbound", "allow"),
    }
    merge = api.patch(f"{SCHEDULER}/{carved['id']}", json={"action": "block"})
    assert notices(merge) == ["contact_rule_consolidated"]
    assert (merge.json()["id"], merge.json()["direction"]) == (rule["id"], "both")
    # The alias addresses the merged rule: GET, PATCH, DELETE.
    alias = f"{SCHEDULER}/{carved['id']}"
    assert api.get(alias).json()["id"] == rule["id"]
    assert api.patch(alias, json={"action": "allow"}).json()["id"] == rule["id"]
    assert api.get(f"{SCHEDULER}/{rule['id']}").json()["action"] == "allow"
    assert api.delete(alias).status_code == 204
    assert api.get(f"{SCHEDULER}/{rule['id']}").status_code == 404
    assert api.get(alias).status_code == 404  # the alias went with its rule


def test_an_alias_of_an_alias_follows_each_merge(api: httpx.Client) -> None:
    rule = create(api, "+15550030001")
    first = api.patch(f"{SCHEDULER}/{rule['id']}", json={"action": "block", "apply_to": "inbound"})
    api.patch(f"{SCHEDULER}/{first.json()['id']}", json={"action": "allow"})  # merge 1
    second = api.patch(f"{SCHEDULER}/{rule['id']}", json={"action": "block", "apply_to": "inbound"})
    api.patch(f"{SCHEDULER}/{second.json()['id']}", json={"action": "allow"})  # merge 2
    for old in (first.json()["id"], second.json()["id"], rule["id"]):
        assert api.get(f"{SCHEDULER}/{old}").json()["id"] == rule["id"]


def test_coverage_conflicts_are_409_naming_the_covering_rule(api: httpx.Client) -> None:
    inbound = create(api, "+15550040001", direction="inbound")
    outbound = create(api, "+15550040001", action="block", direction="outbound")
    for body in ({"action": "allow"}, {"action": "allow", "direction": "inbound"}):
        response = api.post(
            SCHEDULER, json={**body, "match_type": "exact_number", "match_target": "+15550040001"}
        )
        assert response.status_code == 409
        detail = response.json()["detail"]
        assert detail["existing_rule_id"] == inbound["id"]  # the first conflicting side
        assert (detail["direction"], detail["match_target"]) == ("inbound", "+15550040001")
    widen = api.patch(f"{SCHEDULER}/{inbound['id']}", json={"direction": "both"})
    assert widen.status_code == 409
    assert widen.json()["detail"]["existing_rule_id"] == outbound["id"]
    uncovered = api.patch(
        f"{SCHEDULER}/{inbound['id']}", json={"action": "block", "apply_to": "outbound"}
    )
    assert uncovered.status_code == 422
    assert uncovered.json()["detail"][0]["loc"] == ["body", "apply_to"]


def test_status_is_refused_in_every_write_body_and_paused_rows_stay_paused(
    api: httpx.Client,
) -> None:
    support = "/identities/support-bot/phone-contact-rules"
    paused = next(r for r in listed(api, support) if r["status"] == "paused")
    url = f"{support}/{paused['id']}"
    for body in ({"status": "active"}, {"action": "allow", "status": "active"}):
        response = api.patch(url, json=body)
        assert response.status_code == 422
        assert ["body", "status"] in [e["loc"] for e in response.json()["detail"]]
    create_body = {"action": "allow", "match_type": "exact_number", "match_target": "+15550050001"}
    assert api.post(support, json={**create_body, "status": "paused"}).status_code == 422
    for change in ({"action": "allow"}, {"direction": "inbound"}, {"direction": "both"}):
        assert api.patch(url, json=change).json()["status"] == "paused"
    carved = api.patch(url, json={"action": "block", "apply_to": "outbound"}).json()
    assert carved["status"] == "paused"  # a split of a paused row is paused on both sides
    assert api.get(url).json()["status"] == "paused"
    # A paused row still covers its side: a create there is a conflict.
    taken = api.post(support, json={**create_body, "match_target": paused["match_target"]})
    assert taken.status_code == 409
    assert api.delete(url).status_code == 204  # only DELETE removes it


def test_sunset_per_number_routes_are_410_with_the_replacement(api: httpx.Client) -> None:
    rules = f"/phone/numbers/{SUPPORT_NUMBER}/contact-rules"
    answers = [
        api.get(rules),
        api.post(rules, json={"action": "allow"}),
        api.get(f"{rules}/{SUPPORT_NUMBER}"),
        api.patch(f"{rules}/{SUPPORT_NUMBER}", json={"action": "allow"}),
        api.delete(f"{rules}/{SUPPORT_NUMBER}"),
        api.get("/phone/contact-rules", params={"phone_number_id": SUPPORT_NUMBER}),
    ]
    for answer in answers:
        assert answer.status_code == 410
        assert "/phone-contact-rules" in answer.json()["detail"]
        assert answer.headers["Sunset"] == "Mon, 31 Aug 2026 00:00:00 GMT"
    assert api.get(rules, headers={"X-API-Key": "wrong"}).status_code == 401  # keys first


def test_notices_where_the_api_advises_and_nowhere_else(api: httpx.Client) -> None:
    assert notices(api.get("/phone/numbers")) == ["phone_number_filter_mode_mirror"]
    assert notices(api.get(f"/phone/numbers/{SALES_NUMBER}")) == ["phone_number_filter_mode_mirror"]
    legacy = api.patch(f"/phone/numbers/{SALES_NUMBER}", json={"filter_mode": "whitelist"})
    assert notices(legacy) == ["phone_number_filter_mode_deprecated"]
    assert legacy.json()["filter_mode_change_notice"]["new_filter_mode"] == "whitelist"
    routing = api.patch(
        f"/phone/numbers/{SALES_NUMBER}", json={"incoming_call_action": "hosted_agent"}
    )
    assert routing.status_code == 200 and notices(routing) == []
    assert "Inkbox-Notices" not in api.get("/identities").headers
    header = api.get("/phone/numbers").headers["Inkbox-Notices"]
    [notice] = json.loads(header)
    assert set(notice) == {"code", "level", "message"} and notice["level"] == "info"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"phone_filter_mode": "whitelist", "phone_outbound_filter_mode": "blacklist"},
            "phone_outbound_filter_mode",
        ),
        (
            {"imessage_filter_mode": "whitelist", "phone_inbound_filter_mode": "blacklist"},
            "phone_inbound_filter_mode",
        ),
        (
            {"phone_filter_mode": "whitelist", "imessage_filter_mode": "blacklist"},
            "imessage_filter_mode",
        ),
        ({"phone_filter_mode": "greylist"}, "phone_filter_mode"),
        ({"agent_handle": "renamed-bot"}, "agent_handle"),
        ({"mail_filter_mode": "whitelist"}, "mail_filter_mode"),
    ],
)
def test_identity_patch_refusals(api: httpx.Client, body: dict[str, str], loc: str) -> None:
    before = api.get("/identities/sales-bot").json()
    response = api.patch("/identities/sales-bot", json=body)
    assert response.status_code == 422
    assert ["body", loc] in [e["loc"] for e in response.json()["detail"]]
    assert api.get("/identities/sales-bot").json() == before


def test_identity_modes_imessage_and_mirrors(api: httpx.Client) -> None:
    both = api.patch("/identities/sales-bot", json={"imessage_filter_mode": "whitelist"}).json()
    assert (both["phone_inbound_filter_mode"], both["phone_outbound_filter_mode"]) == (
        "whitelist",
        "whitelist",
    )
    split = api.patch("/identities/sales-bot", json={"phone_outbound_filter_mode": "blacklist"})
    identity = split.json()
    assert (identity["phone_filter_mode"], identity["imessage_filter_mode"]) == (
        "whitelist",
        "whitelist",
    )  # ASSUMED: the inbound mode when the directions differ
    number = identity["phone_number"]
    assert (
        number["filter_mode"],
        number["inbound_filter_mode"],
        number["outbound_filter_mode"],
    ) == (
        "whitelist",
        "whitelist",
        "blacklist",
    )
    mirror = api.patch(f"/phone/numbers/{SALES_NUMBER}", json={"inbound_filter_mode": "blacklist"})
    assert mirror.status_code == 422
    assert "read-only mirror" in mirror.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ({"forwarding_target_type": "sip"}, "'sip' forwarding needs forwarding_sip_uri"),
        (
            {"forwarding_target_type": "phone", "forwarding_sip_uri": "sip:desk@pbx.example.com"},
            "'phone' forwarding takes no forwarding_sip_uri",
        ),
        (
            {"forwarding_target_type": "sip", "forwarding_sip_uri": "sip:desk@localhost"},
            "not an IP address, localhost or a .local name",
        ),
    ],
)
def test_forwarding_refusals_say_what_to_change(
    api: httpx.Client, body: dict[str, str], msg: str
) -> None:
    # "needs only forwarding_sip_uri" was said both for a missing target and for a second one.
    response = api.patch(
        f"/phone/numbers/{SALES_NUMBER}", json={"incoming_call_action": "forward", **body}
    )
    assert response.status_code == 422, response.text
    assert any(msg in e["msg"] for e in response.json()["detail"]), response.text


def test_listing_envelope_filters_and_bad_queries(api: httpx.Client) -> None:
    for i in range(60):
        create(api, f"+1555006{i:04d}", direction=("inbound", "outbound", "both")[i % 3])
    page = api.get(SCHEDULER).json()
    assert (page["limit"], page["offset"], page["has_more"], len(page["items"])) == (
        50,
        0,
        True,
        50,
    )
    assert api.get(SCHEDULER, params={"limit": 1000}).json()["limit"] == 200  # clamped
    counts = {d: len(listed(api, direction=d)) for d in ("inbound", "outbound", "both")}
    assert counts == {"inbound": 1 + 40, "outbound": 1 + 40, "both": 1 + 20}  # demo rule: both
    assert listed(api, action="block") == [r for r in listed(api) if r["action"] == "block"]
    for params in ({"direction": "sideways"}, {"action": "deny"}, {"limit": "0"}):
        assert api.get(SCHEDULER, params=params).status_code == 422
    assert api.get("/phone/contact-rules", params={"agent_identity_id": "nope"}).status_code == 422
    assert api.get("/identities/nobody-bot/phone-contact-rules").status_code == 404


def test_agent_handle_chooses_the_agent_keys_identity() -> None:
    options = SandboxOptions(api_version="2026-10", agent_key="k", agent_handle="research-bot")
    with (
        SandboxServer(options) as box,
        httpx.Client(
            base_url=f"{box.base_url}/api", headers={"X-API-Key": "k"}, trust_env=False
        ) as agent,
    ):
        assert [i["agent_handle"] for i in agent.get("/v1/identities").json()] == ["research-bot"]
        assert agent.get("/v1/phone/numbers").json() == []  # research-bot has no number
        assert "research-bot" in agent.get("/whoami").json()["label"]
        assert agent.get("/v1/identities/support-bot").status_code == 404
        assert agent.get("/v1/phone/incoming-call-action").status_code == 404  # no number
    with pytest.raises(ConfigError, match="--agent-handle nobody-bot: no identity has that handle"):
        SandboxServer(SandboxOptions(api_version="2026-10", agent_handle="nobody-bot")).start()
    with pytest.raises(ConfigError, match="--agent-handle needs --api-version 2026-10"):
        SandboxServer(SandboxOptions(api_version="2026-06", agent_handle="research-bot"))


def test_replaying_the_journal_of_merges_and_splits_gives_the_same_state(tmp_path: Any) -> None:
    state = StateFile(tmp_path / "s.json")
    before = demo_document()
    state.start(before)
    store = IdentityRuleStore(before, journal=state)
    identity = demo_id("identity", "scheduler-bot")
    body = {"action": "allow", "match_type": "exact_number", "match_target": "+15550070001"}
    rule, _ = store.create_rule(identity, {**body, "direction": "inbound"})
    store.create_rule(identity, {**body, "direction": "outbound"})  # consolidates
    carved, _ = store.update_rule(identity, rule["id"], {"action": "block", "apply_to": "inbound"})
    store.update_rule(identity, carved["id"], {"action": "allow"})  # merges: an alias
    store.patch_identity(identity, {"phone_inbound_filter_mode": "whitelist"})
    store.patch_number(SALES_NUMBER, {"filter_mode": "whitelist"})
    after = store.document()
    assert after["rule_aliases"] == [{"id": carved["id"], "rule_id": rule["id"]}]
    lines = state.journal_path.read_bytes().splitlines(keepends=True)
    assert replay(before, lines, "journal") == after
    assert replay(after, lines, "journal") == after
