"""API version 2026-10 (`inkbox-phone-api-2026-10.md`): policy belongs to the agent identity.

The adapter maps that contract onto the core's model:

- The holder of a number's policy is its identity: mode and rule steps address
  the identity's handle (`LiveNumber.policy_id`), routing steps the number's id.
  Identities managed by handle (`agents:`) are `LiveAgent`s.
- Each side has its own mode (`phone_inbound_filter_mode`,
  `phone_outbound_filter_mode`; missing ones fall back to `phone_filter_mode`,
  then `imessage_filter_mode`, then blacklist, as the SDK reads them). The
  number's own mode fields are read-only mirrors and never written.
- Rules have a direction (missing: both) and a read-only status (missing:
  active), so staged rules are active rows with the harmless action, and
  `apply_to` edits one side. Every answer's id and direction are returned as
  they are: the server merges and splits rows, and the executor takes them as
  the truth.
- Values this tool does not know are carried as they are where nothing
  manages them; rules are parsed only for the holders whose rules are read, so
  an unknown value on an identity no manifest names is never even looked at.
  Pool numbers (no identity) have no policy: their routing alone can be managed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final, Literal, TypeVar
from urllib.parse import quote

import msgspec

from inkbox_sync.client.api import (
    API,
    InkboxClient,
    Listings,
    OnProgress,
    Page,
    by_target,
    page_shape,
)
from inkbox_sync.client.demand import Demand, Settled
from inkbox_sync.client.shapes import JsonObject, Shape, malformed, obj, opt_string, string
from inkbox_sync.errors import NotFoundError, PermanentApiError, PlanError
from inkbox_sync.model import (
    CALL_ACTIONS,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    LiveAgent,
    LiveNumber,
    LiveRule,
    LiveState,
    RuleStatus,
    Side,
)
from inkbox_sync.plan import Step

VERSION: Final = "2026-10"
#: One-way rules (the server merges and splits rows), a mode per side, rule status
#: read-only, `apply_to`, every call action (forwarding too), policy by identity
#: (`agents:`), and an outbound side.
CAPABILITIES: Final = Capabilities(
    directional_rules=True,
    separate_modes=True,
    writable_status=False,
    apply_to=True,
    call_actions=CALL_ACTIONS,
    identity_policy=True,
    outbound_side=True,
)
ROUTING_FIELDS: Final = frozenset(
    {
        "incoming_call_action",
        "client_websocket_url",
        "incoming_call_webhook_url",
        "forwarding_target_type",
        "forwarding_phone_number",
        "forwarding_sip_uri",
    }
)
#: Fields only a 2026-10 API sends: what version detection looks for.
NUMBER_MARKS: Final = ("inbound_filter_mode", "outbound_filter_mode", "forwarding_target_type")
IDENTITY_MARKS: Final = (
    "phone_filter_mode",
    "phone_inbound_filter_mode",
    "phone_outbound_filter_mode",
)
_K = TypeVar("_K", bound=str)
_NUMBERS: Final = f"{API}/phone/numbers"
_ORG_RULES: Final = f"{API}/phone/contact-rules"
_ACTIONS: Final[dict[object, Action]] = {"allow": "allow", "block": "block"}
#: Missing status is active; missing direction is both.
_STATUSES: Final[dict[object, RuleStatus]] = {
    None: "active",
    "active": "active",
    "paused": "paused",
}
_DIRECTIONS: Final[dict[object, Direction]] = {
    None: "both",
    "both": "both",
    "inbound": "inbound",
    "outbound": "outbound",
}


class _RawRule(msgspec.Struct, kw_only=True, gc=False):
    """A rule row as sent (see `api.page_shape`), checked by `_rule`."""

    id: Any = None
    agent_identity_id: Any = None
    action: Any = None
    match_type: Any = "exact_number"
    match_target: Any = None
    status: Any = None
    direction: Any = None


class _Rule(_RawRule, kw_only=True, gc=False):
    """A well-formed rule row, as the API sends them: it needs no check."""

    id: str
    agent_identity_id: str | None = None
    action: Action
    match_type: str = "exact_number"
    match_target: str
    status: Literal["active", "paused", "deleted"] = "active"
    direction: Direction = "both"


_PAGE: Final[Shape[Page[_RawRule]]] = page_shape(_Rule, _RawRule)
_ANSWER: Final[Shape[_RawRule]] = Shape(_Rule, _RawRule, obj)


@dataclass(frozen=True, slots=True)
class _Identity:
    id: str
    handle: str
    inbound: str
    outbound: str


class Adapter2026_10(InkboxClient):
    """The per-identity contract."""

    VERSION: ClassVar[str] = VERSION
    CAPABILITIES: ClassVar[Capabilities] = CAPABILITIES

    @classmethod
    def recognise(cls, listings: Listings) -> str | None:
        """Why `listings` come from a 2026-10 API: fields no older version sends."""
        for number in listings.numbers:
            for mark in NUMBER_MARKS:
                if mark in number:
                    return f"its numbers carry {mark}"
        for identity in listings.identities:
            for mark in IDENTITY_MARKS:
                if mark in identity:
                    return f"its identities carry {mark}"
        return None

    @classmethod
    async def probe(cls, client: InkboxClient, listings: Listings) -> str | None:
        """When the listings tell nothing (no number, identities without modes): one
        read of an identity's rule listing, a route only 2026-10 has."""
        for item in listings.identities[:1]:
            handle = item.get("agent_handle")
            if not isinstance(handle, str):
                return None
            try:
                await client._t.request("GET", _rules_path(handle), params={"limit": "1"})
            except NotFoundError:
                return None  # an identity the listing just named: the route is unknown
            return "its identities have phone-contact-rules"
        return None

    @staticmethod
    def needs_admin(step: Step) -> bool:
        """Every rule write and mode write needs an admin-scoped key; routing does not."""
        return step.kind != "update_routing"

    # -- reading ------------------------------------------------------------------

    async def read_live(self, demand: Demand, *, progress: OnProgress | None = None) -> LiveState:
        """The numbers and identities the demand names, rules where wanted.

        Its numbers map E.164 -> whether the policy (its identity's) is read; its
        agents map handle -> the same for identities managed by handle. Numbers
        None means everything (for export): every number, and every identity
        without a number as an agent, all with their rules. The rules are read
        while the demand is still being settled when that is possible (see
        `_read_rules`).
        """
        listings = await self.listings()
        identities = [_identity(item) for item in listings.identities]
        by_id = {identity.id: identity for identity in identities}
        by_handle = {identity.handle: identity for identity in identities}
        every = [_number(item, by_id) for item in listings.numbers]
        by_number = {n.number: n for n in every}

        def scope(settled: Settled) -> tuple[dict[str, bool], dict[str, bool], list[str]]:
            """(numbers, agents, identity ids whose rules are read) of the settled demand."""
            numbers, agents = settled
            if numbers is None:
                # Pool numbers' policy is nobody's: their rules stay unread (None).
                numbers = {n.number: n.policy_id is not None for n in every}
                housed = {n.agent_identity_id for n in every}
                agents = {i.handle: True for i in identities if i.id not in housed}
            agents = {h: want for h, want in agents.items() if h in by_handle}
            read = holders(
                (n for n, want in numbers.items() if want),
                (h for h, want in agents.items() if want),
            )
            return numbers, agents, sorted(read)

        def holders(numbers: Iterable[str], agents: Iterable[str]) -> set[str]:
            """The ids of the identities that hold the policy of these numbers and agents."""
            ids = {by_number[n].agent_identity_id for n in numbers if n in by_number}
            ids.update(by_handle[h].id for h in agents if h in by_handle)
            return {i for i in ids if i}

        rules = _Rules(by_id)

        async def org_wide(on_page: Callable[[], None]) -> None:
            await self._list_concurrent(
                _ORG_RULES, {}, on_page, lambda found: rules.take(found, _ORG_RULES), shape=_PAGE
            )

        async def per_identity(identity_id: str) -> None:
            path = _rules_path(by_id[identity_id].handle)
            rules.take(await self._list_sequential(path, {}, shape=_PAGE), path, identity_id)

        settled = await self._read_rules(
            demand,
            org_size=len(by_id),
            named=lambda numbers, agents: len(holders(numbers, agents)),
            wanted=lambda settled: scope(settled)[2],
            org_wide=org_wide,
            per_holder=per_identity,
            progress=progress,
        )
        numbers, agents, read = scope(settled)
        owned = {n: by_number[n] for n in numbers if n in by_number}
        pools = sorted(n for n, live in owned.items() if numbers[n] and live.policy_id is None)
        if pools:
            raise PlanError(
                f"{', '.join(pools)}: no agent identity owns "
                f"{'this number' if len(pools) == 1 else 'these numbers'}, and in API "
                f"version {VERSION} filter modes, rules and expectations belong to the "
                "identity: a manifest can manage only the routing of a pool number"
            )
        lists = rules.of(read)
        result = {}
        for number in sorted(owned):
            live = owned[number]
            if numbers[number] and live.agent_identity_id in lists:
                live = replace(live, rules=by_target(lists[live.agent_identity_id]))
            result[number] = live
        held = {}
        for handle, want in sorted(agents.items()):
            identity = by_handle[handle]
            held[handle] = LiveAgent(
                identity.id,
                handle,
                identity.inbound,
                identity.outbound,
                rules=by_target(lists[identity.id]) if want else None,
            )
        return LiveState(result, held, capabilities=CAPABILITIES, api_version=VERSION)

    # -- writes -------------------------------------------------------------------

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> object:
        """PATCH the number's routing (None clears); its filter modes are never written
        here (they are the identity's: `set_modes`)."""
        unknown = set(fields) - ROUTING_FIELDS
        if unknown:
            raise ValueError(f"not a number field in API version {VERSION}: {sorted(unknown)}")
        path = f"{_NUMBERS}/{number_id}"
        return obj(await self._t.request("PATCH", path, json=dict(fields)), path)

    async def set_modes(self, address: str, modes: Mapping[Side, FilterMode]) -> object:
        """PATCH the identity's phone modes: `phone_filter_mode` when both sides are set
        alike (it sets both), else the directional field of each side set."""
        if not modes:
            raise ValueError("set_modes needs a mode")
        values = set(modes.values())
        if len(modes) == 2 and len(values) == 1:
            body: JsonObject = {"phone_filter_mode": values.pop()}
        else:
            body = {f"phone_{side}_filter_mode": mode for side, mode in modes.items()}
        path = _identity_path(address)
        return obj(await self._t.request("PATCH", path, json=body), path)

    async def get_rule(self, address: str, rule_id: str) -> LiveRule:
        path = f"{_rules_path(address)}/{rule_id}"
        return _one_rule(await self._t.request("GET", path, decode=_ANSWER.at(path)), path, address)

    async def create_rule(
        self, address: str, *, action: Action, target: str, direction: Direction = "both"
    ) -> LiveRule:
        """Create an active rule covering `direction`. The answer may be an existing
        rule extended to both sides (consolidation): its id and direction are what
        is returned. ConflictError on 409 (a side already covered), as in 2026-06."""
        body = {
            "action": action,
            "match_type": "exact_number",
            "match_target": target,
            "direction": direction,
        }
        path = _rules_path(address)
        answer = await self._t.request("POST", path, json=body, decode=_ANSWER.at(path))
        return _one_rule(answer, path, address)

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
        """PATCH `{action}`, `{direction}`, `{action, direction}` or `{action, apply_to}`.
        After a split (`apply_to`) the answer is the rule now covering that side."""
        if status is not None:
            raise ValueError(f"API version {VERSION} cannot write a rule's status")
        if apply_to is not None and (action is None or direction is not None):
            raise ValueError("apply_to takes an action and no direction")
        body: JsonObject = {}
        if action is not None:
            body["action"] = action
        if direction is not None:
            body["direction"] = direction
        if apply_to is not None:
            body["apply_to"] = apply_to
        if not body:
            raise ValueError("update_rule needs an action or a direction")
        path = f"{_rules_path(address)}/{rule_id}"
        answer = await self._t.request("PATCH", path, json=body, decode=_ANSWER.at(path))
        return _one_rule(answer, path, address)

    async def delete_rule(self, address: str, rule_id: str) -> None:
        """Delete a rule (by any of its ids). Already gone (404) counts as done."""
        path = f"{_rules_path(address)}/{rule_id}"
        with contextlib.suppress(NotFoundError):
            await self._t.request("DELETE", path)


