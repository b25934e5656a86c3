"""The phone API of `inkbox-phone-api.md`: request in, response out, no sockets.

Order of checks, as the live API: authentication (401; 403 for admin-only
operations with an agent-scoped key), route (404/405), body shape (422, all
problems at once), then the state (404 unknown ids, 409 taken slot, 422 a
routing without its URL).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

from inkbox_sync.sandbox import validation as v
from inkbox_sync.sandbox.document import ORGANIZATION_ID
from inkbox_sync.sandbox.store import Store
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]
    body: object  # parsed JSON; None when there was no body
    body_error: str | None  # why the body is not JSON, if it is not
    api_key: str | None

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass(slots=True)
class Response:
    status: int
    body: object = None  # a JSON value; ignored for 204
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes | None = None  # the body already encoded as JSON, sent instead of `body`


Handler = Callable[[Request, bool, list[str]], Response]

_ADMIN_ONLY: Final = "This operation needs an admin-scoped API key"


class SandboxApp:
    """Routes API requests to the store. `agent_key`, if set, is an agent-scoped
    key: it may read and write, except the contract's admin-only operations."""

    def __init__(
        self,
        store: Store,
        *,
        api_key: str,
        agent_key: str | None = None,
        page_size: int = v.MAX_LIMIT,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.agent_key = agent_key
        self.page_size = page_size
        seg = r"([^/]+)"
        rules = rf"/api/v1/phone/numbers/{seg}/contact-rules"
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/api/v1/identities"), {"GET": self._list_identities}),
            (re.compile(rf"/api/v1/identities/{seg}"), {"GET": self._get_identity}),
            (
                re.compile(r"/api/v1/phone/numbers"),
                {"GET": self._list_numbers, "POST": self._provision},
            ),
            (
                re.compile(rf"/api/v1/phone/numbers/{seg}"),
                {"GET": self._get_number, "PATCH": self._patch_number, "DELETE": self._release},
            ),
            (re.compile(rules), {"GET": self._list_rules, "POST": self._create_rule}),
            (
                re.compile(rf"{rules}/{seg}"),
                {"GET": self._get_rule, "PATCH": self._patch_rule, "DELETE": self._delete_rule},
            ),
            (re.compile(r"/api/v1/phone/contact-rules"), {"GET": self._list_org_rules}),
            (re.compile(r"/api/whoami"), {"GET": self._whoami}),
        ]

    def handle(self, request: Request) -> Response:
        try:
            admin = self._authenticate(request.api_key)
            handler, params = self._route(request)
            if request.body_error is not None:
                raise v.unprocessable([v.error(["body", 0], request.body_error, "json_invalid")])
            return handler(request, admin, params)
        except ApiFailure as failure:
            return Response(failure.status, {"detail": failure.detail})

    def _authenticate(self, key: str | None) -> bool:
        """True for the admin key, False for the agent key; 401 otherwise."""
        if not key:
            raise ApiFailure(401, "Missing API key (send it in the X-API-Key header)")
        if hmac.compare_digest(key.encode(), self.api_key.encode()):
            return True
        if self.agent_key and hmac.compare_digest(key.encode(), self.agent_key.encode()):
            return False
        raise ApiFailure(401, "Invalid API key")

    def _route(self, request: Request) -> tuple[Handler, list[str]]:
        path = request.path.rstrip("/") or "/"
        for pattern, methods in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                raise ApiFailure(405, "Method Not Allowed")
            return handler, [unquote(group) for group in match.groups()]
        raise ApiFailure(404, "Not Found")

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
        changes = v.number_patch(request.body)
        if "filter_mode" in changes and not admin:
            raise ApiFailure(403, "Changing filter_mode needs an admin-scoped API key")
        return Response(200, self.store.patch_number(number_id, changes))

    def _provision(self, request: Request, admin: bool, params: list[str]) -> Response:
        _require_admin(admin)
        body = v.provision(request.body)
        return Response(201, self.store.provision(body["agent_handle"], body["state"]))

    def _release(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id = v.path_uuid(params[0], "phone_number_id")
        _require_admin(admin)
        self.store.release(number_id)
        return Response(204)

    # -- rules ----------------------------------------------------------------

    def _page(self, request: Request, number_id: str | None, *, per_number: bool) -> Response:
        limit, offset = v.paging(request.query, self.page_size)
        action, match_type = v.rule_filters(request.query)
        items, more = self.store.rules_page(
            number_id,
            action=action,
            match_type=match_type,
            limit=limit,
            offset=offset,
            unknown_number_is_error=per_number,
        )
        tail = json.dumps({"limit": limit, "offset": offset, "has_more": more})[1:]
        text = '{"items": [' + ", ".join(map(encode_rule, items)) + "], " + tail
        return Response(200, encoded=text.encode())

    def _list_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        return self._page(request, v.path_uuid(params[0], "phone_number_id"), per_number=True)

    def _list_org_rules(self, request: Request, admin: bool, params: list[str]) -> Response:
        _require_admin(admin)
        number_id = request.query.get("phone_number_id")
        if number_id is not None:
            canonical = v.canonical_uuid(number_id)
            if canonical is None:
                raise v.unprocessable(
                    [
                        v.error(
                            ["query", "phone_number_id"],
                            "Input should be a valid UUID",
                            "uuid_parsing",
                        )
                    ]
                )
            number_id = canonical
        return self._page(request, number_id, per_number=False)

    def _rule_ids(self, params: list[str]) -> tuple[str, str]:
        return v.path_uuid(params[0], "phone_number_id"), v.path_uuid(params[1], "rule_id")

    def _get_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        return Response(200, self.store.rule(*self._rule_ids(params)))

    def _create_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id = v.path_uuid(params[0], "phone_number_id")
        body = v.rule_create(request.body)
        return Response(201, self.store.create_rule(number_id, body))

    def _patch_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id, rule_id = self._rule_ids(params)
        _require_admin(admin)
        changes: JsonObj = v.rule_patch(request.body)
        return Response(200, self.store.update_rule(number_id, rule_id, changes))

    def _delete_rule(self, request: Request, admin: bool, params: list[str]) -> Response:
        number_id, rule_id = self._rule_ids(params)
        _require_admin(admin)
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
    if rule.keys() != v.RULE_FIELDS:
        return json.dumps(rule)
    return (
        f'{{"id": "{rule["id"]}", "phone_number_id": "{rule["phone_number_id"]}", '
        f'"action": "{rule["action"]}", "match_type": "{rule["match_type"]}", '
        f'"match_target": "{rule["match_target"]}", "status": "{rule["status"]}", '
        f'"created_at": "{rule["created_at"]}", "updated_at": "{rule["updated_at"]}"}}'
    )


def _require_admin(admin: bool) -> None:
    if not admin:
        raise ApiFailure(403, _ADMIN_ONLY)
