"""YAML text -> plain data plus where every node was written, refusing YAML's hazards.

The composer is built on libyaml's event stream (PyYAML's C parser) rather than
`yaml.compose`: walking events in Python is about three times faster than the
C composer (which resolves every scalar through Python regexes), and events are
the only place anchors, aliases and explicit tags are visible at all.

What comes out is deliberately dull: `data` is dicts, lists, strings and the few
scalars YAML resolved to something else (ints, floats, booleans, null, dates),
ready for pydantic; `pos` mirrors it with positions; `scalars` remembers, for
each non-string scalar, how it was written, so a later type error can say
"+14155550100 was read by YAML as the integer 14155550100; quote it".

Refused here, each as a diagnostic, composing on so that all errors are found:
anchors and aliases, explicit tags, duplicate keys, keys that are not strings
(what is below an unquoted `+14155550001:` is still checked), merge keys (`<<`),
more than one document, malformed `${VAR}` references, and tabs used to indent
(explained in plain words instead of libyaml's "cannot start any token").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.envvars import expand

#: 0-based (line, column) of a node, as libyaml reports it (columns in characters).
Mark: TypeAlias = tuple[int, int]

# The C parser when PyYAML was built with libyaml (the common case); same events otherwise.
_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CORE_TAGS: Final = "tag:yaml.org,2002:"
_STR: Final = "tag:yaml.org,2002:str"
#: YAML 1.1 implicit types, by first character, exactly as PyYAML's SafeLoader resolves them.
_RESOLVERS: Final[dict[Any, list[tuple[str, Any]]]] = yaml.resolver.Resolver.yaml_implicit_resolvers
_WILDCARD: Final = tuple(_RESOLVERS.get(None, ()))
_CONSTRUCTOR: Final = yaml.constructor.SafeConstructor()
#: Human names for the types YAML may silently give a plain scalar.
KIND_NAMES: Final = {
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "date",
}

ANCHOR_MESSAGE: Final = "anchors and aliases are not allowed; use policies: to share rules"


@dataclass(slots=True)
class MapPos:
    """Positions of a mapping: its own, each key's, and each value's."""

    mark: Mark
    keys: dict[str, Mark] = field(default_factory=dict)
    values: dict[str, Pos] = field(default_factory=dict)


@dataclass(slots=True)
class SeqPos:
    """Positions of a sequence: its own and each item's."""

    mark: Mark
    items: list[Pos] = field(default_factory=list)


#: A scalar's position is just its mark; collections carry their children's.
Pos: TypeAlias = "Mark | MapPos | SeqPos"


def mark_of(pos: Pos) -> Mark:
    return pos if isinstance(pos, tuple) else pos.mark


@dataclass(slots=True)
class Document:
    """One composed manifest file."""

    file: str
    data: object
    pos: Pos
    #: Non-string scalars: mark -> (text as written, YAML type name from KIND_NAMES).
    scalars: dict[Mark, tuple[str, str]]
    #: Nodes already reported here; later checks stay quiet about them.
    reported: set[Mark]


