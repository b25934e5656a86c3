"""The state document, shared part: what every version's document has in common.

A state document is a JSON object of sections (lists of objects in the API's
own shapes) and, from 2026-10 on, an `"api_version"` key; a document without
one is a 2026-06 document (every state file written before 2026-10 existed).
Each version checks its own shapes (`v2026_06.state`, `v2026_10.state`) with
the `Checker` below, which fills the optional fields a hand-written document
may leave out (ids, timestamps, defaults) and collects every problem at once.
`versions.load_document` picks the version and migrates older documents.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from inkbox_sync.sandbox.validation import (
    CANONICAL_UUID,
    E164,
    MATCH_TYPES,
    NUMBER_TYPES,
    ROUTING_URLS,
    RULE_ACTIONS,
    ErrorItem,
    JsonObj,
    canonical_uuid,
    error,
    url_problem,
)

Document = dict[str, Any]  # section name -> list of objects; "api_version" -> str
ORGANIZATION_ID: Final = "org_sandbox"
VERSION_KEY: Final = "api_version"
UNVERSIONED: Final = "2026-06"  # what a document without VERSION_KEY is


def empty() -> Document:
    """No identities, numbers or rules; loads into any version."""
    return {"identities": [], "numbers": [], "rules": []}


def document_version(raw: object) -> object:
    """The API version a raw document declares (not yet checked)."""
    return raw.get(VERSION_KEY, UNVERSIONED) if isinstance(raw, dict) else UNVERSIONED


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


class Checker:
    """Collects errors while filling defaults into copies of the objects."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.errors: list[ErrorItem] = []
        self.stamp = now()

    def fail(self, loc: list[str | int], msg: str) -> None:
        self.errors.append(error([self.root, *loc], msg, "value_error"))

    def raise_if_failed(self) -> None:
        if self.errors:
            raise DocumentError(self.errors)

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
                is_timestamp,
                "Input should be an ISO 8601 datetime",
                lambda: self.stamp,
            )

    def unique(self, seen: set[str], value: object, loc: list[str | int], what: str) -> None:
        if str(value) in seen:
            self.fail(loc, f"Duplicate {what}")
        seen.add(str(value))

    def sections(self, raw: object, names: tuple[str, ...], version: str) -> dict[str, Any]:
        """Copies of the document's sections (lists of objects), checking their shape."""
        if not isinstance(raw, dict):
            raise DocumentError([error([self.root], "Input should be an object", "dict_type")])
        for key in raw:
            if key == VERSION_KEY:
                if raw[key] != version:
                    self.fail([key], f"Input should be {version!r}")
            elif key not in names:
                self.fail([key], f"Unknown section; expected {', '.join(names)}")
        out: dict[str, Any] = {}
        for key in names:
            items = raw.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                self.fail([key], "Input should be a list of objects")
                items = []
            out[key] = [dict(item) for item in items]
        return out


def is_timestamp(value: object) -> bool:
    return isinstance(value, str) and _is_iso(value)


@functools.lru_cache(maxsize=4096)  # a large state repeats the same few timestamps
def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_str(value: object) -> bool:
    return isinstance(value, str)


def opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def is_e164(value: object) -> bool:
    return isinstance(value, str) and E164.fullmatch(value) is not None


def one_of(*allowed: str) -> Callable[[Any], bool]:
    return lambda value: value in allowed


def check_identities(check: Checker, items: list[JsonObj]) -> list[JsonObj]:
    """The fields every version's identities have; derived ones are dropped."""
    handles: set[str] = set()
    ids: set[str] = set()
    for i, ident in enumerate(items):
        loc: list[str | int] = ["identities", i]
        for derived in ("phone_number", "mailbox", "tunnel"):
            ident.pop(derived, None)
        check.uuid_field(ident, loc, "id", fill=True)
        check.field(ident, loc, "agent_handle", is_str, "Input should be a string")
        handle = ident.get("agent_handle")
        ident.setdefault("organization_id", ORGANIZATION_ID)
        ident.setdefault("display_name", handle)
        ident.setdefault("description", None)
        ident.setdefault("email_address", None)
        ident.setdefault("imessage_enabled", False)
        ident.setdefault("imessage_filter_mode", "blacklist")
        check.timestamps(ident, loc)
        if isinstance(handle, str):
            check.unique(handles, handle, [*loc, "agent_handle"], f"agent_handle {handle!r}")
        check.unique(ids, ident["id"], [*loc, "id"], "id")
    return items


