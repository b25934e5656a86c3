"""2026-10 state in memory: modes and rules belong to identities; rules have directions.

Coverage (`inkbox-phone-api-2026-10.md`, "Coverage, splitting and
consolidation"; the ASSUMED lines are implemented here and only here): for
one identity and target each side (inbound, outbound) is covered by at most
one live rule, `_cover[(identity, match_type, target)] = {side: rule id}`.

- A create or `{direction}` update that would cover a side another rule
  covers is 409 naming that rule (the first conflicting side, inbound first).
- A write that leaves two one-way rules of one target with the same action
  and status consolidates them into one `both` rule: the older keeps its id
  (and place in listings), the other id becomes an alias of it, and the
  answer is the merged rule. A create that would do so just extends the
  existing rule: its answer has the existing id.
- `{action, apply_to: side}` on a `both` rule with another action splits it:
  the rule keeps its id and the other side, a new rule covers `side`.
- No write changes `status`: a paused row stays paused (a split's new row
  too) until it is deleted.

As in 2026-06, listings page over id lists in creation order, filtered ones
cached per identity until a write touches that identity.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Final

from inkbox_sync.sandbox.document import Document, now
from inkbox_sync.sandbox.store import OrderedIds, Store, batch, page_of, removal, upsert
from inkbox_sync.sandbox.v2026_10.state import (
    FORWARDING_FIELDS,
    SIDES,
    SIDES_OF,
    VERSION,
    direction_of,
    routing_problems,
    with_mirrors,
    with_modes,
)
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj, error, unprocessable

#: A listing's direction filter -> the directions it returns.
_DIRECTION_FILTER: Final = {
    "inbound": ("inbound", "both"),
    "outbound": ("outbound", "both"),
    "both": ("both",),
}
_CLEARING: Final = (
    "Clearing the forwarding target is allowed only in the update that switches "
    "incoming_call_action away from 'forward'"
)

CoverKey = tuple[str, str, str]  # identity id, match type, target


class IdentityRuleStore(Store):
    # -- whole state ----------------------------------------------------------

    def _load_rules(self, doc: Document) -> None:
        self._number_by_identity = {
            n["agent_identity_id"]: n["id"] for n in doc["numbers"] if n["agent_identity_id"]
        }
        self._rules: dict[str, JsonObj] = {}
        self._seq: dict[str, int] = {}  # creation order, the tie-break of "older"
        self._counter = itertools.count()
        self._all = OrderedIds()
        self._by_identity: dict[str, OrderedIds] = {i: OrderedIds() for i in self._identities}
        self._cover: dict[CoverKey, dict[str, str]] = {}
        self._filtered: dict[str | None, dict[tuple[str | None, str | None], list[str]]] = {}
        for rule in doc["rules"]:
            self._insert_rule(rule)
        self._aliases: dict[str, str] = {}
        self._aliases_of: dict[str, list[str]] = {}
        for alias in doc["rule_aliases"]:
            self._set_alias(alias["id"], alias["rule_id"])

    def _document(self) -> Document:
        return {
            "api_version": VERSION,
            "identities": list(self._identities.values()),
            "numbers": list(self._numbers.values()),
            "rules": list(self._rules.values()),
            "rule_aliases": [{"id": a, "rule_id": r} for a, r in self._aliases.items()],
        }

    # -- identities -----------------------------------------------------------

    def agent_identity(self, handle: str | None) -> str | None:
        """The id of the agent key's identity: `handle`'s, or the first identity's."""
        with self._lock:
            if handle is not None:
                return self._handles.get(handle.removeprefix("@"))
            return next(iter(self._identities), None)

    def identity_id(self, handle: str) -> str:
        with self._lock:
            return self._identity_id(handle)

    def _identity(self, identity_id: str) -> JsonObj:
        """The identity (resolved by the caller outside the lock: it may be gone since)."""
        found = self._identities.get(identity_id)
        if found is None:
            raise ApiFailure(404, "Identity not found")
        return found

    def _view(self, identity: JsonObj) -> JsonObj:
        number_id = self._number_by_identity.get(identity["id"])
        number = self._numbers[number_id] if number_id else None
        return {**identity, "mailbox": None, "tunnel": None, "phone_number": number}

    def identity_views(self, only: str | None = None) -> list[JsonObj]:
        """Identities with their nested number; `only` one of them (an agent key's)."""
        with self._lock:
            if only is not None:
                return [self._view(self._identities[only])] if only in self._identities else []
            return [self._view(identity) for identity in self._identities.values()]

    def identity_view(self, identity_id: str) -> JsonObj:
        with self._lock:
            return self._view(self._identity(identity_id))

    def patch_identity(self, identity_id: str, changes: JsonObj) -> JsonObj:
        """Apply a checked identity PATCH (modes as the two directions)."""
        with self._lock:
            old = self._identity(identity_id)
            plain: JsonObj = {
                k: changes[k] for k in ("display_name", "description") if k in changes
            }
            inbound, outbound = (
                changes[key] if key in changes else old[key]
                for key in ("phone_inbound_filter_mode", "phone_outbound_filter_mode")
            )
            new = with_modes({**old, **plain}, inbound, outbound)
            if new != old:
                new["updated_at"] = now()
                self._write_identity(new)
            return self._view(self._identities[identity_id])

    def _write_identity(self, identity: JsonObj, number: JsonObj | None = None) -> None:
        """Store an identity, and its number with the mirrors of its modes, in one write."""
        records = [upsert("identity", identity)]
        number_id = self._number_by_identity.get(identity["id"])
        if number is None and number_id is not None:
            mirrored = with_mirrors(self._numbers[number_id], identity)
            number = mirrored if mirrored != self._numbers[number_id] else None
        if number is not None:
            records.append(upsert("number", number))
        self._commit(batch(records))
        self._identities[identity["id"]] = identity
        if number is not None:
            self._numbers[number["id"]] = number

    # -- numbers --------------------------------------------------------------

    def _number_of(self, identity_id: str) -> JsonObj | None:
        number_id = self._number_by_identity.get(identity_id)
        return self._numbers[number_id] if number_id else None

    def number_of(self, identity_id: str) -> JsonObj:
        with self._lock:
            number = self._number_of(identity_id)
        if number is None:
            raise ApiFailure(404, "This identity has no phone number")
        return number

    def _new_number_fields(self, identity_id: str) -> JsonObj:
        identity = self._identities[identity_id]
        return with_mirrors({"country": "US", **dict.fromkeys(FORWARDING_FIELDS)}, identity)

    def _number_added(self, number_id: str) -> None:
        self._number_by_identity[self._numbers[number_id]["agent_identity_id"]] = number_id

    def patch_number(self, number_id: str, changes: JsonObj) -> JsonObj:
        """Apply a checked number PATCH: routing, and the legacy `filter_mode` (both
        directions of the owner's phone mode), answered with its change notice."""
        with self._lock:
            old = self._number(number_id)
            routing = {k: v for k, v in changes.items() if k != "filter_mode"}
            new = {**old, **routing}
            if "forwarding_target_type" in routing:
                # ASSUMED: the target type decides which saved target stays; None clears both.
                kind = routing["forwarding_target_type"]
                for key, keeps in (
                    ("forwarding_phone_number", "phone"),
                    ("forwarding_sip_uri", "sip"),
                ):
                    if kind != keeps and key not in routing:
                        new[key] = None
            self._check_routing(old, new, routing)
            owner = self._identities.get(old["agent_identity_id"] or "")
            mode = changes.get("filter_mode")
            notice = None
            if mode is not None:
                before = (new["inbound_filter_mode"], new["outbound_filter_mode"])
                if owner is not None:
                    owner = with_modes(owner, mode, mode)
                else:  # a pool number's mirrors are its own
                    new = {**new, "inbound_filter_mode": mode, "outbound_filter_mode": mode}
                if before != (mode, mode):
                    notice = self._mode_notice(old["agent_identity_id"], mode)
            new = with_mirrors(new, owner)
            if new != old:
                new["updated_at"] = now()
                if owner is not None and owner != self._identities[owner["id"]]:
                    self._write_identity({**owner, "updated_at": new["updated_at"]}, new)
                else:
                    self._commit(upsert("number", new))
                    self._numbers[number_id] = new
            answer = dict(self._numbers[number_id])
        if notice is not None:
            answer["filter_mode_change_notice"] = notice
        return answer

    def _check_routing(self, old: JsonObj, new: JsonObj, routing: JsonObj) -> None:
        problems = routing_problems(new)
        if not problems:
            return
        cleared = [k for k in FORWARDING_FIELDS if k in routing and routing[k] is None and old[k]]
        if new["incoming_call_action"] == "forward" and cleared:
            raise unprocessable([error(["body", key], _CLEARING, "value_error") for key in cleared])
        raise unprocessable([error(["body", key], msg, "value_error") for key, msg in problems])

    def _mode_notice(self, identity_id: str | None, mode: str) -> JsonObj:
        """`filter_mode_change_notice`: active rules the new mode makes redundant."""
        redundant = "block" if mode == "whitelist" else "allow"
        scope = self._by_identity.get(identity_id or "")
        ids = scope.as_list() if scope is not None else []
        count = sum(
            1
            for rid in ids
            if self._rules[rid]["action"] == redundant and self._rules[rid]["status"] == "active"
        )
        return {
            "new_filter_mode": mode,
            "redundant_rule_action": redundant,
            "redundant_rule_count": count,
        }

    def release(self, number_id: str) -> None:
        """Release a number; its identity keeps its rules (they are the identity's)."""
        with self._lock:
            number = self._number(number_id)
            self._commit(removal("number", number_id))
            del self._numbers[number_id]
            self._number_by_identity.pop(number["agent_identity_id"], None)

    # -- rules: indexes ---------------------------------------------------------

    def _insert_rule(self, rule: JsonObj) -> None:
        rule_id = rule["id"]
        self._rules[rule_id] = rule
        self._seq[rule_id] = next(self._counter)
        self._all.add(rule_id)
        self._by_identity[rule["agent_identity_id"]].add(rule_id)
        self._cover_sides(rule, rule_id)
        self._forget_filtered(rule["agent_identity_id"])

    def _replace_rule(self, rule: JsonObj) -> None:
        """Store a new version of a stored rule (same id, perhaps other sides)."""
        self._cover_sides(self._rules[rule["id"]], None)
        self._rules[rule["id"]] = rule
        self._cover_sides(rule, rule["id"])
        self._forget_filtered(rule["agent_identity_id"])

    def _remove_rule(self, rule_id: str) -> None:
        """Remove a rule's row (its aliases are the caller's business)."""
        rule = self._rules.pop(rule_id)
        del self._seq[rule_id]
        self._all.discard(rule_id)
        self._by_identity[rule["agent_identity_id"]].discard(rule_id)
        self._cover_sides(rule, None)
        self._forget_filtered(rule["agent_identity_id"])

    def _cover_sides(self, rule: JsonObj, rule_id: str | None) -> None:
        """Mark the sides `rule` covers as covered by `rule_id` (None: uncovered)."""
        key = (rule["agent_identity_id"], rule["match_type"], rule["match_target"])
        cover = self._cover.setdefault(key, {})
        for side in SIDES_OF[rule["direction"]]:
            if rule_id is None:
                cover.pop(side, None)
            else:
                cover[side] = rule_id
        if not cover:
            del self._cover[key]

    def _set_alias(self, alias: str, rule_id: str) -> None:
        previous = self._aliases.get(alias)
        if previous is not None:
            self._aliases_of[previous].remove(alias)
        self._aliases[alias] = rule_id
        self._aliases_of.setdefault(rule_id, []).append(alias)

    def _forget_filtered(self, identity_id: str) -> None:
        self._filtered.pop(identity_id, None)
        self._filtered.pop(None, None)

    def _ids(self, scope: str | None, action: str | None, direction: str | None) -> list[str]:
        base = self._all if scope is None else self._by_identity[scope]
        if action is None and direction is None:
            return base.as_list()
        cache = self._filtered.setdefault(scope, {})
        found = cache.get((action, direction))
        if found is None:
            directions = _DIRECTION_FILTER[direction] if direction else None
            found = [
                rid
                for rid in base.as_list()
                if (action is None or self._rules[rid]["action"] == action)
                and (directions is None or self._rules[rid]["direction"] in directions)
            ]
            cache[(action, direction)] = found
        return found

    # -- rules: reads -----------------------------------------------------------

    def rules_page(
        self,
        identity_id: str | None,
        *,
        action: str | None,
        direction: str | None,
        match_type: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[JsonObj], bool]:
        """One page of live rules in creation order, and whether more follow."""
        with self._lock:
            if identity_id is not None and identity_id not in self._identities:
                return [], False
            if match_type not in (None, "exact_number"):
                return [], False  # the only match type there is
            ids = self._ids(identity_id, action, direction)
            return page_of(self._rules, ids, offset, limit)

    def _rule(self, identity_id: str, rule_id: str) -> JsonObj:
        """The rule `rule_id` (or the rule it is an alias of) of this identity; else 404."""
        rule = self._rules.get(self._aliases.get(rule_id, rule_id))
        if rule is None or rule["agent_identity_id"] != identity_id:
            raise ApiFailure(404, "Contact rule not found")
        return rule

    def rule(self, identity_id: str, rule_id: str) -> JsonObj:
        with self._lock:
            return self._rule(identity_id, rule_id)

    # -- rules: writes ----------------------------------------------------------

    def create_rule(self, identity_id: str, body: JsonObj) -> tuple[JsonObj, list[str]]:
        """A checked create; the answer and what happened (`"consolidated"`)."""
        with self._lock:
            self._identity(identity_id)
            key = (identity_id, body["match_type"], body["match_target"])
            cover = self._cover.get(key, {})
            wanted = SIDES_OF[body["direction"]]
            for side in wanted:
                if side in cover:
                    raise _conflict(self._rules[cover[side]], side)
            if len(wanted) == 1:
                other = self._rules.get(cover.get(_other(wanted[0]), ""))
                if other is not None and (other["action"], other["status"]) == (
                    body["action"],
                    "active",
                ):
                    merged = {**other, "direction": "both", "updated_at": now()}
                    self._commit(upsert("rule", merged))
                    self._replace_rule(merged)
                    return merged, ["consolidated"]
            stamp = now()
            rule: JsonObj = {
                "id": str(uuid.uuid4()),
                "agent_identity_id": identity_id,
                "action": body["action"],
                "match_type": body["match_type"],
                "match_target": body["match_target"],
                "direction": body["direction"],
                "status": "active",
                "contact": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._commit(upsert("rule", rule))
            self._insert_rule(rule)
            return rule, []

    def update_rule(
        self, identity_id: str, rule_id: str, change: JsonObj
    ) -> tuple[JsonObj, list[str]]:
        """A checked PATCH; the answer (the rule now covering what was addressed) and
        what happened (`"consolidated"`, `"split"`)."""
        with self._lock:
            rule = self._rule(identity_id, rule_id)
            action: str = change["action"] if "action" in change else rule["action"]
            sides = SIDES_OF[rule["direction"]]
            if "apply_to" in change:
                side: str = change["apply_to"]
                if side not in sides:
                    raise unprocessable(
                        [
                            error(
                                ["body", "apply_to"],
                                f"This rule covers {rule['direction']} only, not the {side} side",
                                "value_error",
                            )
                        ]
                    )
                if len(sides) == 2:
                    if action == rule["action"]:
                        return rule, []
                    return self._split(rule, side, action), ["split"]
            else:
                sides = SIDES_OF[
                    change["direction"] if "direction" in change else rule["direction"]
                ]
            cover = self._cover[(identity_id, rule["match_type"], rule["match_target"])]
            for side in sides:
                if cover.get(side, rule["id"]) != rule["id"]:
                    raise _conflict(self._rules[cover[side]], side)
            new = {**rule, "action": action, "direction": direction_of(sides)}
            if new == rule:
                return rule, []
            new["updated_at"] = now()
            if len(sides) == 1:
                other = self._rules.get(cover.get(_other(sides[0])) or rule["id"])
                if (
                    other is not None
                    and other["id"] != rule["id"]
                    and other["direction"] != "both"
                    and (other["action"], other["status"]) == (action, rule["status"])
                ):
                    return self._merge(new, other), ["consolidated"]
            self._commit(upsert("rule", new))
            self._replace_rule(new)
            return new, []

    def _older(self, a: JsonObj, b: JsonObj) -> bool:
        """Whether rule `a` was created before rule `b` (ties: stored first)."""
        return (datetime.fromisoformat(a["created_at"]), self._seq[a["id"]]) <= (
            datetime.fromisoformat(b["created_at"]),
            self._seq[b["id"]],
        )

    def _merge(self, a: JsonObj, b: JsonObj) -> JsonObj:
        """Consolidate two stored one-way rules (`a` as it is about to be) into one
        `both` rule under the older id; the other id becomes its alias."""
        older, newer = (a, b) if self._older(a, b) else (b, a)
        merged = {
            **older,
            "action": a["action"],
            "direction": "both",
            "updated_at": a["updated_at"],
        }
        moved = [newer["id"], *self._aliases_of.get(newer["id"], [])]
        self._commit(
            batch(
                [
                    upsert("rule", merged),
                    removal("rule", newer["id"]),
                    *(upsert("rule_alias", {"id": x, "rule_id": merged["id"]}) for x in moved),
                ]
            )
        )
        self._remove_rule(newer["id"])
        self._replace_rule(merged)
        for alias in moved:  # in the journal's order, so a replay lists them alike
            self._set_alias(alias, merged["id"])
        self._aliases_of.pop(newer["id"], None)
        return merged

    def _split(self, rule: JsonObj, side: str, action: str) -> JsonObj:
        """`rule` (a `both` rule) keeps its id and the other side; a new rule takes `side`."""
        stamp = now()
        kept = {**rule, "direction": _other(side), "updated_at": stamp}
        carved = {
            **rule,
            "id": str(uuid.uuid4()),
            "action": action,
            "direction": side,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self._commit(batch([upsert("rule", kept), upsert("rule", carved)]))
        self._replace_rule(kept)
        self._insert_rule(carved)
        return carved

    def delete_rule(self, identity_id: str, rule_id: str) -> None:
        """Delete a rule (by its id or an alias), and with it every alias of it."""
        with self._lock:
            rule = self._rule(identity_id, rule_id)
            aliases = self._aliases_of.pop(rule["id"], [])
            self._commit(
                batch(
                    [
                        removal("rule", rule["id"]),
                        *(removal("rule_alias", alias) for alias in aliases),
                    ]
                )
            )
            self._remove_rule(rule["id"])
            for alias in aliases:
                del self._aliases[alias]


def _other(side: str) -> str:
    return SIDES[1] if side == SIDES[0] else SIDES[0]


def _conflict(existing: JsonObj, side: str) -> ApiFailure:
    return ApiFailure(
        409,
        {
            "message": f"A live rule already covers the {side} side of this target",
            "existing_rule_id": existing["id"],
            "match_type": existing["match_type"],
            "match_target": existing["match_target"],
            "direction": existing["direction"],
        },
    )
