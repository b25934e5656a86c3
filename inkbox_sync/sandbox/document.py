"""The state document: `{"identities": [...], "numbers": [...], "rules": [...]}`.

Objects are in the API's own JSON shapes. Loading (from `--state FILE` or
`PUT /_sandbox/state`) goes through `normalize`, which fills the optional
fields a hand-written document may leave out (ids, timestamps, defaults),
drops derived or transient fields (`phone_number` on identities,
`filter_mode_change_notice`), drops rules whose status is `deleted`, and
checks every invariant the server relies on, reporting all problems at once.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from inkbox_sync.sandbox.validation import (
    CALL_ACTIONS,
    CANONICAL_UUID,
    E164,
    FILTER_MODES,
    MATCH_TYPES,
    NUMBER_TYPES,
    RULE_ACTIONS,
    RULE_FIELDS,
    ErrorItem,
    JsonObj,
    canonical_uuid,
    error,
    url_problem,
)

Document = dict[str, list[JsonObj]]
SECTIONS: Final = ("identities", "numbers", "rules")
ORGANIZATION_ID: Final = "org_sandbox"


def empty() -> Document:
    return {"identities": [], "numbers": [], "rules": []}


def now() -> str:
    """An ISO 8601 UTC timestamp that `datetime.fromisoformat` reads on any Python."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class DocumentError(Exception):
    """A state document that cannot be loaded; `errors` in the 422 list form."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors[:20])
            + (f" (and {len(errors) - 20} more)" if len(errors) > 20 else "")
        )


def _where(loc: list[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Checker:
    """Collects errors while filling defaults into copies of the objects."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.errors: list[ErrorItem] = []
        self.stamp = now()

    def fail(self, loc: list[str | int], msg: str) -> None:
        self.errors.append(error([self.root, *loc], msg, "value_error"))

    def field(
        self,
        obj: JsonObj,
        loc: list[str | int],
        key: str,
        ok: Callable[[Any], bool],
        msg: str,
        default: Callable[[], Any] | None = None,
    ) -> None:
        if key not in obj or (obj[key] is None and default is not None):
            if default is None:
                self.fail([*loc, key], "Field required")
                return
            obj[key] = default()
        if not ok(obj[key]):
            self.fail([*loc, key], msg)

    def uuid_field(self, obj: JsonObj, loc: list[str | int], key: str, *, fill: bool) -> None:
        value = obj.get(key)
        if value is None and fill:
            obj[key] = str(uuid.uuid4())
            return
        canonical = canonical_uuid(value)
        if canonical is None:
            self.fail([*loc, key], "Input should be a valid UUID")
        else:
            obj[key] = canonical

    def timestamps(self, obj: JsonObj, loc: list[str | int]) -> None:
        for key in ("created_at", "updated_at"):
            self.field(
                obj,
                loc,
                key,
                _is_timestamp,
                "Input should be an ISO 8601 datetime",
                lambda: self.stamp,
            )


def _is_timestamp(value: object) -> bool:
    return isinstance(value, str) and _is_iso(value)


@functools.lru_cache(maxsize=4096)  # a large state repeats the same few timestamps
def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _one_of(*allowed: str) -> Callable[[Any], bool]:
    return lambda value: value in allowed


def normalize(raw: object, root: str = "body") -> Document:
    """A checked copy of `raw` with defaults filled in; raises DocumentError."""
    check = _Checker(root)
    if not isinstance(raw, dict):
        raise DocumentError([error([root], "Input should be an object", "dict_type")])
    for key in raw:
        if key not in SECTIONS:
            check.fail([key], f"Unknown section; expected {', '.join(SECTIONS)}")
    sections: dict[str, list[JsonObj]] = {}
    for key in SECTIONS:
        items = raw.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            check.fail([key], "Input should be a list of objects")
            items = []
        sections[key] = [dict(item) for item in items]
    identities = _identities(check, sections["identities"])
    numbers = _numbers(check, sections["numbers"], identities)
    rules = _rules(check, sections["rules"], numbers)
    if check.errors:
        raise DocumentError(check.errors)
    return {"identities": identities, "numbers": numbers, "rules": rules}


def _identities(check: _Checker, items: list[JsonObj]) -> list[JsonObj]:
    handles: set[str] = set()
    ids: set[str] = set()
    for i, ident in enumerate(items):
        loc: list[str | int] = ["identities", i]
        for derived in ("phone_number", "mailbox", "tunnel"):
            ident.pop(derived, None)
        check.uuid_field(ident, loc, "id", fill=True)
        check.field(ident, loc, "agent_handle", _is_str, "Input should be a string")
        handle = ident.get("agent_handle")
        ident.setdefault("organization_id", ORGANIZATION_ID)
        ident.setdefault("display_name", handle)
        ident.setdefault("description", None)
        ident.setdefault("email_address", None)
        ident.setdefault("imessage_enabled", False)
        ident.setdefault("imessage_filter_mode", "blacklist")
        check.timestamps(ident, loc)
        if isinstance(handle, str):
            if handle in handles:
                check.fail([*loc, "agent_handle"], f"Duplicate agent_handle {handle!r}")
            handles.add(handle)
        if str(ident["id"]) in ids:
            check.fail([*loc, "id"], "Duplicate id")
        ids.add(str(ident["id"]))
    return items


