"""API version 2026-06 (`inkbox-phone-api.md`): rules and filter_mode belong to the number.

The adapter maps that contract onto the core's model: the holder of a number's
policy is the number itself (steps address its id), one `filter_mode` is both
sides' mode, and every rule covers both sides. Status is writable, so staged
rules are paused rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar, Final, Literal

import msgspec

from inkbox_sync.client.api import (
    API,
    IDENTITIES,
    NUMBERS,
    InkboxClient,
    Listings,
    OnProgress,
    Page,
    by_target,
    page_shape,
)
from inkbox_sync.client.demand import Demand, Settled
from inkbox_sync.client.shapes import (
    JsonObject,
    Shape,
    choice,
    items,
    malformed,
    obj,
    opt_string,
    string,
)
from inkbox_sync.errors import NotFoundError
from inkbox_sync.model import (
    ACTIONS,
    RULE_STATUSES,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    LiveNumber,
    LiveRule,
    LiveState,
    RuleStatus,
    Side,
)
from inkbox_sync.plan import Step

VERSION: Final = "2026-06"
#: One filter mode per number for both sides, rules on both sides only, rule
#: status writable, no `apply_to`, the first three call actions, policy by number,
#: inbound only (the smallest API: `Capabilities`' defaults).
CAPABILITIES: Final = Capabilities(
    directional_rules=False, separate_modes=False, writable_status=True, apply_to=False
)
NUMBER_FIELDS: Final = frozenset(
    {"incoming_call_action", "client_websocket_url", "incoming_call_webhook_url", "filter_mode"}
)


class _RawRule(msgspec.Struct, kw_only=True, gc=False):
    """A rule row as sent (see `api.page_shape`), checked by `_checked_rule`."""

    id: Any = None
    phone_number_id: Any = None
    action: Any = None
    match_type: Any = "exact_number"
    match_target: Any = None
    status: Any = None


class _Rule(_RawRule, kw_only=True, gc=False):
    """A well-formed rule row, as the API sends them: it needs no check."""

    id: str
    phone_number_id: str | None = None
    action: Action
    match_type: str = "exact_number"
    match_target: str
    status: Literal["active", "paused", "deleted"]


_PAGE: Final[Shape[Page[_RawRule]]] = page_shape(_Rule, _RawRule)
_ANSWER: Final[Shape[_RawRule]] = Shape(_Rule, _RawRule, obj)


class Adapter2026_06(InkboxClient):
    """The per-number contract."""

    VERSION: ClassVar[str] = VERSION
    CAPABILITIES: ClassVar[Capabilities] = CAPABILITIES

    @classmethod
    def recognise(cls, listings: Listings) -> str | None:
        """Why `listings` come from a 2026-06 API (asked after every newer version)."""
        if any("filter_mode" in number for number in listings.numbers):
            return "its numbers carry their own filter_mode and nothing newer"
        return None

    @staticmethod
    def needs_admin(step: Step) -> bool:
        """Whether only an admin-scoped key may make the write: setting the filter
        mode, and a rule's PATCH or DELETE. Routing and creating a rule are open to
        an agent-scoped key."""
        return step.kind in ("set_modes", "update_rule", "delete_rule")

    # -- reading ------------------------------------------------------------------

    async def list_identities(self) -> dict[str, str]:
        """Identity id -> agent_handle, from the identities listing alone."""
        return _handles(items(await self._t.request("GET", IDENTITIES), IDENTITIES))

    async def list_numbers(self) -> list[LiveNumber]:
        """Every number of the organisation from the numbers listing alone, rules not
        read (`rules=None`) and agent handles not filled in."""
        found = items(await self._t.request("GET", NUMBERS), NUMBERS)
        return [_number(item, NUMBERS) for item in found]

    async def read_live(self, demand: Demand, *, progress: OnProgress | None = None) -> LiveState:
        """The numbers the demand names (None: every number), rules where wanted. This
        contract has no policy by agent handle: agents are never found (the planner
        says so). Rules are read while the demand is still being settled when that
        is possible (see `_read_rules`)."""
        listings = await self.listings()
        handles = _handles(listings.identities)
        every = [_number(item, NUMBERS, handles) for item in listings.numbers]
        by_number = {n.number: n for n in every}

        def scope(settled: Settled) -> tuple[dict[str, bool], list[str]]:
            """(numbers, number ids whose rules are read) of the settled demand."""
            numbers = settled[0]
            wanted = numbers if numbers is not None else {n.number: True for n in every}
            read = sorted(by_number[n].id for n, want in wanted.items() if want and n in by_number)
            return wanted, read

        rules: dict[str, list[LiveRule]] = {}

        async def org_wide(on_page: Callable[[], None]) -> None:
            rules.update(await self.list_org_rules(on_page=on_page))

        async def per_number(number_id: str) -> None:
            rules[number_id] = await self.list_number_rules(number_id)

        settled = await self._read_rules(
            demand,
            org_size=len(every),
            named=lambda numbers, _: sum(1 for n in numbers if n in by_number),
            wanted=lambda settled: scope(settled)[1],
            org_wide=org_wide,
            per_holder=per_number,
            progress=progress,
        )
        wanted, _ = scope(settled)
        result = {}
        for number in sorted(n for n in wanted if n in by_number):
            live = by_number[number]
            if wanted[number]:
                live = replace(live, rules=by_target(rules.get(live.id, [])))
            result[number] = live
        return LiveState(result, capabilities=CAPABILITIES, api_version=VERSION)

    async def list_number_rules(self, number_id: str) -> list[LiveRule]:
        """The number's non-deleted exact-number rules, all pages, in server order."""
        path = f"{API}/phone/numbers/{number_id}/contact-rules"
        found = await self._list_sequential(path, {}, shape=_PAGE)
        return [rule for _, rule in _rules(found, path)]

    async def list_org_rules(
        self,
        phone_number_id: str | None = None,
        *,
        on_page: Callable[[], None] | None = None,
    ) -> dict[str, list[LiveRule]]:
        """Number id -> its non-deleted rules, from the org-wide listing (admin-only).
        Pages after the first are fetched concurrently (see `_list_concurrent`)."""
        path = f"{API}/phone/contact-rules"
        params = {"phone_number_id": phone_number_id} if phone_number_id else {}
        out: dict[str, list[LiveRule]] = {}

        def take(found: list[_RawRule]) -> None:
            for number_id, rule in _rules(found, path):
                if number_id is None:
                    raise malformed(
                        path,
                        f"rule {rule.id} has no phone_number_id (a 2026-10 API keys rules "
                        "by identity: try --api-version auto)",
                    )
                out.setdefault(number_id, []).append(rule)

        await self._list_concurrent(path, params, on_page, take, shape=_PAGE)
        return out

    # -- writes -------------------------------------------------------------------

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> LiveNumber:
        """PATCH the given fields only (None clears a URL); returns the updated number."""
        unknown = set(fields) - NUMBER_FIELDS
        if unknown:
            raise ValueError(f"not a number field in API version {VERSION}: {sorted(unknown)}")
        path = f"{NUMBERS}/{number_id}"
        return _number(obj(await self._t.request("PATCH", path, json=dict(fields)), path), path)

    async def set_modes(self, address: str, modes: Mapping[Side, FilterMode]) -> LiveNumber:
        """Set the number's filter mode: one mode for both sides in this contract."""
        values = set(modes.values())
        if len(modes) != 2 or len(values) != 1:
            raise ValueError("this API sets one filter_mode for both sides")
        return await self.patch_number(address, {"filter_mode": values.pop()})

    async def get_rule(self, address: str, rule_id: str) -> LiveRule:
        """One rule; NotFoundError if it is unknown or deleted."""
        path = f"{API}/phone/numbers/{address}/contact-rules/{rule_id}"
        found = list(_rules([await self._t.request("GET", path, decode=_ANSWER.at(path))], path))
        if not found:
            raise NotFoundError(f"GET {path}: rule is deleted", status=404)
        return found[0][1]

    async def create_rule(
        self, address: str, *, action: Action, target: str, direction: Direction = "both"
    ) -> LiveRule:
        """Create an active exact-number rule (on both sides: this contract has no directions).

        Raises ConflictError (with `existing_rule_id`) on 409: a non-deleted rule
        already holds the target's slot. Because a create that failed
        ambiguously (5xx, timeout, lost connection) is retried, that rule may be
        the one an earlier attempt of this very call committed; the executor
        decides whether to adopt it.
        """
        if direction != "both":
            raise ValueError("this API has no one-way rules")
        path = f"{API}/phone/numbers/{address}/contact-rules"
        body = {"action": action, "match_type": "exact_number", "match_target": target}
        return _one_rule(
            await self._t.request("POST", path, json=body, decode=_ANSWER.at(path)), path
        )

    async def update_rule(
        self,
        address: str,
        rule_id: str,
        *,
        action: Action | None = None,
        status: RuleStatus | None = None,
        direction: Direction | None = None,
        apply_to: Side | None = None,
    ) -> LiveRule:
        """PATCH only the given fields of a rule (admin-only)."""
        if direction is not None or apply_to is not None:
            raise ValueError("this API has no rule directions")
        body: JsonObject = {}
        if action is not None:
            body["action"] = action
        if status is not None:
            body["status"] = status
        if not body:
            raise ValueError("update_rule needs an action or a status")
        path = f"{API}/phone/numbers/{address}/contact-rules/{rule_id}"
        return _one_rule(
            await self._t.request("PATCH", path, json=body, decode=_ANSWER.at(path)), path
        )

    async def delete_rule(self, address: str, rule_id: str) -> None:
        """Delete a rule. Already gone (404) counts as done: a retried DELETE may
        find that its first, unanswered attempt succeeded."""
        path = f"{API}/phone/numbers/{address}/contact-rules/{rule_id}"
        with contextlib.suppress(NotFoundError):
            await self._t.request("DELETE", path)


