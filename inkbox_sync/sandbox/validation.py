"""Shape checks of request bodies and query strings, in the contract's 422 list form.

Pure functions: each takes parsed JSON and returns the accepted values, or
raises `ApiFailure(422, [...])` carrying every problem found at once, shaped
like the live API's `[{"loc": [...], "msg": "...", "type": "..."}]`. Checks
that need the current state (does the number exist, is the slot taken, does
the routing have its URL after the patch) live in the store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

JsonObj = dict[str, Any]
ErrorItem = dict[str, Any]

E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")  # use fullmatch: `$` would allow a final newline
CALL_ACTIONS: Final = ("auto_reject", "auto_accept", "webhook")
FILTER_MODES: Final = ("blacklist", "whitelist")
RULE_ACTIONS: Final = ("allow", "block")
MATCH_TYPES: Final = ("exact_number",)
RULE_STATUSES: Final = ("active", "paused")  # writable; "deleted" only via DELETE
NUMBER_TYPES: Final = ("local", "toll_free")
LOOPBACK: Final = frozenset({"localhost", "127.0.0.1"})
NUMBER_PATCH_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "filter_mode",
)
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
CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


class ApiFailure(Exception):
    """An error answer: status and the `detail` of `{"detail": ...}`."""

    def __init__(self, status: int, detail: object) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def error(loc: list[str | int], msg: str, type_: str) -> ErrorItem:
    return {"loc": loc, "msg": msg, "type": type_}


def unprocessable(errors: list[ErrorItem]) -> ApiFailure:
    return ApiFailure(422, errors)


def canonical_uuid(value: object) -> str | None:
    """The lower-case canonical form of a UUID string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    if CANONICAL_UUID.fullmatch(value):
        return value  # already canonical: the usual case, 5x cheaper than parsing
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def path_uuid(value: str, name: str) -> str:
    found = canonical_uuid(value)
    if found is None:
        raise unprocessable([error(["path", name], "Input should be a valid UUID", "uuid_parsing")])
    return found


