"""The sandbox's state in memory, shared part: locking, journaling, identities and numbers.

Each API version's store (`v2026_06.store.NumberRuleStore`,
`v2026_10.store.IdentityRuleStore`) subclasses `Store` and keeps its rules
and indexes its own way. What they share:

- Every operation takes one lock, so each request sees and makes one
  consistent change.
- Stored objects are never mutated once stored (a write stores a new dict),
  so readers can hand references out of the lock and serialise them
  afterwards, and a snapshot for compaction is a cheap list of references.
- A write is journaled (write-ahead, via `Journal.append`) before it is
  applied in memory and before the caller answers, so an acknowledged write
  is never lost; a write the journal refuses (disk full) is not applied. A
  write that changes several objects is one `batch` record: all or nothing.
"""

from __future__ import annotations

import threading
import uuid
from typing import Final, Protocol

from inkbox_sync.sandbox.document import Document, now
from inkbox_sync.sandbox.validation import ApiFailure, JsonObj

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


def page_of(
    rules: dict[str, JsonObj], ids: list[str], offset: int, limit: int
) -> tuple[list[JsonObj], bool]:
    """The rules of `ids[offset:offset + limit]`, and whether more follow."""
    return [rules[rid] for rid in ids[offset : offset + limit]], offset + limit < len(ids)


def upsert(kind: str, value: JsonObj) -> JsonObj:
    """The journal record that stores `value` (a whole object) in section `kind`."""
    return {"op": kind, "value": value}


def removal(kind: str, object_id: str) -> JsonObj:
    return {"op": f"{kind}_deleted", "id": object_id}


def batch(records: list[JsonObj]) -> JsonObj:
    """One journal record for a write that changes several objects at once."""
    return records[0] if len(records) == 1 else {"op": "batch", "records": records}


class Store:
    """Identities, numbers and the machinery; subclasses add rules (`_load_rules`)."""

    def __init__(self, document: Document, journal: Journal | None = None) -> None:
        self._lock = threading.Lock()
        self._journal = journal
        self._closed = False
        self._load(document)

    # -- whole state ----------------------------------------------------------

    def _load(self, doc: Document) -> None:
        self._identities: dict[str, JsonObj] = {i["id"]: i for i in doc["identities"]}
        self._handles: dict[str, str] = {i["agent_handle"]: i["id"] for i in doc["identities"]}
        self._numbers: dict[str, JsonObj] = {n["id"]: n for n in doc["numbers"]}
        self._load_rules(doc)

    def _load_rules(self, doc: Document) -> None:
        raise NotImplementedError

    def _document(self) -> Document:
        raise NotImplementedError

    def document(self) -> Document:
        """The current state document (references to immutable objects)."""
        with self._lock:
            return self._document()

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

    def _identity_id(self, handle: str) -> str:
        identity_id = self._handles.get(handle.removeprefix("@"))
        if identity_id is None:
            raise ApiFailure(404, f"Identity {handle!r} not found")
        return identity_id

    def _number_of(self, identity_id: str) -> JsonObj | None:
        return next(
            (n for n in self._numbers.values() if n["agent_identity_id"] == identity_id), None
        )

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

    def provision(self, handle: str, state: str | None) -> JsonObj:
        with self._lock:
            identity_id = self._identity_id(handle)
            if self._number_of(identity_id) is not None:
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
                **self._new_number_fields(identity_id),
                "agent_identity_id": identity_id,
                "sms_status": "ready",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._commit(upsert("number", new))
            self._numbers[new["id"]] = new
            self._number_added(new["id"])
        return new

    def _new_number_fields(self, identity_id: str) -> JsonObj:
        """The version's own fields of a freshly provisioned number."""
        raise NotImplementedError

    def _number_added(self, number_id: str) -> None:
        """Index a new number (a hook for the version's store)."""