# -- parsing: JSON shapes of the contract -> model types --------------------------


def _handles(identities: list[JsonObject]) -> dict[str, str]:
    return {
        string(item, "id", IDENTITIES): string(item, "agent_handle", IDENTITIES)
        for item in identities
    }


def _number(item: JsonObject, path: str, handles: Mapping[str, str] | None = None) -> LiveNumber:
    """A number; its one filter_mode is both sides' mode. Values this tool does
    not know (a newer call action or mode) are carried as they are."""
    filter_mode = item.get("filter_mode", "blacklist")  # the SDK's default for older servers
    if not isinstance(filter_mode, str):
        filter_mode = string(item, "filter_mode", path)  # raises, naming the field
    identity = opt_string(item, "agent_identity_id", path)
    return LiveNumber(
        id=string(item, "id", path),
        number=string(item, "number", path),
        incoming_call_action=_action(item, path),
        client_websocket_url=opt_string(item, "client_websocket_url", path),
        incoming_call_webhook_url=opt_string(item, "incoming_call_webhook_url", path),
        inbound_filter_mode=filter_mode,
        outbound_filter_mode=filter_mode,
        agent_identity_id=identity,
        agent_handle=(handles or {}).get(identity or ""),
    )


def _action(item: JsonObject, path: str) -> str:
    """`incoming_call_action`, an open string; missing means the contract's default."""
    if item.get("incoming_call_action") is None:
        return "auto_reject"
    return string(item, "incoming_call_action", path)


