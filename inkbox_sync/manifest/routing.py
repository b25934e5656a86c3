"""Routing coherence: does a number's call action have what it needs?

One pure function for both moments it is checked:

- offline (`validate`, the loader), with only what the manifest manages: a
  field the manifest omits is whatever it is live, so `webhook` without
  `incoming_call_webhook_url` is left to plan time, while `webhook` with
  `incoming_call_webhook_url: null` ("must be empty") can never work;
- at plan time, with the live number, on the routing the plan would leave.

The rules (the 2026-10 contract; 2026-06 has only the first three actions):
`auto_accept` needs a `client_websocket_url`, `webhook` an
`incoming_call_webhook_url`, `forward` exactly one forwarding target
(`forwarding_phone_number` or `forwarding_sip_uri`); `auto_reject` and
`hosted_agent` need nothing. A number has at most one forwarding target, so a
manifest never sets both; setting one *chooses* it, and the other is cleared
in the same update (the tool derives `forwarding_target_type`). Clearing the
target is possible only while switching away from `forward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from inkbox_sync.model import ROUTING_FIELDS, DesiredNumber, LiveNumber, Unset

#: Which URL field each call action needs.
NEEDED_URL: Final[dict[str, str]] = {
    "auto_accept": "client_websocket_url",
    "webhook": "incoming_call_webhook_url",
}
FORWARDING_FIELDS: Final = ("forwarding_phone_number", "forwarding_sip_uri")

Routing = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """Why a number's routing cannot work. `field` is the manifest key the problem
    is reported at; `related` are the other keys involved (the loader names their
    lines)."""

    field: str
    message: str
    related: tuple[str, ...] = ()


def managed_routing(number: DesiredNumber) -> dict[str, str | None]:
    """The routing fields the manifest manages, with their desired values."""
    out: dict[str, str | None] = {}
    for name in ROUTING_FIELDS:
        value = getattr(number, name)
        if not isinstance(value, Unset):
            out[name] = value
    return out


def final_routing(number: DesiredNumber, live: LiveNumber) -> Routing:
    """The routing `number`'s manifest leaves on `live`: managed fields as the
    manifest says, the rest as they are live, except that a forwarding target the
    manifest sets replaces the other one (a number has one target)."""
    final: Routing = {name: getattr(live, name) for name in ROUTING_FIELDS}
    managed = managed_routing(number)
    final.update(managed)
    for name, other in (FORWARDING_FIELDS, FORWARDING_FIELDS[::-1]):
        if managed.get(name) is not None and other not in managed:
            final[other] = None
    return final


def routing_problem(number: DesiredNumber, live: LiveNumber | None = None) -> RoutingProblem | None:
    """Why `number`'s routing cannot work, or None.

    Without `live`, only what the manifest decides by itself is judged (an
    omitted field could be anything live). With `live`, the routing the plan
    would leave is judged, and a manifest clearing the forwarding target of a
    number that stays on `forward` is named as such. A live call action this
    tool does not know needs nothing here (the planner refuses to change it).
    """
    managed = managed_routing(number)
    targets = [f for f in FORWARDING_FIELDS if managed.get(f) is not None]
    if len(targets) == 2:
        return RoutingProblem(
            "forwarding_sip_uri",
            "forwarding_phone_number and forwarding_sip_uri are both set; a number has one "
            "forwarding target: leave one of them out",
            ("forwarding_phone_number",),
        )
    if live is None:
        return _offline_problem(managed)
    final = final_routing(number, live)
    return _needs(final["incoming_call_action"], final, managed)


def _offline_problem(managed: dict[str, str | None]) -> RoutingProblem | None:
    action = managed.get("incoming_call_action")
    if action is None:
        return None
    field = NEEDED_URL.get(action)
    if field is not None and field in managed and managed[field] is None:
        return RoutingProblem(
            "incoming_call_action",
            f"incoming_call_action {action} needs a {field}, but the manifest sets {field}: null",
            (field,),
        )
    if action == "forward" and all(f in managed and managed[f] is None for f in FORWARDING_FIELDS):
        return RoutingProblem(
            "incoming_call_action",
            "incoming_call_action forward needs a forwarding_phone_number or a "
            "forwarding_sip_uri, but the manifest sets both to null",
            FORWARDING_FIELDS,
        )
    return None


def _needs(
    action: str | None, final: Routing, managed: dict[str, str | None]
) -> RoutingProblem | None:
    """What `action` needs and `final` lacks; `managed` says what the manifest chose."""
    at = "incoming_call_action" if "incoming_call_action" in managed else None
    field = NEEDED_URL.get(action or "")
    if field is not None and not final[field]:
        why = (
            f"the manifest sets {field}: null" if field in managed else f"there is no {field} live"
        )
        article = "an" if field[0] in "aeiou" else "a"
        return RoutingProblem(
            at or field, f"incoming_call_action {action} needs {article} {field}, but {why}"
        )
    if action == "forward" and not any(final[f] for f in FORWARDING_FIELDS):
        cleared = tuple(f for f in FORWARDING_FIELDS if f in managed)
        if cleared and at is None:
            return RoutingProblem(
                cleared[0],
                "the number forwards its calls live, and clearing the forwarding target is "
                "possible only while switching incoming_call_action away from forward: "
                "set incoming_call_action too, or a new target",
                cleared[1:],
            )
        return RoutingProblem(
            at or "incoming_call_action",
            "incoming_call_action forward needs a forwarding_phone_number or a "
            "forwarding_sip_uri, but neither the manifest nor live state has one",
            cleared,
        )
    return None
