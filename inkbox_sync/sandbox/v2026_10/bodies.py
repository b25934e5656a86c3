"""Request bodies and query strings of 2026-10, checked for shape (422, every problem at once).

What needs the state (coverage conflicts, routing coherence after the patch)
is the store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from inkbox_sync.sandbox import validation as v
from inkbox_sync.sandbox.v2026_10.state import (
    CALL_ACTIONS,
    DIRECTIONS,
    FORWARDING_FIELDS,
    FORWARDING_TYPES,
    SIDES,
    sip_uri_problem,
)
from inkbox_sync.sandbox.validation import ErrorItem, JsonObj, error, unprocessable

MODE_FIELDS: Final = (
    "phone_filter_mode",
    "phone_inbound_filter_mode",
    "phone_outbound_filter_mode",
    "imessage_filter_mode",
)
IDENTITY_PATCH_FIELDS: Final = (*MODE_FIELDS, "display_name", "description")
ROUTING_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    *FORWARDING_FIELDS,
)
NUMBER_PATCH_FIELDS: Final = (*ROUTING_FIELDS, "filter_mode")
RULE_FILTERS: Final = {
    "action": v.RULE_ACTIONS,
    "direction": DIRECTIONS,
    "match_type": v.MATCH_TYPES,
}
_NO_STATUS: Final = (
    "Rule status cannot be written (since SDK 0.5.5): a rule is created active, and an "
    "existing paused rule stays paused until it is deleted"
)


def identity_patch(body: object) -> JsonObj:
    """`PATCH /identities/{handle}`. The phone modes come back as the two directions
    (`phone_inbound_filter_mode`, `phone_outbound_filter_mode`), whichever were sent."""
    obj = v.body_object(body)
    errors: list[ErrorItem] = []
    for key in obj:
        if key == "agent_handle":
            errors.append(error(["body", key], "Handles cannot be renamed", "extra_forbidden"))
        elif key not in IDENTITY_PATCH_FIELDS:
            errors.append(error(["body", key], "Extra inputs are not permitted", "extra_forbidden"))
    errors += v.enum_fields(obj, dict.fromkeys(MODE_FIELDS, v.FILTER_MODES))
    for key in ("display_name", "description"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            errors.append(error(["body", key], "Input should be a valid string", "string_type"))
    # phone_filter_mode and imessage_filter_mode both set both phone directions: phone
    # policy governs iMessage too (SDK 0.7.0), and the SDK refuses to mix either with a
    # directional phone mode.
    shared = [key for key in ("phone_filter_mode", "imessage_filter_mode") if key in obj]
    directional = [
        k for k in ("phone_inbound_filter_mode", "phone_outbound_filter_mode") if k in obj
    ]
    if shared and directional:
        errors += [
            error(
                ["body", key],
                f"Cannot combine {shared[0]} (both directions) with a directional phone "
                "filter mode in one request",
                "value_error",
            )
            for key in directional
        ]
    if len(shared) == 2 and obj["phone_filter_mode"] != obj["imessage_filter_mode"]:
        errors.append(
            error(
                ["body", "imessage_filter_mode"],
                "imessage_filter_mode must agree with phone_filter_mode",
                "value_error",
            )
        )
    if errors:
        raise unprocessable(errors)
    out: JsonObj = {key: obj[key] for key in ("display_name", "description") if key in obj}
    if shared:
        out["phone_inbound_filter_mode"] = out["phone_outbound_filter_mode"] = obj[shared[0]]
    out.update({key: obj[key] for key in directional})
    return out


def number_patch(body: object) -> JsonObj:
    """`PATCH /phone/numbers/{id}`: any subset of the routing fields, and the legacy
    `filter_mode` (both directions of the identity's phone mode). `null` clears."""
    obj = v.body_object(body)
    errors: list[ErrorItem] = []
    for key in obj:
        if key in ("inbound_filter_mode", "outbound_filter_mode"):
            errors.append(
                error(
                    ["body", key],
                    f"{key} is a read-only mirror of the identity's phone_{key}; "
                    "PATCH /api/v1/identities/{agent_handle} instead",
                    "extra_forbidden",
                )
            )
        elif key not in NUMBER_PATCH_FIELDS:
            errors.append(error(["body", key], "Extra inputs are not permitted", "extra_forbidden"))
    if "filter_mode" in obj:
        errors += v.enum_field(obj, "filter_mode", v.FILTER_MODES)
    errors += _routing_fields(obj)
    if errors:
        raise unprocessable(errors)
    return dict(obj)


def incoming_call_action_put(body: object) -> tuple[str | None, JsonObj]:
    """`PUT /phone/incoming-call-action`: `(agent_identity_id or None, routing changes)`."""
    obj = v.body_object(body)
    errors = v.required_fields(obj, ("incoming_call_action",))
    errors += v.extra_fields(obj, (*ROUTING_FIELDS, "agent_identity_id"))
    errors += _routing_fields(obj)
    identity_id = obj.get("agent_identity_id")
    if identity_id is not None:
        identity_id = v.canonical_uuid(identity_id)
        if identity_id is None:
            errors.append(
                error(["body", "agent_identity_id"], "Input should be a valid UUID", "uuid_parsing")
            )
    if errors:
        raise unprocessable(errors)
    return identity_id, {key: obj[key] for key in ROUTING_FIELDS if key in obj}


def _routing_fields(obj: Mapping[str, object]) -> list[ErrorItem]:
    errors = v.enum_fields(obj, {"incoming_call_action": CALL_ACTIONS})
    errors += v.routing_url_fields(obj)
    kind = obj.get("forwarding_target_type")
    if kind is not None and kind not in FORWARDING_TYPES:
        errors.append(
            error(["body", "forwarding_target_type"], "Input should be 'phone' or 'sip'", "enum")
        )
    if obj.get("forwarding_phone_number") is not None:
        errors += v.e164_field(obj, "forwarding_phone_number")
    sip = obj.get("forwarding_sip_uri")
    if sip is not None:
        problem = sip_uri_problem(sip) if isinstance(sip, str) else "Input should be a string"
        if problem:
            errors.append(error(["body", "forwarding_sip_uri"], problem, "value_error"))
    return errors


def rule_create(body: object) -> JsonObj:
    """`{action, match_type, match_target, direction?}`; an omitted direction is `both`."""
    obj = v.body_object(body)
    fields = ("action", "match_type", "match_target")
    errors = v.required_fields(obj, fields) + _rule_extras(obj, (*fields, "direction"))
    errors += v.rule_fields(obj) + v.enum_fields(obj, {"direction": DIRECTIONS})
    if errors:
        raise unprocessable(errors)
    return {**{key: obj[key] for key in fields}, "direction": obj.get("direction", "both")}


def rule_patch(body: object) -> JsonObj:
    """Exactly one of `{action}`, `{direction}`, `{action, direction}`,
    `{action, apply_to: inbound|outbound}`."""
    obj = v.body_object(body)
    errors = _rule_extras(obj, ("action", "direction", "apply_to"))
    errors += v.enum_fields(
        obj, {"action": v.RULE_ACTIONS, "direction": DIRECTIONS, "apply_to": SIDES}
    )
    if "apply_to" in obj and ("action" not in obj or "direction" in obj):
        errors.append(
            error(
                ["body", "apply_to"],
                "apply_to requires action and cannot be combined with direction",
                "value_error",
            )
        )
    if not errors and "action" not in obj and "direction" not in obj:
        errors.append(error(["body"], "Provide action or direction", "missing"))
    if errors:
        raise unprocessable(errors)
    return dict(obj)


def _rule_extras(obj: Mapping[str, object], allowed: tuple[str, ...]) -> list[ErrorItem]:
    return [
        error(["body", key], _NO_STATUS, "extra_forbidden")
        if key == "status"
        else error(["body", key], "Extra inputs are not permitted", "extra_forbidden")
        for key in obj
        if key not in allowed
    ]
