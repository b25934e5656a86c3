"""Validate a composed document against the file-format models; errors land on their nodes.

pydantic reports each error with a `loc` path into the data; the composer's
position tree maps that path back to the node's line and column. Messages are
rewritten in the manifest's own terms (YAML hazards first: an unquoted
"+1415..." is reported as an integer YAML made, not as "expected a string").

A file with errors is still mined for everything else: the numbers and policies
that did validate go on to the semantic checks, so one bad entry does not hide
the next one's problems.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.normalize import (
    E164_INPUT_PATTERN,
    SIP_URI_PATTERN,
    WEBHOOK_URL_PATTERN,
    WEBSOCKET_URL_PATTERN,
    e164_problem,
    sip_uri_problem,
    webhook_url_problem,
    websocket_url_problem,
)
from inkbox_sync.manifest.schema import (
    POLICY_NAME_PATTERN,
    RULE_MAPPING,
    RULE_STRING,
    AgentSpec,
    ExpectSpec,
    ManifestFile,
    NumberSpec,
    PolicySpec,
    RuleSpec,
)
from inkbox_sync.manifest.yamlnodes import (
    Document,
    MapPos,
    Mark,
    Pos,
    SeqPos,
    mark_of,
    scalar_hazard,
)

_UNION_TAGS: Final = frozenset({RULE_STRING, RULE_MAPPING})
_SECTIONS: Final = ("policies", "numbers", "agents")
#: Sections whose entries lose only their bad keys when salvaged (a policy is dropped whole).
_HOLDER_SECTIONS: Final = ("numbers", "agents")
_SECTION_NOUN: Final = {"policies": "policy", "numbers": "number", "agents": "agent"}
_SECTION_MODEL: Final[dict[str, type[BaseModel]]] = {
    "policies": PolicySpec,
    "numbers": NumberSpec,
    "agents": AgentSpec,
}
_FIELDS: Final = frozenset(
    name
    for model in (ManifestFile, PolicySpec, NumberSpec, AgentSpec, RuleSpec, ExpectSpec)
    for name in model.model_fields
)
_LIST_FIELDS: Final = frozenset(
    {"allow", "block", "use", "delivered", "blocked", "outbound_allowed", "outbound_blocked"}
)
_MAPPING_FIELDS: Final = frozenset({"expect", "policies", "numbers", "agents"})
#: Error types that mean "a string (or one of some strings) was expected".
_STRINGY: Final = frozenset(
    {"string_type", "literal_error", "string_pattern_mismatch", "string_too_short", "enum"}
)


@dataclass(slots=True)
class Checked:
    """One file after structural validation."""

    document: Document
    manifest: ManifestFile | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: 0-based marks of every problem found in this file so far (composer's and ours):
    #: entries containing one are incomplete, and checks that would need the
    #: missing part (expectations, unmanaged_rules) are skipped for them.
    problems: set[Mark] = field(default_factory=set)


def check_document(document: Document) -> Checked:
    """Validate one document; on errors, validate again without the broken entries."""
    try:
        manifest = ManifestFile.model_validate(document.data)
        return Checked(document, manifest, problems=set(document.reported))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    diagnostics = _diagnostics(document, errors)
    problems = set(document.reported) | {(d.line - 1, d.column - 1) for d in diagnostics}
    checked = Checked(document, None, diagnostics, problems)
    salvaged = _without_broken(document.data, errors)
    if salvaged is not None:
        # If even that fails there is nothing more to learn; its errors are reported.
        with contextlib.suppress(ValidationError):
            checked.manifest = ManifestFile.model_validate(salvaged)
    return checked


def locate(pos: Pos, loc: Sequence[int | str]) -> tuple[Mark, Mark | None]:
    """The node a pydantic `loc` names: (its mark, the mark of the key that holds it).

    A loc that runs past the file (a missing key) stops at the deepest node
    that exists, so "missing 'target'" points at the mapping that lacks it.
    """
    key_mark: Mark | None = None
    for part in loc:
        if part in _UNION_TAGS:
            continue
        if part == "[key]":  # a dict key itself failed validation
            return (key_mark or mark_of(pos)), key_mark
        if isinstance(pos, MapPos) and isinstance(part, str) and part in pos.values:
            key_mark = pos.keys[part]
            pos = pos.values[part]
        elif isinstance(pos, SeqPos) and isinstance(part, int) and 0 <= part < len(pos.items):
            key_mark = None
            pos = pos.items[part]
        else:
            return mark_of(pos), None
    return mark_of(pos), key_mark


def _diagnostics(document: Document, errors: Sequence[Any]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple[Mark, str]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        mark, key_mark = locate(document.pos, loc)
        if error["type"] == "extra_forbidden" and key_mark is not None:
            mark = key_mark
        if mark in document.reported:
            continue  # the composer already said what is wrong here (alias, tag, ${VAR})
        message = _message(error, loc, document, mark)
        if (mark, message) in seen:
            continue
        seen.add((mark, message))
        out.append(Diagnostic(document.file, mark[0] + 1, mark[1] + 1, message))
    return out


def _message(error: Any, loc: tuple[int | str, ...], document: Document, mark: Mark) -> str:
    kind: str = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    parts = [p for p in loc if p not in _UNION_TAGS]
    subject = _subject(parts)
    if kind == "extra_forbidden":
        return _unknown_key(parts)
    if kind == "missing":
        if parts == ["version"]:
            return "missing required key 'version'; a manifest starts with `version: 1`"
        return f"missing required key {parts[-1]!r}"
    if parts == ["version"]:
        shown = document.scalars.get(mark, (repr(value), ""))[0]
        return f"version must be 1 (the only manifest format so far), not {shown}"
    if kind == "null_not_allowed" or (value is None and mark in document.scalars):
        return _null_message(subject, kind)
    hazard = document.scalars.get(mark)
    if hazard is not None and kind in _STRINGY:
        return scalar_hazard(*hazard) or f"{subject}: expected a string"
    if kind == "string_pattern_mismatch" and isinstance(value, str):
        return _pattern_message(subject, value, ctx.get("pattern", ""))
    if kind == "literal_error":
        return f"{subject} must be {ctx.get('expected', 'one of the allowed values')}, not {_show(value, document, mark)}"
    if kind == "string_too_short":
        if parts[:1] == ["agents"] and parts[-1:] == ["[key]"]:
            return "an agent handle must not be empty"
        return f"{subject} must not be empty"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"{subject} must be {expected}, not {_show(value, document, mark)}"
    return f"{subject}: {error['msg']}"


_EXPECTED: Final = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
}


def _null_message(subject: str, kind: str) -> str:
    if subject.endswith(" entry"):
        hint = "write a value, or remove the entry"
    elif kind == "list_type" or subject in _LIST_FIELDS:
        hint = "write [] for an empty list, or remove the key"
    elif kind in ("dict_type", "model_type") or subject in _MAPPING_FIELDS:
        hint = "write {} for an empty mapping, or remove the key"
    else:
        hint = "give it a value, or remove the key to leave it unmanaged"
    return f"{subject} is null (an empty value or ~ is null in YAML); {hint}"


def _pattern_message(subject: str, value: str, pattern: str) -> str:
    if pattern == E164_INPUT_PATTERN:
        return e164_problem(value) or f"{value!r} is not an E.164 number"
    if pattern == WEBSOCKET_URL_PATTERN:
        return f"client_websocket_url: {websocket_url_problem(value) or value + ' is not allowed'}"
    if pattern == WEBHOOK_URL_PATTERN:
        return (
            f"incoming_call_webhook_url: {webhook_url_problem(value) or value + ' is not allowed'}"
        )
    if pattern == SIP_URI_PATTERN:
        return f"forwarding_sip_uri: {sip_uri_problem(value) or value + ' is not allowed'}"
    if pattern == POLICY_NAME_PATTERN:
        return (
            f"{value!r} is not a valid policy name: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit"
        )
    return f"{subject}: {value!r} does not match {pattern}"


def _subject(parts: Sequence[int | str]) -> str:
    """What an error is about, in manifest terms: "filter_mode", "allow entry", "number '+1...'"."""
    if len(parts) == 2 and parts[0] in _SECTIONS:
        return f"{_SECTION_NOUN[str(parts[0])]} {parts[1]!r}"
    if not parts:
        return "a manifest"
    for i in range(len(parts) - 1, -1, -1):
        part = parts[i]
        if isinstance(part, str) and part in _FIELDS and not (i == 1 and parts[0] in _SECTIONS):
            return f"{part} entry" if i < len(parts) - 1 else part
    return str(parts[-1])


def _unknown_key(parts: Sequence[int | str]) -> str:
    key = str(parts[-1])
    where, model = _container(parts[:-1])
    known = sorted(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    if model is ManifestFile and key.startswith("+"):
        return f"unknown key {key!r}: numbers go under `numbers:`"
    if known:
        return f"unknown key {key!r}; {where} may have: {', '.join(known)}"
    return f"unknown key {key!r}"


def _container(parts: Sequence[int | str]) -> tuple[str, type[BaseModel] | None]:
    """Which model a mapping at `parts` is, from its place in the file."""
    if not parts:
        return "a manifest", ManifestFile
    if len(parts) == 2 and parts[0] in _SECTION_MODEL:
        noun = _SECTION_NOUN[str(parts[0])]
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}", _SECTION_MODEL[str(parts[0])]
    if len(parts) == 3 and parts[2] == "expect":
        return "expect", ExpectSpec
    if len(parts) == 4 and parts[2] in ("allow", "block") and isinstance(parts[3], int):
        return "a rule", RuleSpec
    return "this mapping", None


def _show(value: object, document: Document, mark: Mark) -> str:
    if mark in document.scalars:
        text, kind = document.scalars[mark]
        return f"{text} (read by YAML as {'an' if kind[0] in 'aeiou' else 'a'} {kind})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _without_broken(data: object, errors: Sequence[Any]) -> dict[str, object] | None:
    """The document minus what errors were found in.

    A policy with an error is dropped whole (a partial rule set would change what
    every number using it means). A number or agent loses only its bad keys, so
    its other settings are still checked: `filter_mode: off` does not hide a
    caller that is both allowed and blocked two lines below.
    """
    if not isinstance(data, dict):
        return None
    broken: dict[str, set[str]] = {section: set() for section in _SECTIONS}
    bad_keys: dict[str, dict[str, set[str]]] = {section: {} for section in _HOLDER_SECTIONS}
    whole: set[str] = set()
    for error in errors:
        loc = [p for p in error["loc"] if p not in _UNION_TAGS]
        if not loc or loc[0] not in _SECTIONS:
            continue
        section = str(loc[0])
        if len(loc) < 2 or not isinstance(loc[1], str):
            whole.add(section)
        elif (
            section in bad_keys and len(loc) >= 3 and isinstance(loc[2], str) and loc[2] != "[key]"
        ):
            bad_keys[section].setdefault(loc[1], set()).add(loc[2])
        else:
            broken[section].add(loc[1])
    salvaged: dict[str, object] = {"version": 1}
    for section in _SECTIONS:
        entries = data.get(section)
        if section in whole or not isinstance(entries, dict):
            continue
        kept: dict[str, object] = {}
        for key, spec in entries.items():
            if key in broken[section]:
                continue
            bad = bad_keys.get(section, {}).get(key)
            if bad and isinstance(spec, dict):
                spec = {k: v for k, v in spec.items() if k not in bad}
            kept[key] = spec
        salvaged[section] = kept
    return salvaged
