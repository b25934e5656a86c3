"""`--state FILE`: a snapshot replaced only atomically, plus a write-ahead journal.

Rewriting a 15 MB snapshot after each of 10,000 writes would make the sandbox
its own benchmark's bottleneck, so every accepted write is instead appended as
one JSON line to `FILE.journal` and flushed to the OS before the client is
answered. A SIGKILLed process loses nothing it flushed (the page cache
survives the process), so every acknowledged write is in FILE + journal.
(A power cut is another matter; the sandbox does not fsync each write.)

Journal records are after-images, the same for every API version:
`{"op": KIND, "value": {...}}` upserts the object into KIND's section
(`identity`, `number`, `rule`, `rule_alias`), `{"op": KIND + "_deleted", "id":
...}` removes one (a 2026-06 number's removal takes its rules), `{"op":
"batch", "records": [...]}` is several applied as one write, and `{"op":
"reset", "value": <document>}` replaces everything. Replaying records onto a
snapshot that already contains them yields that same snapshot (ids are never
reused), which is what makes compaction crash-safe without any marker:

1. capture the state and the journal length L together (under the store lock);
2. write the snapshot to a temporary file and rename it over FILE;
3. rewrite the journal keeping only the bytes after L (temporary + rename).

A crash after 2 but before 3 replays records the snapshot already has:
harmless. Compaction runs at start (after replay), in a background thread
when the journal outgrows the snapshot, and at a clean shutdown, which also
removes the then empty journal. A final journal line without its newline is
a write that was never acknowledged, and is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from inkbox_sync.sandbox.document import Document, DocumentError
from inkbox_sync.sandbox.validation import JsonObj
from inkbox_sync.sandbox.versions import check_document

MIN_COMPACT_BYTES: Final = 4 * 1024 * 1024


def dump_document(doc: Document) -> bytes:
    """The document as JSON with one object per line: readable, diffable, and
    fast (the C encoder only runs without `indent`)."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list):
            items = ",\n  ".join(json.dumps(item) for item in value)
            parts.append(f"{json.dumps(key)}: [" + (f"\n  {items}\n ]" if items else "]"))
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return ("{\n " + ",\n ".join(parts) + "\n}\n").encode()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a reader (or a crash) sees old or new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


_SECTION: Final = {
    "identity": "identities",
    "number": "numbers",
    "rule": "rules",
    "rule_alias": "rule_aliases",
}


def replay(doc: Document, lines: Iterable[bytes], source: str) -> Document:
    """Apply journal lines (after-images) to a document; see the module docstring."""
    tables = {
        key: {o["id"]: o for o in value} for key, value in doc.items() if isinstance(value, list)
    }
    scalars = {key: value for key, value in doc.items() if not isinstance(value, list)}
    pending = list(lines)
    for index, line in enumerate(pending, start=1):
        try:
            record = json.loads(line)
            if record["op"] == "reset":
                value = record["value"]
                tables = {
                    k: {o["id"]: o for o in v} for k, v in value.items() if isinstance(v, list)
                }
                scalars = {k: v for k, v in value.items() if not isinstance(v, list)}
            else:
                _apply(tables, record)
        except (ValueError, KeyError, TypeError):
            if index == len(pending) and not line.endswith(b"\n"):
                break  # torn by a kill mid-write: never acknowledged
            raise DocumentError(
                [{"loc": [source, index], "msg": "unreadable journal line", "type": "value_error"}]
            ) from None
    return {**scalars, **{key: list(table.values()) for key, table in tables.items()}}


def _apply(tables: dict[str, dict[str, JsonObj]], record: JsonObj) -> None:
    op = record["op"]
    if op == "batch":
        for each in record["records"]:
            _apply(tables, each)
    elif op.endswith("_deleted"):
        kind = op.removesuffix("_deleted")
        tables.setdefault(_SECTION[kind], {}).pop(record["id"], None)
        if kind == "number" and "rules" in tables:  # 2026-06: a number's rules go with it
            rules = tables["rules"]
            tables["rules"] = {
                k: r for k, r in rules.items() if r.get("phone_number_id") != record["id"]
            }
    else:
        value = record["value"]
        tables.setdefault(_SECTION[op], {})[value["id"]] = value


