"""The 2026-10 reader on answers the sandbox never gives: values this tool does not
know, and fields a server may leave out (missing status is active, missing
direction is both). A canned server behind httpx.MockTransport; the real client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from inkbox_sync.client import Adapter2026_10
from inkbox_sync.errors import PermanentApiError, PlanError
from inkbox_sync.live import read_live_state
from inkbox_sync.model import LiveRule, LiveState
from tests.client.fakes import BASE, KEY, canned_org

SUPPORT, SALES, ODD = "+18335794607", "+14155550001", "+13125550199"


def identity(i: str, handle: str, **modes: str) -> dict[str, Any]:
    return {"id": i, "agent_handle": handle, **modes}


def number(i: str, e164: str, owner: str | None, action: str = "auto_reject") -> dict[str, Any]:
    return {
        "id": i,
        "number": e164,
        "incoming_call_action": action,
        "agent_identity_id": owner,
        "inbound_filter_mode": "blacklist",
        "outbound_filter_mode": "blacklist",
    }


def canned(rules: list[dict[str, Any]]) -> httpx.MockTransport:
    identities = [
        identity("i-sup", "support-bot", phone_filter_mode="blacklist"),
        # No directional field: both sides are phone_filter_mode, as the SDK reads it.
        identity("i-sal", "sales-bot", phone_filter_mode="whitelist"),
        identity("i-odd", "odd-bot", phone_inbound_filter_mode="greylist"),
    ]
    numbers = [
        number("n-sup", SUPPORT, "i-sup", action="ivr_menu"),  # a call action of tomorrow
        number("n-sal", SALES, "i-sal"),
        number("n-odd", ODD, "i-odd"),
    ]
    # One page of rules, the bare-list form.
    return canned_org(identities, numbers, lambda _: httpx.Response(200, json=rules))


def read(rules: list[dict[str, Any]], wanted: dict[str, bool]) -> LiveState:
    async def go() -> LiveState:
        async with Adapter2026_10(BASE, KEY, transport=canned(rules)) as client:
            return await read_live_state(client, wanted)

    return asyncio.run(go())


def rule(owner: str, target: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{owner}:{target}",
        "agent_identity_id": owner,
        "action": "allow",
        "match_type": "exact_number",
        "match_target": target,
        **fields,
    }


def test_unknown_values_where_nothing_manages_them_are_carried() -> None:
    rules = [
        rule("i-sup", "+15550000001"),  # no status, no direction
        rule("i-sal", "+15550000002", direction="outbound", status="paused"),
        rule("i-odd", "+15550000003", action="mute", direction="sideways"),  # never parsed
        rule("i-sup", "+15550000004", match_type="prefix"),  # another match type: not ours
    ]
    state = read(rules, {SUPPORT: True, SALES: True, ODD: False})
    support = state.numbers[SUPPORT]
    assert support.incoming_call_action == "ivr_menu"
    assert support.rules == {
        "+15550000001": LiveRule("i-sup:+15550000001", "+15550000001", "allow", "active", "both")
    }
    sales = state.numbers[SALES]
    assert (sales.inbound_filter_mode, sales.outbound_filter_mode) == ("whitelist", "whitelist")
    assert sales.rules is not None and sales.rules["+15550000002"] == LiveRule(
        "i-sal:+15550000002", "+15550000002", "allow", "paused", "outbound"
    )
    odd = state.numbers[ODD]
    assert (odd.inbound_filter_mode, odd.outbound_filter_mode) == ("greylist", "blacklist")
    assert odd.rules is None


@pytest.mark.parametrize(
    ("field", "value"), [("action", "mute"), ("direction", "sideways"), ("status", "archived")]
)
def test_an_unknown_value_in_a_managed_identitys_rules_is_a_plan_error(
    field: str, value: str
) -> None:
    rules = [rule("i-sal", "+15550000009", **{field: value})]
    with pytest.raises(PlanError) as info:
        read(rules, {SUPPORT: True, SALES: True})
    message = str(info.value)
    assert message.startswith("sales-bot: live rule i-sal:+15550000009")
    assert f"{field} {value!r}" in message


def test_a_malformed_row_fails_the_read_only_where_its_identity_is_managed() -> None:
    """The org-wide listing carries every identity's rows: one nothing manages is
    never read into an error, however broken its rows."""
    rules = [rule("i-sup", "+15550000001"), {**rule("i-odd", "+15550000002"), "id": 7}]
    state = read(rules, {SUPPORT: True, SALES: True, ODD: False})
    support = state.numbers[SUPPORT].rules
    assert support is not None and list(support) == ["+15550000001"]
    with pytest.raises(PermanentApiError, match="id"):
        read(rules, {SUPPORT: True, SALES: True, ODD: True})
