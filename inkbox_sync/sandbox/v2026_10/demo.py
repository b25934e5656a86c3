"""The 2026-10 demo organisation a fresh 2026-10 sandbox starts with.

It owns the numbers `examples/` names (with the same ids as in the 2026-06
demo), configured *differently* from what the examples ask for, so a first
`plan` shows a real plan, and it shows what 2026-10 adds: directional modes
(sales-bot), forwarded numbers (sales-bot to a phone, partner-bot to a SIP
URI), a hosted agent (support-bot), one-way rules the examples want for both
directions, legacy paused rows from before rule status became read-only
(support-bot, billing-bot), and an identity without a number (research-bot),
whose rules need none. `legacy-bot` is named by no example: a correct tool
never touches it. `support-bot` comes first: the agent-scoped key's identity
unless `--agent-handle` says otherwise.
"""

from __future__ import annotations

from typing import Final

from inkbox_sync.sandbox.demo import CREATED, demo_id, demo_identity
from inkbox_sync.sandbox.document import Document
from inkbox_sync.sandbox.v2026_10.state import VERSION, with_mirrors, with_modes
from inkbox_sync.sandbox.validation import JsonObj

Rule = tuple[str, str, str, str]  # action, target, direction, status
# number, type, state, call action, websocket url, webhook url, forwarding type, target
Number = tuple[str, str, str | None, str, str | None, str | None, str | None, str | None]

# handle, number (None: the identity has none), inbound mode, outbound mode, rules
_IDENTITIES: Final[list[tuple[str, Number | None, str, str, list[Rule]]]] = [
    (
        "support-bot",
        ("+18335794607", "toll_free", None, "hosted_agent", None, None, None, None),
        "blacklist", "blacklist",
        [
            ("block", "+14155550166", "inbound", "active"),  # examples: both directions
            ("block", "+14155550167", "both", "paused"),  # legacy paused row; examples: active
            ("allow", "+14155550100", "both", "active"),  # stale: redundant, unnamed
            ("block", "+19005550142", "both", "active"),  # stale: no manifest names it
        ],
    ),
    (
        "sales-bot",
        ("+14155550001", "local", "CA", "forward", None, None, "phone", "+14155559000"),
        "blacklist", "whitelist",  # directional; the examples want one shared blacklist
        [
            ("block", "+18005550190", "inbound", "active"),
            ("allow", "+14155550110", "outbound", "active"),
            ("allow", "+14155550120", "both", "active"),  # examples block it
        ],
    ),
    (
        "billing-bot",
        (
            "+14155550002", "local", "CA", "webhook",
            None, "https://billing.example.com/inkbox/calls", None, None,
        ),
        "blacklist", "blacklist",  # the examples flip it to whitelist
        [
            ("allow", "+14155550110", "both", "active"),
            ("allow", "+14155550130", "both", "active"),
            ("allow", "+14155550131", "both", "paused"),  # legacy paused row; examples: active
            ("block", "+18005550199", "both", "active"),
        ],
    ),
    (
        "scheduler-bot",
        ("+14155550003", "local", "CA", "auto_reject", None, None, None, None),
        "blacklist", "blacklist",
        [("block", "+18005550123", "both", "active")],  # the examples keep unmanaged rules
    ),
    (
        "partner-bot",
        (
            "+12125550100", "local", "NY", "forward",
            None, None, "sip", "sip:reception@pbx.partners.example.com",
        ),
        "whitelist", "whitelist",
        [
            ("allow", "+12125550150", "inbound", "active"),
            ("allow", "+12125550152", "both", "active"),  # the examples stage it
            ("block", "+14155550666", "both", "active"),  # redundant under whitelist
        ],
    ),
    (
        "legacy-bot",
        (
            "+13125550199", "local", "IL", "webhook",
            None, "https://legacy.example.com/hooks/inkbox", None, None,
        ),
        "blacklist", "blacklist",
        [
            ("block", "+18005550123", "both", "active"),
            ("allow", "+13125550100", "both", "active"),
        ],
    ),
    (
        "research-bot",
        None,  # no number: its rules govern its iMessage, and a number provisioned later
        "whitelist", "whitelist",
        [
            ("allow", "+14155550100", "outbound", "active"),
            ("allow", "+14155550110", "both", "active"),
        ],
    ),
]  # fmt: skip


def demo_document() -> Document:
    """A fresh copy of the 2026-10 demo organisation's state document."""
    identities: list[JsonObj] = []
    numbers: list[JsonObj] = []
    rules: list[JsonObj] = []
    for handle, number, inbound, outbound, identity_rules in _IDENTITIES:
        identity = with_modes(demo_identity(handle), inbound, outbound)
        identity_id = identity["id"]
        identities.append(identity)
        if number is not None:
            e164, type_, state, action, ws_url, hook_url, kind, target = number
            numbers.append(
                with_mirrors(
                    {
                        "id": demo_id("number", e164),
                        "number": e164,
                        "type": type_,
                        "status": "active",
                        "state": state,
                        "country": "US",
                        "incoming_call_action": action,
                        "client_websocket_url": ws_url,
                        "incoming_call_webhook_url": hook_url,
                        "forwarding_target_type": kind,
                        "forwarding_phone_number": target if kind == "phone" else None,
                        "forwarding_sip_uri": target if kind == "sip" else None,
                        "agent_identity_id": identity_id,
                        "sms_status": "ready",
                        "created_at": CREATED,
                        "updated_at": CREATED,
                    },
                    identity,
                )
            )
        for rule_action, target, direction, status in identity_rules:
            rules.append(
                {
                    "id": demo_id("rule", f"{handle}:{target}:{direction}"),
                    "agent_identity_id": identity_id,
                    "action": rule_action,
                    "match_type": "exact_number",
                    "match_target": target,
                    "direction": direction,
                    "status": status,
                    "contact": None,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
            )
    return {
        "api_version": VERSION,
        "identities": identities,
        "numbers": numbers,
        "rules": rules,
        "rule_aliases": [],
    }
