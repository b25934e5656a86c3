"""A loaded DesiredState as bytes and back, for a load run in another process.

`plan` and `apply` load the manifests in a child process while the parent
reads live state (`manifest.offload`), and the child hands the result back
through a pipe. Pickle would do it, but at 100,000 rules it takes ~0.7 s to
write and ~0.35 s to read (a slotted dataclass is pickled through Python code,
one object at a time). Here the per-rule objects become flat tuples of strings
and ints that `marshal` writes and reads in C, with shared objects (a policy's
rules, used by many numbers) written once. It goes in chunks of 10,000 rules,
so the parent builds one (~15 ms) while the child encodes the next.

Decoding `encode(s)` gives a state equal to `s`, and a rule object shared
between holders (a policy's) is shared again; other objects come back equal,
as new ones. The
bytes are only ever read by the program that wrote them (a forked child of
this process), so the format carries no version.
"""

from __future__ import annotations

import dataclasses
import marshal
from collections.abc import Iterator, Mapping
from typing import Any, Final

from inkbox_sync.model import (
    UNSET,
    DesiredAgent,
    DesiredNumber,
    DesiredRule,
    DesiredRules,
    DesiredState,
    Expectation,
    Location,
)

__all__ = ["Decoder", "encode"]

_NUMBER_FIELDS: Final = tuple(f.name for f in dataclasses.fields(DesiredNumber))
_AGENT_FIELDS: Final = tuple(f.name for f in dataclasses.fields(DesiredAgent))
_EXPECT_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Expectation))


#: A rule as written: (target, action, status, note, origin, file, line, column,
#: direction); file is an index into the paths, -1 for a rule with no location.
_RawRule = tuple[str, str, str, "str | None", str, int, int, int, str]


class _Writer:
    """Tables of the shared objects, each written once and referred to by index."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.rules: list[_RawRule] = []
        self.rule_ids: dict[int, int] = {}

    def location(self, location: Location | None) -> object:
        if location is None:
            return None
        file = self.files.setdefault(location.file, len(self.files))
        return (file, location.line, location.column)

    def rule_map(self, rules: Mapping[str, DesiredRules] | None) -> object:
        """(targets, entries): each entry the index of its rule, or a pair of them."""
        if rules is None:
            return None
        # (ids are safe as keys: the state being encoded holds every rule alive)
        ids, table, files = self.rule_ids, self.rules, self.files

        def index(rule: DesiredRule) -> int:
            found = ids.get(id(rule))
            if found is not None:
                return found
            found = ids[id(rule)] = len(table)
            where = rule.location
            if where is None:
                file, line, column = -1, 0, 0
            else:
                file = files.setdefault(where.file, len(files))
                line, column = where.line, where.column
            table.append(
                (
                    rule.target,
                    rule.action,
                    rule.status,
                    rule.note,
                    rule.origin,
                    file,
                    line,
                    column,
                    rule.direction,
                )
            )
            return found

        entries = [
            index(e) if type(e) is DesiredRule else (index(e[0]), index(e[1]))  # type: ignore[index]
            for e in rules.values()
        ]
        return (tuple(rules), entries)

    def value(self, name: str, value: object) -> object:
        if value is UNSET:
            return ...  # marshal writes Ellipsis; no field holds it otherwise
        if name == "location":
            return self.location(value)  # type: ignore[arg-type]
        if name == "rules":
            return self.rule_map(value)  # type: ignore[arg-type]
        if name == "expect":
            if value is None:
                return None
            assert isinstance(value, Expectation)
            return tuple(self.value(f, getattr(value, f)) for f in _EXPECT_FIELDS)
        return value


def encode(state: DesiredState, rules_per_chunk: int = 10_000) -> Iterator[bytes]:
    """`state` as chunks for a `Decoder`, each with about `rules_per_chunk` new
    rules, so that the reader builds one while the writer encodes the next."""
    writer = _Writer()
    sent_files = sent_rules = 0
    holders: dict[str, list[tuple[object, ...]]] = {"numbers": [], "agents": []}

    def chunk(last: bool) -> bytes:
        nonlocal sent_files, sent_rules
        key_locations = None
        if last:  # (this may add files, so it comes first)
            key_locations = [
                (writer.location(node), key, writer.location(where))
                for (node, key), where in state.key_locations.items()
            ]
        files = tuple(writer.files)[sent_files:]
        rules = writer.rules[sent_rules:]
        sent_files, sent_rules = len(writer.files), len(writer.rules)
        data = marshal.dumps((files, rules, holders["numbers"], holders["agents"], key_locations))
        holders["numbers"], holders["agents"] = [], []
        return data

    section: str
    for section, names, entries in (
        ("numbers", _NUMBER_FIELDS, state.numbers.values()),
        ("agents", _AGENT_FIELDS, state.agents.values()),
    ):
        for entry in entries:
            holders[section].append(tuple(writer.value(f, getattr(entry, f)) for f in names))
            if len(writer.rules) - sent_rules >= rules_per_chunk:
                yield chunk(last=False)
    yield chunk(last=True)


class Decoder:
    """Builds the DesiredState back from `encode`'s chunks, in order."""

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._rules: list[DesiredRule] = []
        self._numbers: dict[str, DesiredNumber] = {}
        self._agents: dict[str, DesiredAgent] = {}
        self._state: DesiredState | None = None

    def add(self, data: bytes) -> None:
        """The next chunk."""
        files, raw_rules, numbers, agents, key_locations = marshal.loads(data)
        paths = self._paths
        paths.extend(files)
        self._rules.extend(
            [
                DesiredRule(
                    target,
                    action,
                    status,
                    note,
                    origin,
                    Location(paths[file], line, column) if file >= 0 else None,
                    direction,
                )
                for target, action, status, note, origin, file, line, column, direction in raw_rules
            ]
        )
        for raw in numbers:
            number = self._holder(DesiredNumber, _NUMBER_FIELDS, raw)
            self._numbers[number.number] = number
        for raw in agents:
            agent = self._holder(DesiredAgent, _AGENT_FIELDS, raw)
            self._agents[agent.handle] = agent
        if key_locations is not None:
            where = self._at  # (never None here)
            self._state = DesiredState(
                numbers=self._numbers,
                agents=self._agents,
                key_locations={(where(node), key): where(at) for node, key, at in key_locations},
            )

    def state(self) -> DesiredState:
        """The whole state, once the last chunk is in."""
        if self._state is None:
            raise ValueError("the last chunk of the desired state is missing")
        return self._state

    def _location(self, raw: tuple[int, int, int] | None) -> Location | None:
        return None if raw is None else self._at(raw)

    def _at(self, raw: tuple[int, int, int]) -> Location:
        return Location(self._paths[raw[0]], raw[1], raw[2])

    def _value(self, name: str, raw: Any) -> Any:
        if raw is ...:
            return UNSET
        if name == "location":
            return self._location(raw)
        if name == "rules":
            if raw is None:
                return None
            rules = self._rules
            targets, entries = raw
            return dict(
                zip(
                    targets,
                    [rules[e] if type(e) is int else (rules[e[0]], rules[e[1]]) for e in entries],
                    strict=True,
                )
            )
        if name == "expect":
            if raw is None:
                return None
            return Expectation(
                *(self._value(f, v) for f, v in zip(_EXPECT_FIELDS, raw, strict=True))
            )
        return raw

    def _holder(self, kind: Any, names: tuple[str, ...], raw: tuple[Any, ...]) -> Any:
        return kind(*(self._value(f, v) for f, v in zip(names, raw, strict=True)))
