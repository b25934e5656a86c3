"""The sandbox's state in memory: identities, numbers and rules with their indexes.

Every operation takes one lock, so each request sees and makes one consistent
change. Stored objects are never mutated once stored (a write stores a new
dict), so readers can hand references out of the lock and serialise them
afterwards, and a snapshot for compaction is a cheap list of references.

A write is journaled (write-ahead, via `Journal.append`) before it is applied
in memory and before the caller answers, so an acknowledged write is never
lost; a write the journal refuses (disk full) is not applied.

Costs, for the benchmark's 1,000 numbers x 100 rules: nothing scans all rules
per request. Rules are indexed by number and by slot; listings page over
id lists kept in creation order (appended on create, rebuilt lazily after a
delete); filtered listings are cached until a write touches their scope.
"""

from __future__ import annotations

import threading
import uuid
from typing import Final, Protocol

from inkbox_sync.sandbox.document import Document, now, routing_problems
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj, error, unprocessable

# Area codes for provisioned numbers, by requested state; others get 555.
_AREA: Final = {"NY": "212", "CA": "415", "IL": "312", "TX": "512", "WA": "206", "MA": "617"}


class Journal(Protocol):
    def append(self, record: JsonObj) -> None: ...

    def mark(self) -> int: ...


class OrderedIds:
    """Ids in insertion order with O(1) add/remove and a lazily rebuilt list for slicing."""

    __slots__ = ("_list", "_members")

    def __init__(self) -> None:
        self._members: dict[str, None] = {}
        self._list: list[str] | None = []

    def add(self, rule_id: str) -> None:
        self._members[rule_id] = None
        if self._list is not None:
            self._list.append(rule_id)

    def discard(self, rule_id: str) -> None:
        if self._members.pop(rule_id, 0) is None:
            self._list = None  # rebuilt on the next read, once per burst of deletes

    def as_list(self) -> list[str]:
        if self._list is None:
            self._list = list(self._members)
        return self._list

    def __len__(self) -> int:
        return len(self._members)


class Store:
    def __init__(self, document: Document, journal: Journal | None = None) -> None:
        self._lock = threading.Lock()
        self._journal = journal
        self._closed = False
        self._load(document)

    # -- whole state ----------------------------------------------------------

    def _load(self, doc: Document) -> None:
        self._identities = {i["id"]: i for i in doc["identities"]}
        self._handles = {i["agent_handle"]: i["id"] for i in doc["identities"]}
        self._numbers = {n["id"]: n for n in doc["numbers"]}
        self._rules: dict[str, JsonObj] = {}
        self._all = OrderedIds()
        self._by_number: dict[str, OrderedIds] = {n: OrderedIds() for n in self._numbers}
        self._slots: dict[tuple[str, str, str], str] = {}
        self._filtered: dict[tuple[str | None, str], list[str]] = {}
        for rule in doc["rules"]:
            self._insert_rule(rule)

    def document(self) -> Document:
        """The current state document (references to immutable objects)."""
        with self._lock:
            return self._document()

    def _document(self) -> Document:
        return {
            "identities": list(self._identities.values()),
            "numbers": list(self._numbers.values()),
            "rules": list(self._rules.values()),
        }

    def capture(self) -> tuple[Document, int]:
        """The state and the journal position it includes, taken atomically."""
        with self._lock:
            return self._document(), self._journal.mark() if self._journal else 0

    def replace(self, doc: Document) -> None:
        """Replace the whole state (a normalised document): `PUT /_sandbox/state`."""
        with self._lock:
            self._commit({"op": "reset", "value": doc})
            self._load(doc)

    def close(self) -> Document:
        """Refuse further writes; returns the final state for the last snapshot."""
        with self._lock:
            self._closed = True
            return self._document()

    def _commit(self, record: JsonObj) -> None:
        """Journal a write before applying it; called under the lock."""
        if self._closed:
            raise ApiFailure(503, "The sandbox is shutting down")
        if self._journal is not None:
            self._journal.append(record)

    # -- identities and numbers -----------------------------------------------

    def identities(self) -> list[JsonObj]:
        with self._lock:
            return list(self._identities.values())

    def identity(self, handle: str) -> JsonObj:
        with self._lock:
            identity_id = self._handles.get(handle.removeprefix("@"))
            if identity_id is None:
                raise ApiFailure(404, f"Identity {handle!r} not found")
            owned = [n for n in self._numbers.values() if n["agent_identity_id"] == identity_id]
            identity = self._identities[identity_id]
        return {
            **identity,
            "mailbox": None,
            "tunnel": None,
            "phone_number": owned[0] if owned else None,
        }

    def numbers(self) -> list[JsonObj]:
        with self._lock:
            return list(self._numbers.values())

    def number(self, number_id: str) -> JsonObj:
        with self._lock:
            return self._number(number_id)

    def _number(self, number_id: str) -> JsonObj:
        found = self._numbers.get(number_id)
        if found is None:
            raise ApiFailure(404, "Phone number not found")
        return found

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
                self._commit({"op": "number", "value": new})
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

    def provision(self, handle: str, state: str | None) -> JsonObj:
        with self._lock:
            identity_id = self._handles.get(handle.removeprefix("@"))
            if identity_id is None:
                raise ApiFailure(404, f"Identity {handle!r} not found")
            if any(n["agent_identity_id"] == identity_id for n in self._numbers.values()):
                raise ApiFailure(409, "This identity already has a phone number")
            taken = {n["number"] for n in self._numbers.values()}
            area = _AREA.get(state or "", "555")
            number = next(
                f"+1{area}555{i:04d}" for i in range(10_001) if f"+1{area}555{i:04d}" not in taken
            )
            stamp = now()
            new: JsonObj = {
                "id": str(uuid.uuid4()),
                "number": number,
                "type": "local",
                "status": "active",
                "state": state,
                "incoming_call_action": "auto_reject",
                "client_websocket_url": None,
                "incoming_call_webhook_url": None,
                "filter_mode": "blacklist",
                "agent_identity_id": identity_id,
                "sms_status": "ready",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._commit({"op": "number", "value": new})
            self._numbers[new["id"]] = new
            self._by_number[new["id"]] = OrderedIds()
        return new

    def release(self, number_id: str) -> None:
        with self._lock:
            self._number(number_id)
            self._commit({"op": "number_deleted", "id": number_id})
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
            page = [self._rules[rid] for rid in ids[offset : offset + limit]]
            return page, offset + limit < len(ids)

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
            self._commit({"op": "rule", "value": rule})
            self._insert_rule(rule)
        return rule

    def update_rule(self, number_id: str, rule_id: str, changes: JsonObj) -> JsonObj:
        with self._lock:
            old = self._rule(number_id, rule_id)
            if not changes:
                return old
            new = {**old, **changes, "updated_at": now()}
            self._commit({"op": "rule", "value": new})
            self._rules[rule_id] = new
            if new["action"] != old["action"]:
                self._forget_filtered(number_id)
        return new

    def delete_rule(self, number_id: str, rule_id: str) -> None:
        with self._lock:
            self._rule(number_id, rule_id)
            self._commit({"op": "rule_deleted", "id": rule_id})
            self._remove_rule(rule_id)