# -- URLs ---------------------------------------------------------------------------


def _identity_path(handle: str) -> str:
    return f"{API}/identities/{quote(handle, safe='')}"


def _rules_path(handle: str) -> str:
    return f"{_identity_path(handle)}/phone-contact-rules"


# -- parsing: JSON shapes of the contract -> model types --------------------------


def _mode(item: JsonObject, key: str, fallback: str, path: str) -> str:
    value = opt_string(item, key, path)
    return fallback if value is None else value


def _identity(item: JsonObject) -> _Identity:
    """An identity's policy-relevant fields; modes are open strings (a third mode is
    carried, and is an error only where a manifest manages it)."""
    path = f"{API}/identities/"
    shared = _mode(item, "phone_filter_mode", "", path) or _mode(
        item, "imessage_filter_mode", "blacklist", path
    )
    return _Identity(
        id=string(item, "id", path),
        handle=string(item, "agent_handle", path),
        inbound=_mode(item, "phone_inbound_filter_mode", shared, path),
        outbound=_mode(item, "phone_outbound_filter_mode", shared, path),
    )


def _number(item: JsonObject, identities: Mapping[str, _Identity]) -> LiveNumber:
    """A number with its identity's modes (its own mode fields are mirrors of them;
    a pool number keeps its mirrors, which nothing can write)."""
    path = _NUMBERS
    identity_id = opt_string(item, "agent_identity_id", path)
    identity = identities.get(identity_id or "")
    if identity is not None:
        inbound, outbound = identity.inbound, identity.outbound
    else:
        shared = _mode(item, "filter_mode", "blacklist", path)
        inbound = _mode(item, "inbound_filter_mode", shared, path)
        outbound = _mode(item, "outbound_filter_mode", shared, path)
    action = item.get("incoming_call_action")
    return LiveNumber(
        id=string(item, "id", path),
        number=string(item, "number", path),
        incoming_call_action=string(item, "incoming_call_action", path)
        if action
        else "auto_reject",
        client_websocket_url=opt_string(item, "client_websocket_url", path),
        incoming_call_webhook_url=opt_string(item, "incoming_call_webhook_url", path),
        inbound_filter_mode=inbound,
        outbound_filter_mode=outbound,
        agent_identity_id=identity_id,
        agent_handle=identity.handle if identity else None,
        forwarding_phone_number=opt_string(item, "forwarding_phone_number", path),
        forwarding_sip_uri=opt_string(item, "forwarding_sip_uri", path),
        policy_id=identity.handle if identity else None,
    )


