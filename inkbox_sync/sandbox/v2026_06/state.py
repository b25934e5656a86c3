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
    check_rule,
    one_of,
    plain_rule,
)
from inkbox_sync.sandbox.validation import (
    FILTER_MODES,
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
        if not plain_rule(rule, RULE_FIELDS, "phone_number_id", number_ids) and not check_rule(
            check, rule, loc, "phone_number_id", number_ids
        ):
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
