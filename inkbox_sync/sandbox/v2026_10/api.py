"""The routes of `inkbox-phone-api-2026-10.md`: identity-keyed rules, directions, notices.

The agent-scoped key belongs to one identity: `agent_handle` if the sandbox
was given one, else the first identity of the state (`support-bot` in the
demo organisation). It sees only that identity and its number (any other is
404), and gets 403 on the admin-only operations: rule writes, mode writes,
the org-wide listing, provisioning and releasing numbers.

Every `Inkbox-Notices` the sandbox sends, and every sunset route, is listed
in `NOTICES` and `_SUNSET` below: one place to change them.
"""

from __future__ import annotations

import functools
import json
from typing import Final

from inkbox_sync.sandbox import validation as v
from inkbox_sync.sandbox.app import (
    SEGMENT,
    Handler,
    Request,
    Response,
    Routes,
    SandboxApp,
    page_response,
    require_admin,
)
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.document import ORGANIZATION_ID
from inkbox_sync.sandbox.v2026_10 import bodies
from inkbox_sync.sandbox.v2026_10.state import FORWARDING_FIELDS, RULE_FIELDS
from inkbox_sync.sandbox.v2026_10.store import IdentityRuleStore
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj, error, unprocessable

#: What the API advises, by event: (code, level, message) of an `Inkbox-Notices` entry.
NOTICES: Final = {
    "mirror": (
        "phone_number_filter_mode_mirror",
        "info",
        "A phone number's filter_mode, inbound_filter_mode and outbound_filter_mode are "
        "read-only mirrors of its agent identity's phone filter modes; read and change them "
        "on /api/v1/identities/{agent_handle}.",
    ),
    "legacy_mode_write": (
        "phone_number_filter_mode_deprecated",
        "warning",
        "filter_mode on a phone number is a legacy write of both directions of its identity's "
        "phone filter mode; PATCH /api/v1/identities/{agent_handle} with phone_filter_mode or "
        "phone_inbound_filter_mode/phone_outbound_filter_mode instead.",
    ),
    "consolidated": (
        "contact_rule_consolidated",
        "info",
        "One-way rules of this target with the same action were consolidated into one rule "
        "covering both directions; use the returned id and direction. Previously issued ids "
        "still address it.",
    ),
    "split": (
        "contact_rule_split",
        "info",
        "The rule was split: the returned rule covers the side that changed, the original id "
        "keeps the other side. Refresh the list to see both.",
    ),
}
# ASSUMED (the contract): after the sunset the per-number rule routes answer 410 Gone.
_SUNSET: Final = {"Sunset": "Mon, 31 Aug 2026 00:00:00 GMT"}
_GONE: Final = (
    "The per-number contact-rule routes were sunset on 2026-08-31: phone contact rules belong "
    "to the number's agent identity. Use /api/v1/identities/{agent_handle}/phone-contact-rules, "
    "and /api/v1/phone/contact-rules?agent_identity_id= for the org-wide listing."
)