class _Rules:
    """Each identity's rule rows, as the listings hand them over.

    The org-wide listing carries every identity's rows, and may be read before
    it is known whose rules the plan wants (`InkboxClient._read_rules`), so a
    row with a value this tool does not know, or a malformed one, is held
    against its identity and raised only if that identity's rules are wanted
    (`of`): an identity nothing manages is never read into an error.
    """

    def __init__(self, identities: Mapping[str, _Identity]) -> None:
        self._identities = identities
        self._rows: dict[str, list[LiveRule]] = {identity_id: [] for identity_id in identities}
        self._broken: dict[str, PlanError | PermanentApiError] = {}

    def take(self, found: list[_RawRule], path: str, holder: str | None = None) -> None:
        """Add the rules of `found` to their identities' rows. `holder` is the identity
        of a per-identity listing (its rows need not say so).

        This runs once per rule of the fleet (100,000s): a well-formed row (`_Rule`)
        becomes the model's rule here, any other goes through `_rule`'s checks."""
        rows, broken, identities = self._rows, self._broken, self._identities
        rows_of = rows.get
        for row in found:
            owner = holder if holder is not None else row.agent_identity_id
            if not isinstance(owner, str):
                raise malformed(
                    path,
                    f"rule {row.id} has no agent_identity_id (a 2026-06 API keys "
                    "rules by number: try --api-version auto)",
                )
            mine = rows_of(owner)
            if mine is None:
                continue  # an identity the listing did not name (made since): not managed
            if type(row) is _Rule:
                status = row.status
                if row.match_type == "exact_number" and status != "deleted":
                    mine.append(
                        LiveRule(row.id, row.match_target, row.action, status, row.direction)
                    )
                continue
            try:
                rule = _rule(row, path, identities[owner].handle)
            except (PlanError, PermanentApiError) as exc:
                broken.setdefault(owner, exc)
                continue
            if rule is not None:
                mine.append(rule)

    def of(self, wanted: Iterable[str]) -> dict[str, list[LiveRule]]:
        """The rows of the `wanted` identities; the error of the first one holding a
        row this tool cannot plan with (PlanError) or read (PermanentApiError)."""
        out = {}
        for identity_id in wanted:
            problem = self._broken.get(identity_id)
            if problem is not None:
                raise problem
            out[identity_id] = self._rows[identity_id]
        return out


