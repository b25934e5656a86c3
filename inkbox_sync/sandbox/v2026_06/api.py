"""The routes of `inkbox-phone-api.md` (2026-06): per-number rules with a writable status.

Request bodies are checked here (shape, 422 with every problem at once); the
store checks what needs the state.
"""

from __future__ import annotations

import json
from typing import Final

from inkbox_sync.sandbox import validation as v
from inkbox_sync.sandbox.app import (
    SEGMENT,
    Request,
    Response,
    Routes,
    SandboxApp,
    page_response,
    require_admin,
)
from inkbox_sync.sandbox.document import ORGANIZATION_ID
from inkbox_sync.sandbox.v2026_06.state import CALL_ACTIONS, RULE_FIELDS
from inkbox_sync.sandbox.v2026_06.store import NumberRuleStore
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj, error, unprocessable

NUMBER_PATCH_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "filter_mode",
)
RULE_STATUSES: Final = ("active", "paused")  # writable; "deleted" only via DELETE
RULE_FILTERS: Final = {"action": v.RULE_ACTIONS, "match_type": v.MATCH_TYPES}


class App(SandboxApp[NumberRuleStore]):
    def routes(self) -> Routes:
        rules = rf"/api/v1/phone/numbers/{SEGMENT}/contact-rules"
        return [
            (r"/api/v1/identities", {"GET": self._list_identities}),
            (rf"/api/v1/identities/{SEGMENT}", {"GET": self._get_identity}),
            (r"/api/v1/phone/numbers", {"GET": self._list_numbers, "POST": self._provision}),
            (
                rf"/api/v1/phone/numbers/{SEGMENT}",
                {"GET": self._get_number, "PATCH": self._patch_number, "DELETE": self._release},
            ),
            (rules, {"GET": self._list_rules, "POST": self._create_rule}),
            (
                rf"{rules}/{SEGMENT}",
                {"GET": self._get_rule, "PATCH": self._patch_rule, "DELETE": self._delete_rule},
            ),
            (r"/api/v1/phone/contact-rules", {"GET": self._list_org_rules}),
            (r"/api/whoami", {"GET": self._whoami}),
        ]

    # -- identities and numbers -----------------------------------------------

    def _whoami(self, request: Request, admin: bool, params: list[str]) -> Response:
        subtype = "api_key.admin_scoped" if admin else "api_key.agent_scoped.claimed"
        return Response(
            200,
            {"auth_type": "api_key", "auth_subtype": subtype, "organization_id": ORGANIZATION_ID},
        )

    def _list_identities(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.identities())

    def _get_identity(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.identity(params[0]))

    def _list_numbers(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.numbers())

    def _get_number(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.number(v.path_uuid(params[0], "phone_number_id")))

    def _patch_number(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id = v.path_uuid(params[0], "phone_number_id")
        changes = number_patch(request.body)
        if "filter_mode" in changes and not admin:
            raise ApiFailure(403, "Changing filter_mode needs an admin-scoped API key")
        return Response(200, self.store.patch_number(number_id, changes))

    def _provision(self, request: Request, admin: bool, params: list[str]) -> Response:
        require_admin(admin)
        body = v.provision(request.body)
        return Response(201, self.store.provision(body["agent_handle"], body["state"]))

    def _release(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id = v.path_uuid(params[0], "phone_number_id")
        require_admin(admin)
        self.store.release(number_id)
        return Response(204)

    # -- rules ----------------------------------------------------------------

    def _page(self, request: Request, number_id: str | None, *, per_number: bool) -> Response:
        limit, offset = v.paging(request.query, self.page_size)
        filters = v.enum_params(request.query, RULE_FILTERS)
        items, more = self.store.rules_page(
            number_id,
            action=filters["action"],
            match_type=filters["match_type"],
            limit=limit,
            offset=offset,
            unknown_number_is_error=per_number,
        )
        return page_response(list(map(encode_rule, items)), limit, offset, more)

    def _list_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        return self._page(request, v.path_uuid(params[0], "phone_number_id"), per_number=True)

    def _list_org_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        require_admin(admin)
        number_id = v.query_uuid(request.query, "phone_number_id")
        return self._page(request, number_id, per_number=False)

    def _rule_ids(self, params: list[str]) -> tuple[str, str]:
        return v.path_uuid(params[0], "phone_number_id"), v.path_uuid(params[1], "rule_id")

    def _get_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.rule(*self._rule_ids(params)))

    def _create_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id = v.path_uuid(params[0], "phone_number_id")
        body = rule_create(request.body)
        return Response(201, self.store.create_rule(number_id, body))

    def _patch_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id, rule_id = self._rule_ids(params)
        require_admin(admin)
        changes: JsonObj = rule_patch(request.body)
        return Response(200, self.store.update_rule(number_id, rule_id, changes))

    def _delete_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id, rule_id = self._rule_ids(params)
        require_admin(admin)
        self.store.delete_rule(number_id, rule_id)
        return Response(204)


def encode_rule(rule: JsonObj) -> str:
    """A rule as JSON, ~10x cheaper than `json.dumps` for the standard shape.

    Pages of rules are the bulk of a plan's reads (500 pages of 200 for the
    benchmark's fleet) and `json.dumps` of a small dict is mostly fixed
    overhead. Safe without escaping: every standard field has been validated
    (canonical UUIDs, enums, E.164, ISO 8601), so none holds a character JSON
    must escape. Any other shape goes through `json.dumps`.
    """
    if rule.keys() != RULE_FIELDS:
        return json.dumps(rule)
    return (
        f'{{"id": "{rule["id"]}", "phone_number_id": "{rule["phone_number_id"]}", '
        f'"action": "{rule["action"]}", "match_type": "{rule["match_type"]}", '
        f'"match_target": "{rule["match_target"]}", "status": "{rule["status"]}", '
        f'"created_at": "{rule["created_at"]}", "updated_at": "{rule["updated_at"]}"}}'
    )


# -- request bodies -------------------------------------------------------------


def number_patch(body: object) -> JsonObj:
    """The fields of a number PATCH: any subset; `null` clears a URL."""
    obj = v.body_object(body)
    errors = v.extra_fields(obj, NUMBER_PATCH_FIELDS)
    errors += v.enum_fields(
        obj, {"incoming_call_action": CALL_ACTIONS, "filter_mode": v.FILTER_MODES}
    )
    errors += v.routing_url_fields(obj)
    if errors:
        raise unprocessable(errors)
    return dict(obj)


def rule_create(body: object) -> JsonObj:
    """A rule create body: exactly `{action, match_type, match_target}`."""
    obj = v.body_object(body)
    fields = ("action", "match_type", "match_target")
    errors = v.required_fields(obj, fields)
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
    errors += v.rule_fields(obj)
    if errors:
        raise unprocessable(errors)
    return {key: obj[key] for key in fields}


def rule_patch(body: object) -> JsonObj:
    """A rule PATCH body: `action` and/or `status` (active | paused)."""
    obj = v.body_object(body)
    errors = v.extra_fields(obj, ("action", "status")) + v.enum_fields(
        obj, {"action": v.RULE_ACTIONS}
    )
    if "status" in obj:
        if obj["status"] == "deleted":
            errors.append(
                error(["body", "status"], "Use DELETE to delete a rule", "enum"),
            )
        else:
            errors += v.enum_field(obj, "status", RULE_STATUSES)
    if errors:
        raise unprocessable(errors)
    return dict(obj)