def _rules(found: list[_RawRule], path: str) -> Iterator[tuple[str | None, LiveRule]]:
    """(phone_number_id, rule) for each live exact-number rule; deleted ones skipped.

    This runs once per rule of the fleet (100,000s): a well-formed row (`_Rule`)
    becomes the model's rule here, any other goes through `_checked_rule`, which
    says what is wrong.
    """
    for row in found:
        status = row.status
        if type(row) is _Rule:
            if status != "deleted" and row.match_type == "exact_number":
                yield row.phone_number_id, LiveRule(row.id, row.match_target, row.action, status)
            continue
        if status == "deleted":
            continue
        if row.match_type != "exact_number":
            continue  # no other match type exists in this contract; never manage one
        yield _checked_rule(msgspec.structs.asdict(row), path)


def _checked_rule(item: JsonObject, path: str) -> tuple[str | None, LiveRule]:
    """`_rules` for one row, field by field: raises on the first malformed one."""
    action: Action = choice(item, "action", ACTIONS, path)
    status: RuleStatus = choice(item, "status", RULE_STATUSES, path)
    rule = LiveRule(
        id=string(item, "id", path),
        target=string(item, "match_target", path),
        action=action,
        status=status,
    )
    return opt_string(item, "phone_number_id", path), rule


def _one_rule(row: _RawRule, path: str) -> LiveRule:
    found = list(_rules([row], path))
    if not found:
        raise malformed(path, "the rule in the answer is deleted or not an exact-number rule")
    return found[0][1]