def check_numbers(
    check: Checker,
    items: list[JsonObj],
    identities: list[JsonObj],
    *,
    call_actions: tuple[str, ...],
) -> list[JsonObj]:
    """The fields every version's numbers have (routing coherence is the version's)."""
    identity_ids = {str(ident["id"]) for ident in identities}
    owners: set[str] = set()
    seen_numbers: set[str] = set()
    ids: set[str] = set()
    for i, num in enumerate(items):
        loc: list[str | int] = ["numbers", i]
        num.pop("filter_mode_change_notice", None)
        check.uuid_field(num, loc, "id", fill=True)
        check.field(num, loc, "number", is_e164, "Input should be an E.164 number")
        check.field(
            num,
            loc,
            "type",
            one_of(*NUMBER_TYPES),
            "Input should be 'local' or 'toll_free'",
            lambda: "local",
        )
        check.field(num, loc, "status", is_str, "Input should be a string", lambda: "active")
        check.field(num, loc, "state", opt_str, "Input should be a string or null", lambda: None)
        check.field(
            num,
            loc,
            "incoming_call_action",
            one_of(*call_actions),
            f"Input should be one of {call_actions}",
            lambda: "auto_reject",
        )
        check.field(num, loc, "sms_status", is_str, "Input should be a string", lambda: "ready")
        num.setdefault("client_websocket_url", None)
        num.setdefault("incoming_call_webhook_url", None)
        num.setdefault("agent_identity_id", None)
        check.timestamps(num, loc)
        for key, secure, plain in ROUTING_URLS:
            value = num[key]
            if value is not None:
                problem = (
                    url_problem(value, secure=secure, plain=plain)
                    if isinstance(value, str)
                    else "Input should be a string"
                )
                if problem:
                    check.fail([*loc, key], problem)
        owner = num["agent_identity_id"]
        if owner is not None:
            check.uuid_field(num, loc, "agent_identity_id", fill=False)
            owner = num["agent_identity_id"]
            if owner not in identity_ids:
                check.fail([*loc, "agent_identity_id"], "No identity has this id")
            elif owner in owners:
                check.fail([*loc, "agent_identity_id"], "An identity has at most one number")
            owners.add(owner)
        check.unique(seen_numbers, num.get("number"), [*loc, "number"], "number")
        check.unique(ids, num["id"], [*loc, "id"], "id")
    return items


def check_rule(
    check: Checker, rule: JsonObj, loc: list[str | int], owner: str, owner_ids: set[str]
) -> bool:
    """The fields every version's rules have, field by field, filling defaults; `owner`
    is the field naming what the rule belongs to. False for a deleted rule (dropped:
    it holds no slot and is never listed)."""
    check.field(
        rule,
        loc,
        "status",
        one_of("active", "paused", "deleted"),
        "Input should be 'active', 'paused' or 'deleted'",
        lambda: "active",
    )
    if rule.get("status") == "deleted":
        return False
    check.uuid_field(rule, loc, "id", fill=True)
    check.uuid_field(rule, loc, owner, fill=False)
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
    if rule.get(owner) not in owner_ids:
        check.fail([*loc, owner], f"No {owner.removesuffix('_id').replace('_', ' ')} has this id")
    return True


def plain_rule(rule: JsonObj, fields: frozenset[str], owner: str, owner_ids: set[str]) -> bool:
    """A live rule already in the API's exact shape (`fields`), all valid: the bulk of a
    large state, checked in one expression instead of field by field (100k rules:
    1.2 s -> 0.3 s). The version checks its own extra fields after this."""
    return (
        rule.keys() == fields
        and rule["status"] in ("active", "paused")
        and rule["action"] in RULE_ACTIONS
        and rule["match_type"] in MATCH_TYPES
        and rule[owner] in owner_ids
        and isinstance(rule["match_target"], str)
        and E164.fullmatch(rule["match_target"]) is not None
        and isinstance(rule["id"], str)
        and CANONICAL_UUID.fullmatch(rule["id"]) is not None
        and is_timestamp(rule["created_at"])
        and is_timestamp(rule["updated_at"])
    )