class _Composer:
    def __init__(self, file: str, text: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.text = text
        self.env = env
        self.diagnostics: list[Diagnostic] = []
        self.scalars: dict[Mark, tuple[str, str]] = {}
        self.reported: set[Mark] = set()
        self.get: Callable[[], Any]
        self.peek: Callable[[], Any]

    def error(self, mark: Mark, message: str) -> None:
        self.reported.add(mark)
        self.diagnostics.append(Diagnostic(self.file, mark[0] + 1, mark[1] + 1, message))

    def document(self) -> Document | None:
        try:
            return self._document()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line, mark.column) if mark is not None else (0, 0)
            detail = " ".join(p for p in (exc.context, exc.problem) if p)
            message = _tab_message(self.text, line, column) or f"invalid YAML: {detail}"
            self.error((line, column), message)
        except yaml.reader.ReaderError as exc:
            self.error(_offset_mark(self.text, exc.position), f"invalid YAML: {exc.reason}")
        except yaml.YAMLError as exc:  # anything else libyaml may raise
            self.error((0, 0), f"invalid YAML: {exc}")
        except RecursionError:
            self.error((0, 0), "the YAML is nested too deeply to be a manifest")
        return None

    def _document(self) -> Document | None:
        parser = _Parser(self.text)  # the pure-Python reader may already raise here
        self.get = parser.get_event
        self.peek = parser.peek_event
        self.get()  # StreamStartEvent
        event = self.get()
        if not isinstance(event, DocumentStartEvent):
            self.error((0, 0), "the file is empty; a manifest starts with `version: 1`")
            return None
        data, pos = self.node(value=True)
        self.get()  # DocumentEndEvent
        extra = self.peek()
        if isinstance(extra, DocumentStartEvent):
            self.error(
                _mark(extra), "a manifest file holds one YAML document; put the others in files"
            )
        return Document(self.file, data, pos, self.scalars, self.reported)

    def node(self, *, value: bool) -> tuple[object, Pos]:
        """Compose the next node. `value` is False for mapping keys (never expanded)."""
        event = self.get()
        cls = type(event)
        mark = _mark(event)
        if cls is ScalarEvent:
            return self.scalar(event, mark, value), mark
        if cls is AliasEvent:
            self.error(mark, ANCHOR_MESSAGE)
            return None, mark
        if event.anchor is not None:
            self.error(mark, ANCHOR_MESSAGE)
        if event.tag is not None:
            self.error(mark, _tag_message(event.tag))
        if cls is MappingStartEvent:
            return self.mapping(mark)
        if cls is SequenceStartEvent:
            return self.sequence(mark)
        raise yaml.YAMLError(f"unexpected {cls.__name__}")  # libyaml never does this

    def scalar(self, event: Any, mark: Mark, value: bool) -> object:
        text: str = event.value
        if event.anchor is not None:
            self.error(mark, ANCHOR_MESSAGE)
        if event.tag is not None:
            # `!!str 12` is exactly the kind of reading-between-the-lines we refuse.
            self.error(mark, _tag_message(event.tag))
            return text
        if event.implicit[0] and (not text or text[0] in _RESOLVERS or _WILDCARD):
            tag = _resolve(text)
            if tag != _STR:
                return self.typed(text, tag, mark)
        if value and "$" in text:
            text, problems = expand(text, self.env)
            for problem in problems:
                self.error(mark, problem)
        return text

    def typed(self, text: str, tag: str, mark: Mark) -> object:
        kind = KIND_NAMES.get(tag)
        if kind is None:  # `<<` or `=` as a value: YAML oddities with no manifest meaning
            self.scalars[mark] = (text, "special value")
            return text
        self.scalars[mark] = (text, kind)
        constructor = _CONSTRUCTOR.yaml_constructors[tag]
        return constructor(_CONSTRUCTOR, yaml.ScalarNode(tag, text))

    def mapping(self, mark: Mark) -> tuple[dict[str, object], MapPos]:
        data: dict[str, object] = {}
        pos = MapPos(mark)
        keys = pos.keys
        values = pos.values
        peek = self.peek
        while type(peek()) is not MappingEndEvent:
            key_event = peek()
            key, key_pos = self.node(value=False)
            key_mark = mark_of(key_pos)
            item, item_pos = self.node(value=True)
            if type(key) is not str:
                if key_mark not in self.reported:
                    self.error(key_mark, self.key_message(key_event, key_mark))
                if type(key_event) is not ScalarEvent:
                    continue
                # Keep the entry under the key as written, so that what is below an
                # unquoted `+14155550001:` is still checked; the error above already
                # makes the load fail, so nothing is ever built from it.
                key = key_event.value
                if key in keys:
                    continue  # `"+1..."` and `+1...` both: one error is enough
            elif key_mark in self.scalars:  # `<<` and `=` keys
                if key_mark not in self.reported:
                    self.error(key_mark, self.key_message(key_event, key_mark))
                continue
            if key in keys:
                first = keys[key]
                self.error(
                    key_mark,
                    f"duplicate key {key!r}: already at line {first[0] + 1} column {first[1] + 1}; "
                    "YAML would silently keep only the last one",
                )
                continue
            data[key] = item
            keys[key] = key_mark
            values[key] = item_pos
        self.get()
        return data, pos

    def key_message(self, event: Any, mark: Mark) -> str:
        if type(event) is not ScalarEvent:
            return "mapping keys must be plain strings"
        text, kind = self.scalars.get(mark, (event.value, "special value"))
        if kind == "special value" and text == "<<":
            return "merge keys (<<) are not allowed; use policies: to share rules"
        return scalar_hazard(text, kind) or f"{text!r} is not a valid key"

    def sequence(self, mark: Mark) -> tuple[list[object], SeqPos]:
        data: list[object] = []
        pos = SeqPos(mark)
        items = pos.items
        peek = self.peek
        while type(peek()) is not SequenceEndEvent:
            item, item_pos = self.node(value=True)
            data.append(item)
            items.append(item_pos)
        self.get()
        return data, pos