class StateFile:
    """The snapshot at `path` and its journal at `path` + `.journal`."""

    def __init__(
        self,
        path: Path,
        compact_bytes: int = MIN_COMPACT_BYTES,
        check: Callable[[object, str], Document] | None = None,
    ) -> None:
        """`check(raw, root)` checks a loaded document; by default in the version it
        declares (`versions.check_document`)."""
        self.path = path
        self._check = check
        self.journal_path = path.with_name(path.name + ".journal")
        self._compact_bytes = compact_bytes
        self._lock = threading.Lock()  # taken inside the store lock, never around it
        self._file: _Appender | None = None
        self._size = 0
        self._snapshot_size = 0
        self.wants_compaction = threading.Event()

    def load(self) -> Document | None:
        """Snapshot plus journal, normalised; None when there is no snapshot yet.

        A journal without its snapshot is left over from a state file the user
        removed to start afresh: it is not replayed.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise DocumentError(
                [{"loc": ["state"], "msg": f"not JSON: {exc}", "type": "json_invalid"}]
            ) from None
        check = self._check or check_document
        doc = check(doc, "state")
        try:
            with open(self.journal_path, "rb") as journal:
                lines = journal.readlines()
        except FileNotFoundError:
            lines = []
        return check(replay(doc, lines, "journal"), "state") if lines else doc

    def keep_copy(self, doc: Document, version: str) -> Path:
        """Save `doc` (what FILE held before a migration to a newer API version) beside
        FILE as FILE's stem + `.VERSION` + suffix, and return that path."""
        copy = self.path.with_name(f"{self.path.stem}.{version}{self.path.suffix}")
        atomic_write(copy, dump_document(doc))
        return copy

    def start(self, doc: Document) -> None:
        """Make `doc` the snapshot and open an empty journal for the writes to come."""
        self._snapshot(doc)
        with self._lock:
            self._file = _Appender.create(self.journal_path)
            self._size = 0

    def append(self, record: JsonObj) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._file is None:
                raise RuntimeError("journal is not open")
            self._file.write(line)
            self._size += len(line)
            if self._size > max(self._compact_bytes, self._snapshot_size):
                self.wants_compaction.set()

    def mark(self) -> int:
        with self._lock:
            return self._size

    def compact(self, capture: Callable[[], tuple[Document, int]]) -> None:
        """Fold the journal into the snapshot (steps 1-3 of the module docstring)."""
        doc, mark = capture()
        self._snapshot(doc)
        with self._lock:
            if self._file is None:
                return
            tail = self._file.tail(mark)
            self._file.close()
            tmp = self.journal_path.with_name(self.journal_path.name + ".tmp")
            tmp.write_bytes(tail)
            os.replace(tmp, self.journal_path)
            self._file = _Appender.reopen(self.journal_path)
            self._size = len(tail)

    def close(self, doc: Document) -> None:
        """Clean shutdown: the final snapshot, and no journal left behind."""
        self._snapshot(doc)
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            with contextlib.suppress(FileNotFoundError):
                self.journal_path.unlink()

    def _snapshot(self, doc: Document) -> None:
        data = dump_document(doc)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, data)
        self._snapshot_size = len(data)


class _Appender:
    """An append-only file whose every write reaches the OS before returning."""

    def __init__(self, path: Path, mode: str) -> None:
        self._path = path
        self._file = open(path, mode)  # noqa: SIM115 - lives as long as the journal

    @classmethod
    def create(cls, path: Path) -> _Appender:
        return cls(path, "wb")

    @classmethod
    def reopen(cls, path: Path) -> _Appender:
        return cls(path, "ab")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()  # to the page cache: survives SIGKILL, not a power cut

    def tail(self, offset: int) -> bytes:
        with open(self._path, "rb") as reader:
            reader.seek(offset)
            return reader.read()

    def close(self) -> None:
        self._file.close()


class Compactor:
    """A background thread that compacts when the journal asks (`wants_compaction`)."""

    def __init__(self, state: StateFile, capture: Callable[[], tuple[Document, int]]) -> None:
        self._state = state
        self._capture = capture
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-compactor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._state.wants_compaction.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._state.wants_compaction.wait()
            if self._stopping:
                return
            self._state.wants_compaction.clear()
            try:
                self._state.compact(self._capture)
            except OSError as exc:
                # Nothing is lost (the journal still has every write); say so and go on.
                print(f"sandbox: compaction of {self._state.path} failed: {exc}", file=sys.stderr)