def _numbers(check: _Checker, items: list[JsonObj], identities: list[JsonObj]) -> list[JsonObj]:
    identity_ids = {str(ident["id"]) for ident in identities}
    owners: set[str] = set()
    seen_numbers: set[str] = set()
    ids: set[str] = set()
    for i, num in enumerate(items):
        loc: list[str | int] = ["numbers", i]
        num.pop("filter_mode_change_notice", None)
        check.uuid_field(num, loc, "id", fill=True)
        check.field(
            num,
            loc,
            "number",
            lambda v: isinstance(v, str) and bool(E164.fullmatch(v)),
            "Input should be an E.164 number",
        )
        check.field(
            num,
            loc,
            "type",
            _one_of(*NUMBER_TYPES),
            "Input should be 'local' or 'toll_free'",
            lambda: "local",
        )
        check.field(num, loc, "status", _is_str, "Input should be a string", lambda: "active")
        check.field(num, loc, "state", _opt_str, "Input should be a string or null", lambda: None)
        check.field(
            num,
            loc,
            "incoming_call_action",
            _one_of(*CALL_ACTIONS),
            f"Input should be one of {CALL_ACTIONS}",
            lambda: "auto_reject",
        )
        check.field(
            num,
            loc,
            "filter_mode",
            _one_of(*FILTER_MODES),
            f"Input should be one of {FILTER_MODES}",
            lambda: "blacklist",
        )
        check.field(num, loc, "sms_status", _is_str, "Input should be a string", lambda: "ready")
        num.setdefault("client_websocket_url", None)
        num.setdefault("incoming_call_webhook_url", None)
        num.setdefault("agent_identity_id", None)
        check.timestamps(num, loc)
        for key, secure, plain in (
            ("client_websocket_url", "wss", "ws"),
            ("incoming_call_webhook_url", "https", "http"),
        ):
            value = num[key]
            if value is not None:
                problem = (
                    url_problem(value, secure=secure, plain=plain)
                    if isinstance(value, str)
                    else "Input should be a string"
                )
                if problem:
                    check.fail([*loc, key], problem)
        for message in routing_problems(num):
            check.fail([*loc, "incoming_call_action"], message)
        owner = num["agent_identity_id"]
        if owner is not None:
            check.uuid_field(num, loc, "agent_identity_id", fill=False)
            owner = num["agent_identity_id"]
            if owner not in identity_ids:
                check.fail([*loc, "agent_identity_id"], "No identity has this id")
            elif owner in owners:
                check.fail([*loc, "agent_identity_id"], "An identity has at most one number")
            owners.add(owner)
        if str(num.get("number")) in seen_numbers:
            check.fail([*loc, "number"], "Duplicate number")
        seen_numbers.add(str(num.get("number")))
        if str(num["id"]) in ids:
            check.fail([*loc, "id"], "Duplicate id")
        ids.add(str(num["id"]))
    return items


def routing_problems(num: JsonObj) -> list[str]:
    """The contract's (ASSUMED) rule: a routing needs its URL."""
    action = num.get("incoming_call_action")
    if action == "auto_accept" and not num.get("client_websocket_url"):
        return ["'auto_accept' needs a client_websocket_url"]
    if action == "webhook" and not num.get("incoming_call_webhook_url"):
        return ["'webhook' needs an incoming_call_webhook_url"]
    return []


def _rules(check: _Checker, items: list[JsonObj], numbers: list[JsonObj]) -> list[JsonObj]:
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
        if str(rule["id"]) in ids:
            check.fail([*loc, "id"], "Duplicate id")
        ids.add(str(rule["id"]))
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
        and _is_timestamp(rule["created_at"])
        and _is_timestamp(rule["updated_at"])
    )


def _check_rule(check: _Checker, rule: JsonObj, loc: list[str | int], number_ids: set[str]) -> bool:
    """Field-by-field checks, filling defaults; False for a deleted rule (dropped)."""
    check.field(
        rule,
        loc,
        "status",
        _one_of("active", "paused", "deleted"),
        "Input should be 'active', 'paused' or 'deleted'",
        lambda: "active",
    )
    if rule.get("status") == "deleted":
        return False  # a deleted rule holds no slot and is never listed: nothing to keep
    check.uuid_field(rule, loc, "id", fill=True)
    check.uuid_field(rule, loc, "phone_number_id", fill=False)
    check.field(rule, loc, "action", _one_of(*RULE_ACTIONS), "Input should be 'allow' or 'block'")
    check.field(
        rule,
        loc,
        "match_type",
        _one_of(*MATCH_TYPES),
        "Input should be 'exact_number'",
        lambda: "exact_number",
    )
    check.field(
        rule,
        loc,
        "match_target",
        lambda v: isinstance(v, str) and bool(E164.fullmatch(v)),
        "Input should be an E.164 number",
    )
    check.timestamps(rule, loc)
    if rule.get("phone_number_id") not in number_ids:
        check.fail([*loc, "phone_number_id"], "No number has this id")
    return True