def _rule(row: _RawRule, path: str, handle: str) -> LiveRule | None:
    """One rule row as the model's rule, checked field by field; None for a row never
    managed (another match type, deleted). The model's own constants replace the
    decoded strings."""
    if row.match_type != "exact_number":
        return None  # no other match type exists in this contract; never manage one
    if row.status == "deleted":
        return None  # not listed in 2026-10; should a server list one, it is gone
    rule_id = row.id
    target = row.match_target
    action = _known(_ACTIONS, row.action)
    status = _known(_STATUSES, row.status)
    direction = _known(_DIRECTIONS, row.direction)
    if type(rule_id) is not str or type(target) is not str:
        raise malformed(path, "a rule's id or match_target is not a string")
    if action is None or status is None or direction is None:
        raise _unknown_value(row, handle)
    return LiveRule(rule_id, target, action, status, direction)


def _known(table: Mapping[object, _K], value: object) -> _K | None:
    """`table`'s constant for a JSON value; None for any other (a list or an object too)."""
    return table.get(value) if value is None or type(value) is str else None


def _unknown_value(row: _RawRule, handle: str) -> PlanError:
    """A rule of a managed identity with a value this tool does not know."""
    for key, known in (("action", _ACTIONS), ("status", _STATUSES), ("direction", _DIRECTIONS)):
        value = getattr(row, key)
        if _known(known, value) is None:
            return PlanError(
                f"{handle}: live rule {row.id} for {row.match_target} has "
                f"{key} {value!r}, which inkbox-sync does not know; it cannot prove what a "
                "plan of this identity's rules does to callers"
            )
    raise AssertionError("called for a rule without an unknown value")


def _one_rule(row: _RawRule, path: str, handle: str) -> LiveRule:
    """The rule an answer carries, as it is (id and direction are the truth)."""
    rule = _rule(row, path, handle)
    if rule is None:
        raise malformed(path, "the rule in the answer is not an exact-number rule")
    return rule