def compose(
    file: str, text: str, env: Mapping[str, str]
) -> tuple[Document | None, list[Diagnostic]]:
    """Compose one manifest's text. The document is None only when YAML could not be read;
    it may come with diagnostics (and then must not be trusted for a result)."""
    composer = _Composer(file, text, env)
    document = composer.document()
    return document, composer.diagnostics


def scalar_hazard(text: str, kind: str) -> str | None:
    """The message for a scalar YAML typed as `kind` where a string was meant."""
    if kind == "integer":
        if text.startswith("+"):
            digits = text[1:].replace("_", "")
            return f'{text} was read by YAML as the integer {digits}; quote it: "{text}"'
        return f'{text} was read by YAML as an integer; quote it if you mean the string "{text}"'
    if kind == "number":
        return f'{text} was read by YAML as a number; quote it if you mean the string "{text}"'
    if kind == "boolean":
        return f'{text} is read by YAML as a boolean; quote it if you mean the string "{text}"'
    if kind == "date":
        return f'{text} was read by YAML as a date; quote it if you mean the string "{text}"'
    if kind == "null":
        shown = text or "an empty value"
        return f"{shown} is YAML's null here; write the value, or quote it if you mean a string"
    if kind == "special value":
        return f'{text} has a special meaning in YAML; quote it if you mean the string "{text}"'
    return None


def _resolve(text: str) -> str:
    """The tag YAML 1.1 gives a plain scalar (PyYAML's Resolver.resolve, minus the paths)."""
    tag = _resolved.get(text)
    if tag is not None:
        return tag
    tag = _STR
    for candidate, regexp in (*_RESOLVERS.get(text[0] if text else "", ()), *_WILDCARD):
        if regexp.match(text):
            tag = str(candidate)
            break
    if len(_resolved) < 4096:  # keys and enum values repeat by the thousand
        _resolved[text] = tag
    return tag


_resolved: dict[str, str] = {}


def _tag_message(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_CORE_TAGS) if tag.startswith(_CORE_TAGS) else tag
    return f"YAML tags ({shown}) are not allowed; write plain values, quoting strings where needed"


def _tab_message(text: str, line: int, column: int) -> str | None:
    """Plain words for libyaml's "found character that cannot start any token" and
    "found a tab character that violates indentation", both of which mean a tab
    where YAML only allows spaces."""
    lines = text.split("\n", line + 1)
    if line >= len(lines) or lines[line][column : column + 1] != "\t":
        return None
    before = lines[line][:column]
    if not before.strip(" \t"):
        return (
            "this line is indented with a tab; YAML allows only spaces for indentation: "
            "replace the tab with spaces, as many as the lines around it use"
        )
    return "a tab where YAML needs a space (after '-', ':' or at the start of a line); replace it with a space"


def _mark(event: Any) -> Mark:
    start = event.start_mark
    return (start.line, start.column)


def _offset_mark(text: str, position: int) -> Mark:
    """(line, column) of a reader error: libyaml reports a UTF-8 byte offset,
    PyYAML's pure-Python reader a character index."""
    if _Parser is yaml.SafeLoader:
        prefix = text[:position]
    else:
        prefix = text.encode("utf-8")[:position].decode("utf-8", errors="ignore")
    line = prefix.count("\n")
    return (line, len(prefix) - (prefix.rfind("\n") + 1))
