"""The 2026-06 state document: `{"identities": [...], "numbers": [...], "rules": [...]}`.

Objects are in 2026-06's JSON shapes; rules belong to numbers
(`phone_number_id`) and `filter_mode` is the number's. `normalize` fills the
optional fields a hand-written document may leave out, drops derived or
transient fields (`phone_number` on identities, `filter_mode_change_notice`),
drops rules whose status is `deleted`, and checks every invariant the server
relies on, reporting all problems at once. The document carries no
`api_version` (it is the unversioned kind); `"api_version": "2026-06"` is
accepted and dropped.
"""

from __future__ import annotations

from typing import Final

from inkbox_sync.sandbox.document import (
    Checker,
    Document,
    check_identities,
    check_numbers,
    is_e164,
    is_timestamp,
    one_of,
)
from inkbox_sync.sandbox.validation import (
    CANONICAL_UUID,
    E164,
    FILTER_MODES,
    MATCH_TYPES,
    RULE_ACTIONS,
    JsonObj,
)

VERSION: Final = "2026-06"
SECTIONS: Final = ("identities", "numbers", "rules")
CALL_ACTIONS: Final = ("auto_reject", "auto_accept", "webhook")
RULE_FIELDS: Final = frozenset(
    (
        "id",
        "phone_number_id",
        "action",
        "match_type",
        "match_target",
        "status",
        "created_at",
        "updated_at",
    )
)


def normalize(raw: object, root: str = "body") -> Document:
    """A checked copy of `raw` with defaults filled in; raises DocumentError."""
    check = Checker(root)
    sections = check.sections(raw, SECTIONS, VERSION)
    identities = check_identities(check, sections["identities"])
    numbers = check_numbers(check, sections["numbers"], identities, call_actions=CALL_ACTIONS)
    for i, num in enumerate(numbers):
        loc: list[str | int] = ["numbers", i]
        check.field(
            num,
            loc,
            "filter_mode",
            one_of(*FILTER_MODES),
            f"Input should be one of {FILTER_MODES}",
            lambda: "blacklist",
        )
        for message in routing_problems(num):
            check.fail([*loc, "incoming_call_action"], message)
    rules = _rules(check, sections["rules"], numbers)
    check.raise_if_failed()
    return {"identities": identities, "numbers": numbers, "rules": rules}


def routing_problems(num: JsonObj) -> list[str]:
    """The contract's (ASSUMED) rule: a routing needs its URL."""
    action = num.get("incoming_call_action")
    if action == "auto_accept" and not num.get("client_websocket_url"):
        return ["'auto_accept' needs a client_websocket_url"]
    if action == "webhook" and not num.get("incoming_call_webhook_url"):
        return ["'webhook' needs an incoming_call_webhook_url"]
    return []


def _rules(check: Checker, items: list[JsonObj], numbers: list[JsonObj]) -> list[JsonObj]:
    number_ids = {str(num["id"]) for num in numbers}
    slots: set[tuple[str, str, str]] = set()
    ids: set[str] = set()
    kept: list[JsonObj] = []
    for i, rule in enumerate(items):
        loc: list[str | int] = ["rules", i]
        if not _plain_rule(rule, number_ids) and not _check_rule(check, rule, loc, number_ids):
            continue  # deleted
        slot = (
            str(rule.get("phone_number_id")),
            str(rule.get("match_type")),
            str(rule.get("match_target")),
        )
        if slot in slots:
            check.fail(
                [*loc, "match_target"], "A non-deleted rule of this number already has this target"
            )
        slots.add(slot)
        check.unique(ids, rule["id"], [*loc, "id"], "id")
        kept.append(rule)
    return kept


def _plain_rule(rule: JsonObj, number_ids: set[str]) -> bool:
    """A live rule already in the API's exact shape, all valid: the bulk of a large
    state, checked in one expression instead of field by field (100k rules: 1.2 s -> 0.3 s)."""
    return (
        rule.keys() == RULE_FIELDS
        and rule["status"] in ("active", "paused")
        and rule["action"] in RULE_ACTIONS
        and rule["match_type"] in MATCH_TYPES
        and rule["phone_number_id"] in number_ids
        and isinstance(rule["match_target"], str)
        and E164.fullmatch(rule["match_target"]) is not None
        and isinstance(rule["id"], str)
        and CANONICAL_UUID.fullmatch(rule["id"]) is not None
        and is_timestamp(rule["created_at"])
        and is_timestamp(rule["updated_at"])
    )


def _check_rule(check: Checker, rule: JsonObj, loc: list[str | int], number_ids: set[str]) -> bool:
    """Field-by-field checks, filling defaults; False for a deleted rule (dropped)."""
    check.field(
        rule,
        loc,
        "status",
        one_of("active", "paused", "deleted"),
        "Input should be 'active', 'paused' or 'deleted'",
        lambda: "active",
    )
    if rule.get("status") == "deleted":
        return False  # a deleted rule holds no slot and is never listed: nothing to keep
    check.uuid_field(rule, loc, "id", fill=True)
    check.uuid_field(rule, loc, "phone_number_id", fill=False)
    check.field(rule, loc, "action", one_of(*RULE_ACTIONS), "Input should be 'allow' or 'block'")
    check.field(
        rule,
        loc,
        "match_type",
        one_of(*MATCH_TYPES),
        "Input should be 'exact_number'",
        lambda: "exact_number",
    )
    check.field(rule, loc, "match_target", is_e164, "Input should be an E.164 number")
    check.timestamps(rule, loc)
    if rule.get("phone_number_id") not in number_ids:
        check.fail([*loc, "phone_number_id"], "No number has this id")
    return True
