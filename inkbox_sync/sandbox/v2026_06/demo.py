"""The 2026-06 demo organisation a fresh 2026-06 sandbox starts with.

It owns the numbers `examples/` names, configured *differently* from what the
examples ask for (a blacklist where a whitelist is wanted, `auto_reject` where
a webhook is wanted, a stale block rule, a paused rule that should be active
and the reverse), so a newcomer's first `plan` on the examples shows a real
plan. `legacy-bot` is named by no example: a correct tool never touches it.
"""

from __future__ import annotations

from typing import Final

from inkbox_sync.sandbox.demo import CREATED, demo_id, demo_identity
from inkbox_sync.sandbox.document import Document
from inkbox_sync.sandbox.validation import JsonObj

# handle, number, type, state, call action, websocket url, webhook url, filter mode, rules
# (rules: action, target, status)
_NUMBERS: Final[list[tuple[str, str, str, str | None, str, str | None, str | None, str, list[tuple[str, str, str]]]]] = [
    (
        "support-bot", "+18335794607", "toll_free", None,
        "auto_reject", None, None, "blacklist",
        [
            ("block", "+18005550199", "active"),
            ("allow", "+14155550100", "active"),
            ("allow", "+14155550124", "active"),  # examples stage it as paused
            ("block", "+14155550666", "paused"),  # examples want it enforced
            ("block", "+19005550142", "active"),  # stale: no manifest names it
        ],
    ),
    (
        "sales-bot", "+14155550001", "local", "CA",
        "auto_accept", "wss://sales.agents.example.com/ws", None, "blacklist",
        [
            ("block", "+18005550199", "active"),
            ("block", "+12025550143", "active"),
        ],
    ),
    (
        "billing-bot", "+14155550002", "local", "CA",
        # blacklist: the examples switch it to whitelist, so the first plan shows a
        # filter_mode flip made safe (pins before the flip, clean-up after it).
        "webhook", None, "https://billing.example.com/inkbox/calls", "blacklist",
        [
            ("block", "+18005550199", "active"),
            ("allow", "+14155550100", "active"),
            ("allow", "+14155550101", "active"),
            ("allow", "+16465550188", "paused"),
        ],
    ),
    (
        "scheduler-bot", "+14155550003", "local", "CA",
        "auto_reject", None, None, "blacklist",
        [],
    ),
    (
        "partner-bot", "+12125550100", "local", "NY",
        "auto_accept", "wss://partners.example.com/ws", None, "whitelist",
        [
            ("allow", "+442071838750", "active"),
            ("block", "+14155550666", "active"),  # redundant under whitelist
        ],
    ),
    (
        "legacy-bot", "+13125550199", "local", "IL",
        "webhook", None, "https://legacy.example.com/hooks/inkbox", "blacklist",
        [
            ("block", "+18005550123", "active"),
            ("allow", "+13125550100", "active"),
        ],
    ),
]  # fmt: skip


def demo_document() -> Document:
    """A fresh copy of the demo organisation's state document."""
    identities: list[JsonObj] = []
    numbers: list[JsonObj] = []
    rules: list[JsonObj] = []
    for handle, number, type_, state, action, ws_url, hook_url, mode, number_rules in _NUMBERS:
        identity = demo_identity(handle)
        identity_id = identity["id"]
        number_id = demo_id("number", number)
        identities.append(identity)
        numbers.append(
            {
                "id": number_id,
                "number": number,
                "type": type_,
                "status": "active",
                "state": state,
                "incoming_call_action": action,
                "client_websocket_url": ws_url,
                "incoming_call_webhook_url": hook_url,
                "filter_mode": mode,
                "agent_identity_id": identity_id,
                "sms_status": "ready",
                "created_at": CREATED,
                "updated_at": CREATED,
            }
        )
        for rule_action, target, status in number_rules:
            rules.append(
                {
                    "id": demo_id("rule", f"{number}:{target}"),
                    "phone_number_id": number_id,
                    "action": rule_action,
                    "match_type": "exact_number",
                    "match_target": target,
                    "status": status,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
            )
    return {"identities": identities, "numbers": numbers, "rules": rules}
