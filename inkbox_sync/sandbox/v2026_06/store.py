"""2026-06 state in memory: rules belong to numbers, one live rule per (number, target).

Costs, for the benchmark's 1,000 numbers x 100 rules: nothing scans all rules
per request. Rules are indexed by number and by slot; listings page over id
lists kept in creation order (appended on create, rebuilt lazily after a
delete); filtered listings are cached until a write touches their scope.
"""

from __future__ import annotations

import uuid

from inkbox_sync.sandbox.document import Document, now
from inkbox_sync.sandbox.store import OrderedIds, Store, page_of, removal, upsert
from inkbox_sync.sandbox.v2026_06.state import routing_problems
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj, error, unprocessable


class NumberRuleStore(Store):
    # -- whole state ----------------------------------------------------------

    def _load_rules(self, doc: Document) -> None:
        self._rules: dict[str, JsonObj] = {}
        self._all = OrderedIds()
        self._by_number: dict[str, OrderedIds] = {n: OrderedIds() for n in self._numbers}
        self._slots: dict[tuple[str, str, str], str] = {}
        self._filtered: dict[tuple[str | None, str], list[str]] = {}
        for rule in doc["rules"]:
            self._insert_rule(rule)

    def _document(self) -> Document:
        return {
            "identities": list(self._identities.values()),
            "numbers": list(self._numbers.values()),
            "rules": list(self._rules.values()),
        }

    # -- identities and numbers -----------------------------------------------

    def identity(self, handle: str) -> JsonObj:
        with self._lock:
            identity_id = self._identity_id(handle)
            identity = self._identities[identity_id]
            owned = self._number_of(identity_id)
        return {**identity, "mailbox": None, "tunnel": None, "phone_number": owned}

    def _new_number_fields(self, identity_id: str) -> JsonObj:
        return {"filter_mode": "blacklist"}

    def _number_added(self, number_id: str) -> None:
        self._by_number[number_id] = OrderedIds()

    def patch_number(self, number_id: str, changes: JsonObj) -> JsonObj:
        """Apply a checked PATCH; the answer carries the filter-mode notice when due."""
        with self._lock:
            old = self._number(number_id)
            new = {**old, **changes}
            problems = routing_problems(new)
            if problems:
                raise unprocessable(
                    [
                        error(["body", "incoming_call_action"], msg, "value_error")
                        for msg in problems
                    ]
                )
            if changes:
                new["updated_at"] = now()
                self._commit(upsert("number", new))
                self._numbers[number_id] = new
            answer = dict(new)
            if new["filter_mode"] != old["filter_mode"]:
                redundant = "block" if new["filter_mode"] == "whitelist" else "allow"
                count = sum(
                    1
                    for rid in self._by_number[number_id].as_list()
                    if self._rules[rid]["action"] == redundant
                    and self._rules[rid]["status"] == "active"
                )
                answer["filter_mode_change_notice"] = {
                    "new_filter_mode": new["filter_mode"],
                    "redundant_rule_action": redundant,
                    "redundant_rule_count": count,
                }
        return answer

    def release(self, number_id: str) -> None:
        with self._lock:
            self._number(number_id)
            self._commit(removal("number", number_id))  # replay drops its rules too
            for rule_id in list(self._by_number[number_id].as_list()):
                self._remove_rule(rule_id)
            del self._by_number[number_id]
            del self._numbers[number_id]

    # -- rules ----------------------------------------------------------------

    def _insert_rule(self, rule: JsonObj) -> None:
        number_id = rule["phone_number_id"]
        self._rules[rule["id"]] = rule
        self._all.add(rule["id"])
        self._by_number[number_id].add(rule["id"])
        self._slots[(number_id, rule["match_type"], rule["match_target"])] = rule["id"]
        self._forget_filtered(number_id)

    def _remove_rule(self, rule_id: str) -> None:
        rule = self._rules.pop(rule_id)
        number_id = rule["phone_number_id"]
        self._all.discard(rule_id)
        self._by_number[number_id].discard(rule_id)
        del self._slots[(number_id, rule["match_type"], rule["match_target"])]
        self._forget_filtered(number_id)

    def _forget_filtered(self, number_id: str) -> None:
        for scope in (number_id, None):
            for action in ("allow", "block"):
                self._filtered.pop((scope, action), None)

    def _ids(self, number_id: str | None, action: str | None) -> list[str]:
        base = self._all if number_id is None else self._by_number[number_id]
        if action is None:
            return base.as_list()
        key = (number_id, action)
        cached = self._filtered.get(key)
        if cached is None:
            cached = [rid for rid in base.as_list() if self._rules[rid]["action"] == action]
            self._filtered[key] = cached
        return cached

    def rules_page(
        self,
        number_id: str | None,
        *,
        action: str | None,
        match_type: str | None,
        limit: int,
        offset: int,
        unknown_number_is_error: bool,
    ) -> tuple[list[JsonObj], bool]:
        """One page of non-deleted rules in creation order, and whether more follow."""
        with self._lock:
            if number_id is not None and number_id not in self._numbers:
                if unknown_number_is_error:
                    raise ApiFailure(404, "Phone number not found")
                return [], False
            if match_type not in (None, "exact_number"):
                return [], False  # the only match type there is
            ids = self._ids(number_id, action)
            return page_of(self._rules, ids, offset, limit)

    def _rule(self, number_id: str, rule_id: str) -> JsonObj:
        self._number(number_id)
        rule = self._rules.get(rule_id)
        if rule is None or rule["phone_number_id"] != number_id:
            raise ApiFailure(404, "Contact rule not found")
        return rule

    def rule(self, number_id: str, rule_id: str) -> JsonObj:
        with self._lock:
            return self._rule(number_id, rule_id)

    def create_rule(self, number_id: str, body: JsonObj) -> JsonObj:
        with self._lock:
            self._number(number_id)
            slot = (number_id, body["match_type"], body["match_target"])
            existing_id = self._slots.get(slot)
            if existing_id is not None:
                existing = self._rules[existing_id]
                raise ApiFailure(
                    409,
                    {
                        "message": "A non-deleted rule already exists for this target",
                        "existing_rule_id": existing_id,
                        "match_type": existing["match_type"],
                        "match_target": existing["match_target"],
                        "status": existing["status"],
                    },
                )
            stamp = now()
            rule: JsonObj = {
                "id": str(uuid.uuid4()),
                "phone_number_id": number_id,
                "action": body["action"],
                "match_type": body["match_type"],
                "match_target": body["match_target"],
                "status": "active",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._commit(upsert("rule", rule))
            self._insert_rule(rule)
        return rule

    def update_rule(self, number_id: str, rule_id: str, changes: JsonObj) -> JsonObj:
        with self._lock:
            old = self._rule(number_id, rule_id)
            if not changes:
                return old
            new = {**old, **changes, "updated_at": now()}
            self._commit(upsert("rule", new))
            self._rules[rule_id] = new
            if new["action"] != old["action"]:
                self._forget_filtered(number_id)
        return new

    def delete_rule(self, number_id: str, rule_id: str) -> None:
        with self._lock:
            self._rule(number_id, rule_id)
            self._commit(removal("rule", rule_id))
            self._remove_rule(rule_id)
