"""The 2026-10 adapter against a real 2026-10 sandbox over loopback: reads, writes, detection.

The sandbox is in-process (`SandboxServer`) on a free port; every request goes
through the real transport and HTTP. What the sandbox cannot be made to send
(values this tool does not know) is in test_v2026_10_unknown.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from inkbox_sync.client import (
    Adapter2026_06,
    Adapter2026_10,
    InkboxClient,
    Notice,
    NoticeBoard,
    VersionChoice,
    connect,
    detect,
)
from inkbox_sync.errors import ConflictError, PermanentApiError, PlanError
from inkbox_sync.live import read_live_state
from inkbox_sync.model import LiveAgent, LiveRule
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.v2026_06.demo import demo_document as demo_2026_06
from inkbox_sync.sandbox.v2026_10.demo import demo_document
from tests.support.sandbox import get_requests, get_state

T = TypeVar("T")
SUPPORT, SALES, PARTNER, LEGACY = "+18335794607", "+14155550001", "+12125550100", "+13125550199"


@pytest.fixture
def box() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(api_version="2026-10")) as server:
        yield server


def run(
    box: SandboxServer,
    body: Callable[[Adapter2026_10], Awaitable[T]],
    **options: Any,
) -> T:
    async def go() -> T:
        async with Adapter2026_10(box.base_url, box.api_key, **options) as client:
            return await body(client)

    return asyncio.run(go())


def paths(box: SandboxServer) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in get_requests(box.base_url)]


# -- detection ---------------------------------------------------------------------------


def detected(options: SandboxOptions) -> tuple[str, str, list[str]]:
    with SandboxServer(options) as server:

        async def go() -> tuple[str, str]:
            async with InkboxClient(server.base_url, server.api_key) as client:
                version, how, _ = await detect(client)
                return version, how

        version, how = asyncio.run(go())
        return version, how, [f"{e['method']} {e['path']}" for e in get_requests(server.base_url)]


def test_detection_reads_the_two_listings_only() -> None:
    version, how, seen = detected(SandboxOptions(api_version="2026-10"))
    assert (version, how) == ("2026-10", "detected: its numbers carry inbound_filter_mode")
    assert sorted(seen) == ["GET /api/v1/identities/", "GET /api/v1/phone/numbers"]
    version, how, seen = detected(SandboxOptions(api_version="2026-06"))
    assert version == "2026-06" and "own filter_mode" in how
    assert len(seen) == 2


def test_detection_without_numbers() -> None:
    only_identities = demo_document()
    only_identities["numbers"] = []
    version, how, seen = detected(
        SandboxOptions(api_version="2026-10", initial_state=only_identities)
    )
    assert (version, how) == ("2026-10", "detected: its identities carry phone_filter_mode")
    old = demo_2026_06()
    old["numbers"], old["rules"] = [], []
    version, how, seen = detected(SandboxOptions(api_version="2026-06", initial_state=old))
    # 2026-06 identities carry no phone mode: one read of a 2026-10-only route tells.
    assert version == "2026-06" and "no newer version" in how
    assert seen[-1] == "GET /api/v1/identities/support-bot/phone-contact-rules"
    empty = {"api_version": "2026-10", "identities": [], "numbers": [], "rules": []}
    version, how, _ = detected(SandboxOptions(api_version="2026-10", initial_state=empty))
    assert version == "2026-10" and how.startswith("assumed")


def test_connect_detects_once_per_choice_and_reuses_the_listings(box: SandboxServer) -> None:
    choice = VersionChoice()

    async def go() -> tuple[str, str]:
        async with connect(box.base_url, box.api_key, version=choice) as first:
            await read_live_state(first, {SUPPORT: False})
        async with connect(box.base_url, box.api_key, version=choice) as second:
            return first.api_version, second.api_version

    assert asyncio.run(go()) == ("2026-10", "2026-10")
    assert choice.found == "2026-10" and choice.how.startswith("detected")
    assert len(paths(box)) == 2  # the read used detection's listings; the second asked nothing
    forced = VersionChoice("2026-06")

    async def forcing() -> str:
        async with connect(box.base_url, box.api_key, version=forced) as client:
            return client.api_version

    assert asyncio.run(forcing()) == "2026-06" and forced.how == "as --api-version says"


# -- reading -----------------------------------------------------------------------------


def test_reader_maps_identities_numbers_and_directional_rules(box: SandboxServer) -> None:
    state = run(
        box,
        lambda c: read_live_state(
            c,
            {SUPPORT: True, SALES: True, PARTNER: False},
            agents={"research-bot": True, "nobody": True},
        ),
    )
    assert state.api_version == "2026-10" and state.capabilities.directional_rules
    sales = state.numbers[SALES]
    assert (sales.policy_id, sales.agent_handle) == ("sales-bot", "sales-bot")
    assert (sales.inbound_filter_mode, sales.outbound_filter_mode) == ("blacklist", "whitelist")
    assert sales.incoming_call_action == "forward"
    assert sales.forwarding_phone_number == "+14155559000" and sales.forwarding_sip_uri is None
    assert sales.rules is not None
    assert sales.rules["+18005550190"] == LiveRule(
        sales.rules["+18005550190"].id,
        "+18005550190",
        "block",
        "active",
        "inbound",  # type: ignore[union-attr]
    )
    support = state.numbers[SUPPORT].rules
    assert support is not None
    legacy = support["+14155550167"]
    assert isinstance(legacy, LiveRule) and (legacy.status, legacy.direction) == ("paused", "both")
    assert state.numbers[PARTNER].rules is None  # not wanted: not read
    research = state.agents["research-bot"]
    assert isinstance(research, LiveAgent) and research.rules is not None
    assert research.rules["+14155550100"].direction == "outbound"  # type: ignore[union-attr]
    assert "nobody" not in state.agents  # the planner says it is not an identity here
    # Three identities of seven: one listing per identity, never legacy-bot's.
    rule_reads = sorted(p for p in paths(box) if "contact-rules" in p)
    assert rule_reads == [
        f"GET /api/v1/identities/{h}/phone-contact-rules"
        for h in ("research-bot", "sales-bot", "support-bot")
    ]


def test_most_identities_are_read_org_wide_and_export_reads_everything(
    box: SandboxServer,
) -> None:
    state = run(box, lambda c: read_live_state(c, None))
    assert len(state.numbers) == 6 and list(state.agents) == ["research-bot"]
    assert all(n.rules is not None for n in state.numbers.values())
    assert [p for p in paths(box) if "contact-rules" in p] == ["GET /api/v1/phone/contact-rules"]


def test_a_pool_number_can_have_its_routing_managed_but_not_its_policy() -> None:
    document = demo_document()
    legacy = next(n for n in document["numbers"] if n["number"] == LEGACY)
    legacy["agent_identity_id"] = None
    with SandboxServer(SandboxOptions(api_version="2026-10", initial_state=document)) as box:
        state = run(box, lambda c: read_live_state(c, {LEGACY: False}))
        assert state.numbers[LEGACY].policy_id is None
        assert state.numbers[LEGACY].agent_handle is None
        with pytest.raises(PlanError, match=r"\+13125550199: no agent identity owns this number"):
            run(box, lambda c: read_live_state(c, {LEGACY: True}))


# -- writes ------------------------------------------------------------------------------


def test_rules_are_written_by_handle_with_directions_merges_and_splits(
    box: SandboxServer,
) -> None:
    target = "+15550001000"

    async def go(c: Adapter2026_10) -> list[LiveRule]:
        inbound = await c.create_rule(
            "support-bot", action="allow", target=target, direction="inbound"
        )
        merged = await c.create_rule(
            "support-bot", action="allow", target=target, direction="outbound"
        )
        split = await c.update_rule("support-bot", merged.id, action="block", apply_to="outbound")
        kept = await c.get_rule("support-bot", merged.id)
        shrunk = await c.update_rule("support-bot", kept.id, direction="inbound")
        await c.delete_rule("support-bot", split.id)
        await c.delete_rule("support-bot", split.id)  # already gone: done
        return [inbound, merged, split, kept, shrunk]

    inbound, merged, split, kept, shrunk = run(box, go)
    assert inbound.direction == "inbound"
    # The server consolidated: the answer's id and direction are the truth.
    assert (merged.id, merged.direction) == (inbound.id, "both")
    assert (split.direction, split.action) == ("outbound", "block") and split.id != merged.id
    assert (kept.id, kept.direction, kept.action) == (merged.id, "inbound", "allow")
    assert shrunk.direction == "inbound"
    posted = [e["body"] for e in get_requests(box.base_url) if e["method"] == "POST"]
    assert posted[0] == {
        "action": "allow",
        "match_type": "exact_number",
        "match_target": target,
        "direction": "inbound",
    }


def test_a_create_on_a_covered_side_is_a_conflict_naming_the_rule(box: SandboxServer) -> None:
    async def go(c: Adapter2026_10) -> ConflictError:
        with pytest.raises(ConflictError) as info:
            await c.create_rule("support-bot", action="allow", target="+14155550100")
        return info.value

    error = run(box, go)
    assert error.existing_rule_id is not None and not error.after_lost_answer


def test_modes_go_to_the_identity_and_routing_to_the_number(box: SandboxServer) -> None:
    sales_id = next(n["id"] for n in get_state(box.base_url)["numbers"] if n["number"] == SALES)

    async def go(c: Adapter2026_10) -> None:
        await c.set_modes("sales-bot", {"inbound": "whitelist", "outbound": "whitelist"})
        await c.set_modes("sales-bot", {"outbound": "blacklist"})
        await c.set_modes("support-bot", {"inbound": "whitelist", "outbound": "blacklist"})
        await c.patch_number(
            sales_id,
            {
                "incoming_call_action": "forward",
                "forwarding_target_type": "sip",
                "forwarding_sip_uri": "sip:desk@pbx.example.com",
                "forwarding_phone_number": None,
            },
        )
        with pytest.raises(ValueError, match="filter_mode"):
            await c.patch_number(sales_id, {"filter_mode": "whitelist"})
        with pytest.raises(ValueError, match="status"):
            await c.update_rule("sales-bot", "x", status="paused")

    run(box, go)
    writes = [(e["path"], e["body"]) for e in get_requests(box.base_url) if e["method"] == "PATCH"]
    assert writes[:3] == [
        ("/api/v1/identities/sales-bot", {"phone_filter_mode": "whitelist"}),
        ("/api/v1/identities/sales-bot", {"phone_outbound_filter_mode": "blacklist"}),
        (
            "/api/v1/identities/support-bot",
            {"phone_inbound_filter_mode": "whitelist", "phone_outbound_filter_mode": "blacklist"},
        ),
    ]
    state = run(box, lambda c: read_live_state(c, {SALES: False, SUPPORT: False}))
    sales, support = state.numbers[SALES], state.numbers[SUPPORT]
    assert (sales.inbound_filter_mode, sales.outbound_filter_mode) == ("whitelist", "blacklist")
    assert sales.forwarding_sip_uri == "sip:desk@pbx.example.com"
    assert (support.inbound_filter_mode, support.outbound_filter_mode) == ("whitelist", "blacklist")


# -- notices, the sunset, the key ----------------------------------------------------------


def test_notices_are_passed_on_once_per_run(box: SandboxServer) -> None:
    shown: list[Notice] = []
    board = NoticeBoard(shown.append)

    async def twice(c: Adapter2026_10) -> None:
        await read_live_state(c, {SALES: False})
        await read_live_state(c, {SALES: False})

    run(box, twice, notices=board)
    run(box, twice, notices=board)  # another client of the same run
    assert [n.code for n in shown] == ["phone_number_filter_mode_mirror"]
    assert shown[0].level == "info" and "mirrors" in shown[0].message


def test_a_410_names_the_version_problem_and_is_not_retried(box: SandboxServer) -> None:
    number_id = get_state(box.base_url)["numbers"][0]["id"]

    async def go() -> PermanentApiError:
        async with Adapter2026_06(box.base_url, box.api_key) as old:
            with pytest.raises(PermanentApiError) as info:
                await old.list_number_rules(number_id)
            return info.value

    error = asyncio.run(go())
    assert error.status == 410
    assert "another API version" in str(error) and "--api-version" in str(error)
    assert len(get_requests(box.base_url)) == 1


def test_an_agent_key_is_agent_scoped() -> None:
    options = SandboxOptions(api_version="2026-10", agent_key="agent-key")
    with SandboxServer(options) as box:

        async def go() -> bool | None:
            async with Adapter2026_10(box.base_url, "agent-key") as client:
                scope = await client.whoami()
                assert scope is not None
                return scope.admin

        assert asyncio.run(go()) is False


def test_a_forced_2026_10_against_a_2026_06_api_says_so_instead_of_reading_no_rules() -> None:
    with SandboxServer(SandboxOptions(api_version="2026-06")) as old:

        async def go() -> None:
            async with Adapter2026_10(old.base_url, old.api_key) as client:
                await read_live_state(client, None)

        with pytest.raises(
            PermanentApiError, match=r"has no agent_identity_id.*--api-version auto"
        ):
            asyncio.run(go())
