"""Shape checks shared by every API version, in the contracts' 422 list form.

Pure functions: each takes parsed JSON and returns the accepted values, or
raises `ApiFailure(422, [...])` carrying every problem found at once, shaped
like the live API's `[{"loc": [...], "msg": "...", "type": "..."}]`. The
bodies of each version's own routes are checked in that version's package
(`v2026_06.api`, `v2026_10.bodies`) with these pieces; checks that need the
current state (does the number exist, is the slot taken, is the routing
coherent after the patch) live in the stores.
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
FILTER_MODES: Final = ("blacklist", "whitelist")
RULE_ACTIONS: Final = ("allow", "block")
MATCH_TYPES: Final = ("exact_number",)
NUMBER_TYPES: Final = ("local", "toll_free")
LOOPBACK: Final = frozenset({"localhost", "127.0.0.1"})
CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


class ApiFailure(Exception):
    """An error answer: status, the `detail` of `{"detail": ...}`, and extra headers."""

    def __init__(self, status: int, detail: object, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = headers or {}


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


def query_uuid(query: Mapping[str, str], name: str) -> str | None:
    """A UUID query parameter in canonical form, None when absent; 422 when malformed."""
    raw = query.get(name)
    if raw is None:
        return None
    found = canonical_uuid(raw)
    if found is None:
        raise unprocessable(
            [error(["query", name], "Input should be a valid UUID", "uuid_parsing")]
        )
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


#: The two call-routing URLs: field, secure scheme, plain scheme allowed on loopback.
ROUTING_URLS: Final = (
    ("client_websocket_url", "wss", "ws"),
    ("incoming_call_webhook_url", "https", "http"),
)


def body_object(body: object) -> JsonObj:
    if body is None:
        raise unprocessable([error(["body"], "Field required", "missing")])
    if not isinstance(body, dict):
        raise unprocessable([error(["body"], "Input should be a valid dictionary", "dict_type")])
    return body


def extra_fields(body: Mapping[str, Any], allowed: tuple[str, ...]) -> list[ErrorItem]:
    return [
        error(["body", key], "Extra inputs are not permitted", "extra_forbidden")
        for key in body
        if key not in allowed
    ]


def choices(allowed: tuple[str, ...]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words an enum error."""
    quoted = [repr(a) for a in allowed]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def enum_field(body: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> list[ErrorItem]:
    if body[key] in allowed:
        return []
    return [error(["body", key], f"Input should be {choices(allowed)}", "enum")]


def enum_fields(body: Mapping[str, Any], allowed: Mapping[str, tuple[str, ...]]) -> list[ErrorItem]:
    """`enum_field` for each of these keys the body has."""
    return [
        e for key, options in allowed.items() if key in body for e in enum_field(body, key, options)
    ]


def rule_fields(body: Mapping[str, Any]) -> list[ErrorItem]:
    """The rule fields of a create body both versions share, where present."""
    errors = enum_fields(body, {"action": RULE_ACTIONS, "match_type": MATCH_TYPES})
    return errors + (e164_field(body, "match_target") if "match_target" in body else [])


def required_fields(body: Mapping[str, Any], keys: tuple[str, ...]) -> list[ErrorItem]:
    return [error(["body", key], "Field required", "missing") for key in keys if key not in body]


def e164_field(body: Mapping[str, Any], key: str) -> list[ErrorItem]:
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


def routing_url_fields(body: Mapping[str, Any]) -> list[ErrorItem]:
    """The URL fields a body carries, each `null` or a URL of its scheme."""
    errors: list[ErrorItem] = []
    for key, secure, plain in ROUTING_URLS:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(error(["body", key], "Input should be a valid string", "string_type"))
            continue
        problem = url_problem(value, secure=secure, plain=plain)
        if problem:
            errors.append(error(["body", key], problem, "url_scheme"))
    return errors


def provision(body: object) -> JsonObj:
    """`POST /phone/numbers`: `{agent_handle, type: "local", state?}` (both versions)."""
    obj = body_object(body)
    errors = required_fields(obj, ("agent_handle",)) + extra_fields(
        obj, ("agent_handle", "type", "state")
    )
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


def enum_params(
    query: Mapping[str, str], allowed: Mapping[str, tuple[str, ...]]
) -> dict[str, str | None]:
    """Enum-valued query filters (e.g. `action`), each None when absent; all problems at once."""
    errors: list[ErrorItem] = []
    values: dict[str, str | None] = {}
    for key, options in allowed.items():
        value = query.get(key)
        if value is not None and value not in options:
            errors.append(error(["query", key], f"Input should be {choices(options)}", "enum"))
        values[key] = value
    if errors:
        raise unprocessable(errors)
    return values
