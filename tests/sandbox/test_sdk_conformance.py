"""The official SDK (inkbox==0.4.12, in its own venv), unchanged, against a 2026-06 sandbox.

One `inkbox-sync sandbox serve --api-version 2026-06` process serves the
module and one SDK driver process talks to it (`tests.support.sdk`): every
answer is parsed by the SDK itself. Each test starts from the demo
organisation (PUT /_sandbox/state).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.v2026_06 import demo_document
from tests.support.sandbox import SandboxProcess, control_client, sandbox_process
from tests.support.sdk import Obj, Remote, SdkDriver, SdkError

AGENT_KEY = "agent-scoped-key"
SUPPORT = demo_id("number", "+18335794607")
SCHEDULER = demo_id("number", "+14155550003")  # the demo number without rules


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    state: Path = tmp_path_factory.mktemp("conformance") / "state.json"
    with sandbox_process(state, api_version="2026-06", agent_key=AGENT_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def driver(sdk_0_4_12: Path) -> Iterator[SdkDriver]:
    with SdkDriver(sdk_0_4_12) as running:
        yield running


@pytest.fixture
def sdk(box: SandboxProcess, driver: SdkDriver) -> Remote:
    """The SDK client, on a sandbox freshly reset to the demo organisation."""
    box.put_state(demo_document())
    return driver.client(box.base_url, box.api_key)


def number(sdk: Remote, e164: str) -> Obj:
    return next(n for n in sdk.phone_numbers.list() if n.number == e164)


def test_identities_list_and_get_with_their_number(sdk: Remote) -> None:
    handles = [i.agent_handle for i in sdk.list_identities()]
    assert handles == [
        "support-bot",
        "sales-bot",
        "billing-bot",
        "scheduler-bot",
        "partner-bot",
        "legacy-bot",
    ]
    identity = sdk.get_identity("support-bot")
    assert identity.phone_number is not None
    assert identity.phone_number.number == "+18335794607"
    assert identity.phone_number.type == "toll_free"
    assert str(identity.phone_number.agent_identity_id) == str(identity.id)


def test_numbers_list_get_and_partial_update(sdk: Remote) -> None:
    numbers = sdk.phone_numbers.list()
    assert {n.number for n in numbers} >= {"+18335794607", "+14155550001", "+13125550199"}
    sales = number(sdk, "+14155550001")
    assert sdk.phone_numbers.get(sales.id) == sales

    updated = sdk.phone_numbers.update(sales.id, client_websocket_url="wss://new.example.com/ws")
    assert updated.client_websocket_url == "wss://new.example.com/ws"
    # Omitted fields are left alone; the write moves updated_at.
    assert updated.incoming_call_action == sales.incoming_call_action
    assert updated.filter_mode == sales.filter_mode
    assert updated.updated_at > sales.updated_at
    assert updated.filter_mode_change_notice is None
    assert sdk.phone_numbers.get(sales.id).client_websocket_url == "wss://new.example.com/ws"


def test_none_clears_a_url(sdk: Remote) -> None:
    sales = number(sdk, "+14155550001")  # auto_accept with a websocket URL
    cleared = sdk.phone_numbers.update(
        sales.id, incoming_call_action="auto_reject", client_websocket_url=None
    )
    assert cleared.client_websocket_url is None
    assert sdk.phone_numbers.get(sales.id).client_websocket_url is None


def test_filter_mode_change_notice_counts_active_redundant_rules(sdk: Remote) -> None:
    # support-bot: blacklist; active blocks +18005550199 and +19005550142; a paused block.
    flipped = sdk.phone_numbers.update(SUPPORT, filter_mode="whitelist")
    notice = flipped.filter_mode_change_notice
    assert notice is not None
    assert notice.new_filter_mode == "whitelist"
    assert notice.redundant_rule_action == "block"
    assert notice.redundant_rule_count == 2
    again = sdk.phone_numbers.update(SUPPORT, filter_mode="whitelist")
    assert again.filter_mode_change_notice is None  # nothing changed, no notice


def test_rule_lifecycle_create_duplicate_pause_delete_recreate(sdk: Remote) -> None:
    rules = sdk.phone_contact_rules
    first = rules.create(SCHEDULER, action="block", match_target="+15550001111")
    assert first.status == "active"
    assert str(first.phone_number_id) == SCHEDULER

    with pytest.raises(SdkError) as dup:
        rules.create(SCHEDULER, action="allow", match_target="+15550001111")
    assert (dup.value.type, dup.value.status_code) == ("DuplicateContactRuleError", 409)
    assert dup.value.existing_rule_id == first.id

    paused = rules.update(SCHEDULER, first.id, status="paused")
    assert paused.status == "paused"
    with pytest.raises(SdkError) as again:  # a paused rule still holds the slot
        rules.create(SCHEDULER, action="allow", match_target="+15550001111")
    assert again.value.type == "DuplicateContactRuleError"
    active = rules.update(SCHEDULER, first.id, status="active", action="allow")
    assert (active.status, active.action) == ("active", "allow")
    assert rules.get(SCHEDULER, first.id) == active

    rules.delete(SCHEDULER, first.id)
    with pytest.raises(SdkError) as gone:
        rules.get(SCHEDULER, first.id)
    assert gone.value.status_code == 404
    assert rules.list(SCHEDULER) == []  # deleted rules are never listed
    again = rules.create(SCHEDULER, action="block", match_target="+15550001111")
    assert again.id != first.id
    assert [r.id for r in rules.list(SCHEDULER)] == [again.id]


def test_org_wide_listing_filters_by_number_and_action(sdk: Remote) -> None:
    everything = sdk.phone_contact_rules.list_all(limit=200)
    assert len(everything) == len(demo_document()["rules"])
    support = sdk.phone_contact_rules.list_all(phone_number_id=SUPPORT)
    assert {str(r.phone_number_id) for r in support} == {SUPPORT}
    assert [r.id for r in support] == [r.id for r in sdk.phone_contact_rules.list(SUPPORT)]
    blocks = sdk.phone_contact_rules.list_all(phone_number_id=SUPPORT, action="block")
    assert blocks and all(r.action == "block" for r in blocks)
    assert len(blocks) == sum(1 for r in support if r.action == "block")


def test_paging_with_limit_and_offset(sdk: Remote) -> None:
    targets = [f"+1555000{i:04d}" for i in range(7)]
    created = [
        sdk.phone_contact_rules.create(SCHEDULER, action="allow", match_target=t).id
        for t in targets
    ]
    pages = [sdk.phone_contact_rules.list(SCHEDULER, limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [r.id for page in pages for r in page] == created  # creation order, no overlap
    org = [
        r.id
        for o in range(0, 8, 2)
        for r in sdk.phone_contact_rules.list_all(phone_number_id=SCHEDULER, limit=2, offset=o)
    ]
    assert org == created


def test_wrong_or_missing_key_is_401(box: SandboxProcess, driver: SdkDriver) -> None:
    wrong = driver.client(box.base_url, "not-the-key")
    with pytest.raises(SdkError) as err:
        wrong.phone_numbers.list()
    assert err.value.status_code == 401
    response = control_client().get(f"{box.api_url}/phone/numbers")
    assert response.status_code == 401


def test_unknown_ids_are_404(sdk: Remote) -> None:
    unknown = str(uuid.uuid4())
    for call in (
        lambda: sdk.phone_numbers.get(unknown),
        lambda: sdk.phone_numbers.update(unknown, filter_mode="whitelist"),
        lambda: sdk.phone_contact_rules.list(unknown),
        lambda: sdk.phone_contact_rules.get(SUPPORT, unknown),
        lambda: sdk.phone_contact_rules.update(SUPPORT, unknown, status="paused"),
        lambda: sdk.phone_contact_rules.delete(SUPPORT, unknown),
        lambda: sdk.get_identity("nobody-bot"),
    ):
        with pytest.raises(SdkError) as err:
            call()
        assert err.value.status_code == 404


def test_rule_of_another_number_is_404(sdk: Remote) -> None:
    rule = sdk.phone_contact_rules.list(SUPPORT)[0]
    with pytest.raises(SdkError) as err:
        sdk.phone_contact_rules.get(SCHEDULER, rule.id)
    assert err.value.status_code == 404


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda s: s.phone_contact_rules.create(
                SUPPORT, action="allow", match_target="4155550100"
            ),
            "match_target",
        ),
        (
            lambda s: s.phone_contact_rules.create(
                SUPPORT, action="maybe", match_target="+14155550100"
            ),
            "action",
        ),
        (lambda s: s.phone_numbers.update(SUPPORT, filter_mode="greylist"), "filter_mode"),
        (
            lambda s: s.phone_numbers.update(SUPPORT, incoming_call_action="auto_accept"),
            "incoming_call_action",
        ),
        (
            lambda s: s.phone_numbers.update(SUPPORT, incoming_call_action="webhook"),
            "incoming_call_action",
        ),
        (
            lambda s: s.phone_numbers.update(
                SUPPORT, incoming_call_webhook_url="http://hooks.example.com/x"
            ),
            "incoming_call_webhook_url",
        ),
        (
            lambda s: s.phone_numbers.update(
                SUPPORT, client_websocket_url="https://agent.example.com/ws"
            ),
            "client_websocket_url",
        ),
    ],
)
def test_invalid_bodies_are_422_in_list_form(sdk: Remote, call: object, field: str) -> None:
    with pytest.raises(SdkError) as err:
        call(sdk)  # type: ignore[operator]
    assert err.value.status_code == 422
    detail = err.value.detail
    assert isinstance(detail, list)
    assert {"loc", "msg", "type"} <= set(detail[0].as_json())
    assert field in [item.loc[-1] for item in detail]


def test_unknown_fields_and_status_on_create_are_422(box: SandboxProcess, sdk: Remote) -> None:
    rules_url = f"{box.api_url}/phone/numbers/{SCHEDULER}/contact-rules"
    body = {"action": "allow", "match_type": "exact_number", "match_target": "+15550009999"}
    response = control_client().post(
        rules_url, headers=box.headers(), json={**body, "status": "paused"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]
    response = control_client().patch(
        f"{box.api_url}/phone/numbers/{SCHEDULER}", headers=box.headers(), json={"state": "NY"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert sdk.phone_contact_rules.list(SCHEDULER) == []  # nothing was written


def test_agent_key_gets_403_on_admin_only_operations(
    box: SandboxProcess, driver: SdkDriver, sdk: Remote
) -> None:
    rule = sdk.phone_contact_rules.list(SUPPORT)[0]
    agent = driver.client(box.base_url, AGENT_KEY)
    assert agent.phone_numbers.get(SUPPORT).number == "+18335794607"
    created = agent.phone_contact_rules.create(
        SCHEDULER, action="allow", match_target="+15551112222"
    )
    assert created.status == "active"
    for call in (
        lambda: agent.phone_numbers.update(SUPPORT, filter_mode="whitelist"),
        lambda: agent.phone_contact_rules.update(SUPPORT, rule.id, status="paused"),
        lambda: agent.phone_contact_rules.delete(SUPPORT, rule.id),
        lambda: agent.phone_contact_rules.list_all(),
    ):
        with pytest.raises(SdkError) as err:
            call()
        assert err.value.status_code == 403