def url_problem(value: str, *, secure: str, plain: str) -> str | None:
    """Why `value` is not an acceptable URL of scheme `secure` (`plain` only on loopback)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "Input should be a valid URL"
    if not host:
        return "Input should be a valid URL with a host"
    if parts.scheme == secure:
        return None
    if parts.scheme == plain and host in LOOPBACK:
        return None
    return f"URL scheme should be '{secure}' ('{plain}' only for localhost or 127.0.0.1)"


def _body_object(body: object) -> JsonObj:
    if body is None:
        raise unprocessable([error(["body"], "Field required", "missing")])
    if not isinstance(body, dict):
        raise unprocessable([error(["body"], "Input should be a valid dictionary", "dict_type")])
    return body


def _extra(body: Mapping[str, Any], allowed: tuple[str, ...]) -> list[ErrorItem]:
    return [
        error(["body", key], "Extra inputs are not permitted", "extra_forbidden")
        for key in body
        if key not in allowed
    ]


def choices(allowed: tuple[str, ...]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words an enum error."""
    quoted = [repr(a) for a in allowed]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _enum(body: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> list[ErrorItem]:
    if body[key] in allowed:
        return []
    return [error(["body", key], f"Input should be {choices(allowed)}", "enum")]


def _required(body: Mapping[str, Any], keys: tuple[str, ...]) -> list[ErrorItem]:
    return [error(["body", key], "Field required", "missing") for key in keys if key not in body]


def _e164(body: Mapping[str, Any], key: str) -> list[ErrorItem]:
    value = body[key]
    if isinstance(value, str) and E164.fullmatch(value):
        return []
    return [
        error(
            ["body", key],
            "Input should be an E.164 number: '+', country code, at most 15 digits",
            "value_error",
        )
    ]


def number_patch(body: object) -> JsonObj:
    """The fields of a number PATCH: any subset; `null` clears a URL."""
    obj = _body_object(body)
    errors = _extra(obj, NUMBER_PATCH_FIELDS)
    for key, allowed in (("incoming_call_action", CALL_ACTIONS), ("filter_mode", FILTER_MODES)):
        if key in obj:
            errors += _enum(obj, key, allowed)
    for key, secure, plain in (
        ("client_websocket_url", "wss", "ws"),
        ("incoming_call_webhook_url", "https", "http"),
    ):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(error(["body", key], "Input should be a valid string", "string_type"))
            continue
        problem = url_problem(value, secure=secure, plain=plain)
        if problem:
            errors.append(error(["body", key], problem, "url_scheme"))
    if errors:
        raise unprocessable(errors)
    return dict(obj)


def rule_create(body: object) -> JsonObj:
    """A rule create body: exactly `{action, match_type, match_target}`."""
    obj = _body_object(body)
    fields = ("action", "match_type", "match_target")
    errors = _required(obj, fields)
    for key in obj:
        if key == "status":
            # The contract: a new rule is always active. Say so, not just "extra".
            errors.append(
                error(
                    ["body", "status"],
                    "A new rule is always 'active'; the create body takes no status "
                    "(PATCH the rule afterwards to pause it)",
                    "extra_forbidden",
                )
            )
        elif key not in fields:
            errors.append(error(["body", key], "Extra inputs are not permitted", "extra_forbidden"))
    if "action" in obj:
        errors += _enum(obj, "action", RULE_ACTIONS)
    if "match_type" in obj:
        errors += _enum(obj, "match_type", MATCH_TYPES)
    if "match_target" in obj:
        errors += _e164(obj, "match_target")
    if errors:
        raise unprocessable(errors)
    return {key: obj[key] for key in fields}


def rule_patch(body: object) -> JsonObj:
    """A rule PATCH body: `action` and/or `status` (active | paused)."""
    obj = _body_object(body)
    errors = _extra(obj, ("action", "status"))
    if "action" in obj:
        errors += _enum(obj, "action", RULE_ACTIONS)
    if "status" in obj:
        if obj["status"] == "deleted":
            errors.append(
                error(["body", "status"], "Use DELETE to delete a rule", "enum"),
            )
        else:
            errors += _enum(obj, "status", RULE_STATUSES)
    if errors:
        raise unprocessable(errors)
    return dict(obj)


def provision(body: object) -> JsonObj:
    """`POST /phone/numbers`: `{agent_handle, type: "local", state?}`."""
    obj = _body_object(body)
    errors = _required(obj, ("agent_handle",)) + _extra(obj, ("agent_handle", "type", "state"))
    if "agent_handle" in obj and not isinstance(obj["agent_handle"], str):
        errors.append(
            error(["body", "agent_handle"], "Input should be a valid string", "string_type")
        )
    if obj.get("type", "local") != "local":
        errors.append(error(["body", "type"], "Only 'local' numbers can be provisioned", "enum"))
    state = obj.get("state")
    if state is not None and not (isinstance(state, str) and re.fullmatch(r"[A-Z]{2}", state)):
        errors.append(
            error(["body", "state"], "Input should be a two-letter US state", "value_error")
        )
    if errors:
        raise unprocessable(errors)
    return {"agent_handle": obj["agent_handle"], "state": state}


def _int_param(query: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise unprocessable(
            [error(["query", key], "Input should be a valid integer", "int_parsing")]
        ) from None
    if value < minimum:
        raise unprocessable(
            [
                error(
                    ["query", key],
                    f"Input should be greater than or equal to {minimum}",
                    "greater_than_equal",
                )
            ]
        )
    return value


def paging(query: Mapping[str, str], max_limit: int) -> tuple[int, int]:
    """`(limit, offset)`; a limit above the server's maximum is clamped, not refused."""
    limit = _int_param(query, "limit", min(DEFAULT_LIMIT, max_limit), 1)
    offset = _int_param(query, "offset", 0, 0)
    return min(limit, max_limit), offset


def rule_filters(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`(action, match_type)` filters of a rule listing, each None when absent."""
    errors: list[ErrorItem] = []
    values: list[str | None] = []
    for key, allowed in (("action", RULE_ACTIONS), ("match_type", MATCH_TYPES)):
        value = query.get(key)
        if value is not None and value not in allowed:
            errors.append(error(["query", key], f"Input should be {choices(allowed)}", "enum"))
        values.append(value)
    if errors:
        raise unprocessable(errors)
    return values[0], values[1]