class App(SandboxApp[IdentityRuleStore]):
    def routes(self) -> Routes:
        identity = rf"/api/v1/identities/{SEGMENT}"
        rules = rf"{identity}/phone-contact-rules"
        number = rf"/api/v1/phone/numbers/{SEGMENT}"
        gone: dict[str, Handler] = dict.fromkeys(
            ("GET", "POST", "PUT", "PATCH", "DELETE"), self._gone
        )
        return [
            (r"/api/whoami", {"GET": self._whoami}),
            (r"/api/v1/identities", {"GET": self._list_identities}),
            (identity, {"GET": self._get_identity, "PATCH": self._patch_identity}),
            (rules, {"GET": self._list_rules, "POST": self._create_rule}),
            (
                rf"{rules}/{SEGMENT}",
                {"GET": self._get_rule, "PATCH": self._patch_rule, "DELETE": self._delete_rule},
            ),
            (r"/api/v1/phone/numbers", {"GET": self._list_numbers, "POST": self._provision}),
            (
                number,
                {"GET": self._get_number, "PATCH": self._patch_number, "DELETE": self._release},
            ),
            (rf"{number}/contact-rules", gone),
            (rf"{number}/contact-rules/{SEGMENT}", gone),
            (r"/api/v1/phone/contact-rules", {"GET": self._list_org_rules}),
            (
                r"/api/v1/phone/incoming-call-action",
                {"GET": self._get_call_action, "PUT": self._put_call_action},
            ),
        ]

    # -- who is asking ----------------------------------------------------------

    def _scope(self, admin: bool) -> str | None:
        """None for the admin key; for the agent key, the id of its identity."""
        if admin:
            return None
        identity_id = self.store.agent_identity(self.agent_handle)
        if identity_id is None:  # deleting an identity revokes its scoped keys
            raise ApiFailure(401, "This agent-scoped API key's identity no longer exists")
        return identity_id

    def _identity(self, handle: str, admin: bool) -> str:
        identity_id = self.store.identity_id(handle)
        if self._scope(admin) not in (None, identity_id):
            raise ApiFailure(404, f"Identity {handle!r} not found")
        return identity_id

    def _number(self, raw_id: str, admin: bool) -> JsonObj:
        number = self.store.number(v.path_uuid(raw_id, "phone_number_id"))
        if self._scope(admin) not in (None, number["agent_identity_id"]):
            raise ApiFailure(404, "Phone number not found")
        return number

    def _whoami(self, request: Request, admin: bool, params: list[str]) -> Response:
        scope = self._scope(admin)
        if scope is None:
            subtype, key_id = "api_key.admin_scoped", demo_id("api-key", "admin")
            label = "sandbox admin key"
        else:
            handle = self.store.identity_view(scope)["agent_handle"]
            subtype, key_id = "api_key.agent_scoped.claimed", demo_id("api-key", "agent")
            label = f"sandbox agent key ({handle})"
        return Response(
            200,
            {
                "auth_type": "api_key",
                "auth_subtype": subtype,
                "organization_id": ORGANIZATION_ID,
                "key_id": key_id,
                "label": label,
                "description": None,
                "scope": None,
                "created_by": None,
                "creator_type": None,
                "created_at": None,
                "last_used_at": None,
                "expires_at": None,
            },
        )

    # -- identities -------------------------------------------------------------

    def _list_identities(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.identity_views(self._scope(admin)))

    def _get_identity(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.identity_view(self._identity(params[0], admin)))

    def _patch_identity(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = self._identity(params[0], admin)
        changes = bodies.identity_patch(request.body)
        if not admin and changes.keys() & {
            "phone_inbound_filter_mode",
            "phone_outbound_filter_mode",
        }:
            raise ApiFailure(403, "Changing filter modes needs an admin-scoped API key")
        return Response(200, self.store.patch_identity(identity_id, changes))

    # -- numbers ----------------------------------------------------------------

    def _list_numbers(self, request: Request, admin: bool, params: list[str]) -> Response:
        scope = self._scope(admin)
        numbers = self.store.numbers()
        if scope is not None:
            numbers = [n for n in numbers if n["agent_identity_id"] == scope]
        return _advise(Response(200, numbers), "mirror")

    def _get_number(self, request: Request, admin: bool, params: list[str]) -> Response:
        return _advise(Response(200, self._number(params[0], admin)), "mirror")

    def _patch_number(self, request: Request, admin: bool, params: list[str]) -> Response:
        number = self._number(params[0], admin)
        changes = bodies.number_patch(request.body)
        if "filter_mode" in changes and not admin:
            raise ApiFailure(403, "Changing filter_mode needs an admin-scoped API key")
        answer = Response(200, self.store.patch_number(number["id"], changes))
        return _advise(answer, "legacy_mode_write") if "filter_mode" in changes else answer

    def _provision(self, request: Request, admin: bool, params: list[str]) -> Response:
        require_admin(admin)
        body = v.provision(request.body)
        return Response(201, self.store.provision(body["agent_handle"], body["state"]))

    def _release(self, request: Request, admin: bool, params: list[str]) -> Response:
        number = self._number(params[0], admin)
        require_admin(admin)
        self.store.release(number["id"])
        return Response(204)

    def _call_action_number(self, identity_id: str | None, admin: bool) -> JsonObj:
        scope = self._scope(admin)
        if identity_id is None:
            if scope is None:
                raise unprocessable(
                    [
                        error(
                            ["query", "agent_identity_id"],
                            "Field required: an admin-scoped key must name the identity",
                            "missing",
                        )
                    ]
                )
            identity_id = scope
        elif scope not in (None, identity_id):
            raise ApiFailure(404, "Identity not found")
        return self.store.number_of(identity_id)

    def _get_call_action(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = v.query_uuid(request.query, "agent_identity_id")
        return Response(200, _call_action(self._call_action_number(identity_id, admin)))

    def _put_call_action(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id, changes = bodies.incoming_call_action_put(request.body)
        identity_id = identity_id or v.query_uuid(request.query, "agent_identity_id")
        number = self._call_action_number(identity_id, admin)
        return Response(200, _call_action(self.store.patch_number(number["id"], changes)))

    # -- rules ------------------------------------------------------------------

    def _page(self, request: Request, identity_id: str | None) -> Response:
        limit, offset = v.paging(request.query, self.page_size)
        filters = v.enum_params(request.query, bodies.RULE_FILTERS)
        items, more = self.store.rules_page(
            identity_id,
            action=filters["action"],
            direction=filters["direction"],
            match_type=filters["match_type"],
            limit=limit,
            offset=offset,
        )
        return page_response(list(map(encode_rule, items)), limit, offset, more)

    def _list_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        return self._page(request, self._identity(params[0], admin))

    def _list_org_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        if "phone_number_id" in request.query:  # ASSUMED: part of the sunset
            return self._gone(request, admin, params)
        require_admin(admin)
        return self._page(request, v.query_uuid(request.query, "agent_identity_id"))

    def _get_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = self._identity(params[0], admin)
        return Response(200, self.store.rule(identity_id, v.path_uuid(params[1], "rule_id")))

    def _create_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = self._identity(params[0], admin)
        require_admin(admin)
        rule, events = self.store.create_rule(identity_id, bodies.rule_create(request.body))
        return _advise(Response(201, rule), *events)

    def _patch_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = self._identity(params[0], admin)
        rule_id = v.path_uuid(params[1], "rule_id")
        require_admin(admin)
        change = bodies.rule_patch(request.body)
        rule, events = self.store.update_rule(identity_id, rule_id, change)
        return _advise(Response(200, rule), *events)

    def _delete_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        identity_id = self._identity(params[0], admin)
        rule_id = v.path_uuid(params[1], "rule_id")
        require_admin(admin)
        self.store.delete_rule(identity_id, rule_id)
        return Response(204)

    def _gone(self, request: Request, admin: bool, params: list[str]) -> Response:
        raise ApiFailure(410, _GONE, headers=dict(_SUNSET))


def _advise(response: Response, *events: str) -> Response:
    """Add the notices of these events to the answer's `Inkbox-Notices` header."""
    if events:
        response.headers["Inkbox-Notices"] = _notices_header(events)
    return response


@functools.cache  # a handful of event combinations, each encoded once
def _notices_header(events: tuple[str, ...]) -> str:
    return json.dumps(
        [dict(zip(("code", "level", "message"), NOTICES[e], strict=True)) for e in events]
    )


def _call_action(number: JsonObj) -> JsonObj:
    """`GET/PUT /phone/incoming-call-action`: the routing of the identity's number
    (ASSUMED: the same setting the number PATCH writes)."""
    keys = ("incoming_call_action", "client_websocket_url", "incoming_call_webhook_url")
    return {
        "agent_identity_id": number["agent_identity_id"],
        **{key: number[key] for key in (*keys, *FORWARDING_FIELDS)},
    }


def encode_rule(rule: JsonObj) -> str:
    """A rule as JSON, ~10x cheaper than `json.dumps` for the standard shape (see the
    2026-06 `encode_rule`: every standard field is validated, none needs escaping)."""
    if rule.keys() != RULE_FIELDS or rule["contact"] is not None:
        return json.dumps(rule)
    return (
        f'{{"id": "{rule["id"]}", "agent_identity_id": "{rule["agent_identity_id"]}", '
        f'"action": "{rule["action"]}", "match_type": "{rule["match_type"]}", '
        f'"match_target": "{rule["match_target"]}", "direction": "{rule["direction"]}", '
        f'"status": "{rule["status"]}", "contact": null, '
        f'"created_at": "{rule["created_at"]}", "updated_at": "{rule["updated_at"]}"}}'
    )
