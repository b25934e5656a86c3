"""The official SDK (inkbox==0.7.20, in its own venv), unchanged, against a 2026-10 sandbox.

One `inkbox-sync sandbox serve --api-version 2026-10` process serves the
module and one SDK driver process talks to it (`tests.support.sdk`): every
answer is parsed by the SDK itself. Each test starts from the 2026-10 demo
organisation (PUT /_sandbox/state); its layout is in `v2026_10/demo.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.v2026_10 import demo_document
from tests.support.sandbox import SandboxProcess, sandbox_process
from tests.support.sdk import Obj, Remote, SdkDriver, SdkError

AGENT_KEY = "agent-scoped-key"  # the first identity's: support-bot
SUPPORT_ID = demo_id("identity", "support-bot")
SCHEDULER_ID = demo_id("identity", "scheduler-bot")
SALES_NUMBER = demo_id("number", "+14155550001")
SCHEDULER_NUMBER = demo_id("number", "+14155550003")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    state: Path = tmp_path_factory.mktemp("sdk-0.7.20") / "state.json"
    with sandbox_process(state, api_version="2026-10", agent_key=AGENT_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def driver(sdk_0_7_20: Path) -> Iterator[SdkDriver]:
    with SdkDriver(sdk_0_7_20) as running:
        yield running


@pytest.fixture
def sdk(box: SandboxProcess, driver: SdkDriver) -> Remote:
    """The SDK client, on a sandbox freshly reset to the 2026-10 demo organisation."""
    box.put_state(demo_document())
    return driver.client(box.base_url, box.api_key)


@pytest.fixture
def agent(box: SandboxProcess, driver: SdkDriver, sdk: Remote) -> Remote:
    return driver.client(box.base_url, AGENT_KEY)


def raises(call: object, status: int | None, sdk_type: str = "InkboxAPIError") -> SdkError:
    """The SdkError `call()` raises: of `sdk_type`, with HTTP `status` (None: the SDK's own)."""
    with pytest.raises(SdkError) as err:
        call()  # type: ignore[operator]
    assert (err.value.type, err.value.status_code) == (sdk_type, status), err.value
    return err.value


def rules_of(sdk: Remote, handle: str, **filters: object) -> list[Obj]:
    result: list[Obj] = sdk.phone_identity_contact_rules.list(handle, limit=200, **filters)
    return result


# -- identities -----------------------------------------------------------------


def test_identities_list_and_get_with_shared_and_directional_modes(sdk: Remote) -> None:
    listed = sdk.list_identities()
    assert [i.agent_handle for i in listed] == [
        "support-bot",
        "sales-bot",
        "billing-bot",
        "scheduler-bot",
        "partner-bot",
        "legacy-bot",
        "research-bot",
    ]
    sales = sdk.get_identity("sales-bot")
    assert (sales.phone_inbound_filter_mode, sales.phone_outbound_filter_mode) == (
        "blacklist",
        "whitelist",
    )
    assert sales.phone_filter_mode == "blacklist"  # ASSUMED: the inbound mode when they differ
    assert sales.phone_number.number == "+14155550001"
    assert sales.phone_number.agent_identity_id == sales.id
    partner = sdk.identities.get("partner-bot")
    assert (partner.phone_filter_mode, partner.imessage_filter_mode) == ("whitelist", "whitelist")
    assert partner.phone_outbound_filter_mode == "whitelist"
    research = sdk.get_identity("research-bot")
    assert research.phone_number is None  # an identity without a number
    raises(lambda: sdk.get_identity("nobody-bot"), 404)


def test_identity_mode_writes_shared_and_directional(sdk: Remote) -> None:
    shared = sdk.identities.update("sales-bot", phone_filter_mode="whitelist")
    assert (shared.phone_inbound_filter_mode, shared.phone_outbound_filter_mode) == (
        "whitelist",
        "whitelist",
    )
    one_side = sdk.identities.update("sales-bot", phone_inbound_filter_mode="blacklist")
    assert (one_side.phone_inbound_filter_mode, one_side.phone_outbound_filter_mode) == (
        "blacklist",
        "whitelist",
    )
    # The number's modes are read-only mirrors of its identity's.
    number = sdk.phone_numbers.get(SALES_NUMBER)
    assert (number.inbound_filter_mode, number.outbound_filter_mode) == ("blacklist", "whitelist")
    # The SDK itself refuses to mix shared and directional modes (the server would 422).
    refused = raises(
        lambda: sdk.identities.update(
            "sales-bot", phone_filter_mode="whitelist", phone_inbound_filter_mode="blacklist"
        ),
        None,
        "ValueError",
    )
    assert "Cannot combine" in str(refused)


# -- numbers ----------------------------------------------------------------------


def test_numbers_routing_forward_and_hosted_agent(sdk: Remote) -> None:
    by_number = {n.number: n for n in sdk.phone_numbers.list()}
    assert by_number["+18335794607"].incoming_call_action == "hosted_agent"
    sales = by_number["+14155550001"]
    assert (sales.incoming_call_action, sales.forwarding_target_type) == ("forward", "phone")
    assert sales.forwarding_phone_number == "+14155559000"
    assert (sales.filter_mode, sales.inbound_filter_mode, sales.outbound_filter_mode) == (
        "blacklist",
        "blacklist",
        "whitelist",
    )
    partner = by_number["+12125550100"]
    assert partner.forwarding_target_type == "sip"
    assert partner.forwarding_sip_uri == "sip:reception@pbx.partners.example.com"
    assert partner.country == "US"

    forwarded = sdk.phone_numbers.update(
        SCHEDULER_NUMBER,
        incoming_call_action="forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sips:desk@voice.example.com",
    )
    assert (forwarded.incoming_call_action, forwarded.forwarding_sip_uri) == (
        "forward",
        "sips:desk@voice.example.com",
    )
    # Clearing the target only in the update that switches away from forward.
    raises(lambda: sdk.phone_numbers.update(SCHEDULER_NUMBER, forwarding_target_type=None), 422)
    hosted = sdk.phone_numbers.update(
        SCHEDULER_NUMBER, incoming_call_action="hosted_agent", forwarding_target_type=None
    )
    assert (hosted.incoming_call_action, hosted.forwarding_target_type) == ("hosted_agent", None)
    assert hosted.forwarding_sip_uri is None
    raises(lambda: sdk.phone_numbers.update(SCHEDULER_NUMBER, incoming_call_action="forward"), 422)
    raises(
        lambda: sdk.phone_numbers.update(
            SCHEDULER_NUMBER,
            incoming_call_action="forward",
            forwarding_target_type="sip",
            forwarding_sip_uri="sip:desk@10.0.0.7",  # not a public DNS host
        ),
        422,
    )


def test_incoming_call_action_is_the_numbers_routing(sdk: Remote) -> None:
    config = sdk.incoming_call_action.get(agent_identity_id=SUPPORT_ID)
    assert (config.agent_identity_id, config.incoming_call_action) == (SUPPORT_ID, "hosted_agent")
    changed = sdk.incoming_call_action.set(
        agent_identity_id=SCHEDULER_ID,
        incoming_call_action="forward",
        forwarding_target_type="phone",
        forwarding_phone_number="+14155550999",
    )
    assert changed.forwarding_phone_number == "+14155550999"
    assert sdk.phone_numbers.get(SCHEDULER_NUMBER).incoming_call_action == "forward"


def test_legacy_filter_mode_write_through_the_number_and_notices(
    box: SandboxProcess, driver: SdkDriver, sdk: Remote
) -> None:
    scoped = driver.client(box.base_url, box.api_key, notices=True)
    listed = scoped.phone_numbers.list()
    assert [n.code for n in listed.notices] == ["phone_number_filter_mode_mirror"]
    flipped = scoped.phone_numbers.update(SALES_NUMBER, filter_mode="whitelist")
    notice = flipped.data.filter_mode_change_notice
    assert (notice.new_filter_mode, notice.redundant_rule_action) == ("whitelist", "block")
    assert notice.redundant_rule_count == 1  # sales-bot's active inbound block
    assert [n.code for n in flipped.notices] == ["phone_number_filter_mode_deprecated"]
    assert flipped.notices[0].level == "warning"
    sales = sdk.get_identity("sales-bot")  # both directions of the identity's mode
    assert (sales.phone_inbound_filter_mode, sales.phone_outbound_filter_mode) == (
        "whitelist",
        "whitelist",
    )
    again = sdk.phone_numbers.update(SALES_NUMBER, filter_mode="whitelist")
    assert again.filter_mode_change_notice is None  # nothing changed


# -- rules ------------------------------------------------------------------------------


def test_rule_create_with_and_without_direction_list_update_delete(sdk: Remote) -> None:
    rules = sdk.phone_identity_contact_rules
    both = rules.create("scheduler-bot", action="block", match_target="+15550001111")
    assert (both.direction, both.status, both.agent_identity_id) == ("both", "active", SCHEDULER_ID)
    inbound = rules.create(
        "scheduler-bot", action="allow", match_target="+15550002222", direction="inbound"
    )
    assert inbound.direction == "inbound"
    assert rules.get("scheduler-bot", inbound.id) == inbound

    # Direction filters: inbound/outbound also return both rules; both only both.
    ids = {
        d: [r.id for r in rules_of(sdk, "scheduler-bot", direction=d)]
        for d in ("inbound", "outbound", "both")
    }
    assert both.id in ids["inbound"] and inbound.id in ids["inbound"]
    assert both.id in ids["outbound"] and inbound.id not in ids["outbound"]
    assert both.id in ids["both"] and inbound.id not in ids["both"]

    by_action = rules.update("scheduler-bot", both.id, action="allow")
    assert (by_action.id, by_action.action, by_action.direction) == (both.id, "allow", "both")
    narrowed = rules.update("scheduler-bot", inbound.id, direction="outbound")
    assert (narrowed.id, narrowed.direction) == (inbound.id, "outbound")

    rules.delete("scheduler-bot", narrowed.id)
    raises(lambda: rules.get("scheduler-bot", narrowed.id), 404)
    assert narrowed.id not in [r.id for r in rules_of(sdk, "scheduler-bot")]


def test_apply_to_splits_a_both_rule_and_the_same_action_consolidates(sdk: Remote) -> None:
    rules = sdk.phone_identity_contact_rules
    rule = rules.create("scheduler-bot", action="block", match_target="+15550003333")
    carved = rules.update("scheduler-bot", rule.id, action="allow", apply_to="inbound")
    assert (carved.direction, carved.action) == ("inbound", "allow")
    assert carved.id != rule.id
    kept = rules.get("scheduler-bot", rule.id)
    assert (kept.direction, kept.action) == ("outbound", "block")
    # Back to one action: the two one-way rules consolidate under the older id.
    merged = rules.update("scheduler-bot", carved.id, action="block")
    assert (merged.id, merged.direction) == (rule.id, "both")
    assert rules.get("scheduler-bot", carved.id).id == rule.id  # the old id is an alias
    # A create that completes a one-way rule extends it: the answer has its id.
    one_way = rules.create(
        "scheduler-bot", action="allow", match_target="+15550004444", direction="outbound"
    )
    completed = rules.create(
        "scheduler-bot", action="allow", match_target="+15550004444", direction="inbound"
    )
    assert (completed.id, completed.direction) == (one_way.id, "both")


def test_duplicate_coverage_raises_with_the_existing_rule_id(sdk: Remote) -> None:
    rules = sdk.phone_identity_contact_rules
    inbound_block = next(
        r for r in rules_of(sdk, "support-bot") if r.match_target == "+14155550166"
    )
    assert inbound_block.direction == "inbound"
    dup = raises(
        lambda: rules.create("support-bot", action="allow", match_target="+14155550166"),
        409,
        "DuplicateContactRuleError",
    )
    assert dup.existing_rule_id == inbound_block.id
    assert dup.detail.direction == "inbound"


def test_legacy_paused_rows_parse_and_stay_paused(sdk: Remote) -> None:
    rules = sdk.phone_identity_contact_rules
    paused = next(r for r in rules_of(sdk, "support-bot") if r.status == "paused")
    assert (paused.match_target, paused.direction) == ("+14155550167", "both")
    changed = rules.update("support-bot", paused.id, action="allow")
    assert (changed.action, changed.status) == ("allow", "paused")


def test_org_wide_listing_with_filters_and_paging(sdk: Remote) -> None:
    everything = sdk.phone_identity_contact_rules.list_all(limit=200)
    assert len(everything) == len(demo_document()["rules"])
    support = sdk.phone_identity_contact_rules.list_all(agent_identity_id=SUPPORT_ID)
    assert {r.agent_identity_id for r in support} == {SUPPORT_ID}
    outbound = sdk.phone_identity_contact_rules.list_all(direction="outbound", limit=200)
    assert {r.direction for r in outbound} == {"outbound", "both"}
    only_both = sdk.phone_identity_contact_rules.list_all(direction="both", limit=200)
    assert {r.direction for r in only_both} == {"both"}
    assert len(outbound) + sum(1 for r in everything if r.direction == "inbound") == len(everything)
    pages = [
        sdk.phone_identity_contact_rules.list_all(limit=4, offset=offset)
        for offset in range(0, len(everything) + 4, 4)
    ]
    assert [r.id for page in pages for r in page] == [r.id for r in everything]
    assert pages[-1] == []
    # The 2026-06 per-number routes are gone (sunset 2026-08-31).
    raises(lambda: sdk.phone_contact_rules.list(SALES_NUMBER), 410)
    raises(lambda: sdk.phone_contact_rules.list_all(phone_number_id=SALES_NUMBER), 410)


def test_paging_an_identitys_rules(sdk: Remote) -> None:
    made = [
        sdk.phone_identity_contact_rules.create(
            "research-bot", action="allow", match_target=f"+1555100{i:04d}", direction="inbound"
        ).id
        for i in range(7)
    ]
    existing = len(rules_of(sdk, "research-bot")) - len(made)
    pages = [
        sdk.phone_identity_contact_rules.list("research-bot", limit=3, offset=existing + offset)
        for offset in (0, 3, 6, 9)
    ]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [r.id for page in pages for r in page] == made  # creation order, no overlap


# -- keys ---------------------------------------------------------------------------


def test_whoami_for_the_admin_and_the_agent_key(sdk: Remote, agent: Remote) -> None:
    admin = sdk.whoami()
    assert (admin.auth_type, admin.auth_subtype) == ("api_key", "api_key.admin_scoped")
    assert admin.organization_id == "org_sandbox"
    scoped = agent.whoami()
    assert scoped.auth_subtype == "api_key.agent_scoped.claimed"
    assert scoped.key_id != admin.key_id


def test_the_agent_key_sees_only_its_identity_and_number(sdk: Remote, agent: Remote) -> None:
    assert [i.agent_handle for i in agent.list_identities()] == ["support-bot"]
    assert [n.number for n in agent.phone_numbers.list()] == ["+18335794607"]
    assert agent.get_identity("support-bot").phone_number.number == "+18335794607"
    assert rules_of(agent, "support-bot") == rules_of(sdk, "support-bot")
    raises(lambda: agent.get_identity("sales-bot"), 404)
    raises(lambda: agent.phone_numbers.get(SALES_NUMBER), 404)
    raises(lambda: agent.phone_identity_contact_rules.list("sales-bot"), 404)
    config = agent.incoming_call_action.get()  # an agent key resolves its own identity
    assert config.agent_identity_id == SUPPORT_ID


def test_the_agent_key_gets_403_on_admin_only_writes(sdk: Remote, agent: Remote) -> None:
    rule = rules_of(sdk, "support-bot")[0]
    support_number = sdk.get_identity("support-bot").phone_number.id
    for call in (
        lambda: agent.phone_identity_contact_rules.create(
            "support-bot", action="allow", match_target="+15551112222"
        ),
        lambda: agent.phone_identity_contact_rules.update("support-bot", rule.id, action="allow"),
        lambda: agent.phone_identity_contact_rules.delete("support-bot", rule.id),
        lambda: agent.phone_identity_contact_rules.list_all(),
        lambda: agent.identities.update("support-bot", phone_filter_mode="whitelist"),
        lambda: agent.phone_numbers.update(support_number, filter_mode="whitelist"),
    ):
        raises(call, 403)
    # Routing is not admin-only.
    routed = agent.phone_numbers.update(support_number, incoming_call_action="auto_reject")
    assert routed.incoming_call_action == "auto_reject"


def test_wrong_key_is_401_and_bad_bodies_are_422(
    box: SandboxProcess, driver: SdkDriver, sdk: Remote
) -> None:
    wrong = driver.client(box.base_url, "not-the-key")
    raises(lambda: wrong.list_identities(), 401)
    invalid = raises(
        lambda: sdk.phone_identity_contact_rules.create(
            "support-bot", action="maybe", match_target="4155550100"
        ),
        422,
    )
    assert isinstance(invalid.detail, list)
    assert sorted(item.loc[-1] for item in invalid.detail) == ["action", "match_target"]
    raises(lambda: sdk.phone_numbers.update(SALES_NUMBER, incoming_call_action="webhook"), 422)
