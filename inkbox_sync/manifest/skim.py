"""The holders a manifest manages, read from its lines in a few milliseconds.

A plan starts the org-wide rule listing as soon as the names found so far show
that the reader would choose it (`client.demand`), and composing a file with
the YAML parser costs ~60 ms per 10,000 rules: half a fleet's files take
~0.3 s before the first page may be asked for. Skimming reads the same answer
from the text alone, for the files written in the plain block style that
manifests are written in, at ~10 ms per file.

It is exact or silent: `skim(text)` is either None ("not sure") or, for a text
that composes and validates, exactly what `loader._managing` reads from the
composed data. The text qualifies only if every line is a *simple line*: blank,
a comment, or (after its indentation and any `- ` markers) a key and/or a
value that ends on that line (a quoted string, a one-line flow collection of
scalars, or a plain scalar), with no tab, CR or other line break, directive,
second document, anchor, alias, tag, block scalar or complex key, and the
document not indented as a whole. YAML made of such lines has
the structure its indentation shows, so the entries of `numbers:` and
`agents:` and their keys can be read from the lines indented least. Anything
else, or anything odd on those lines (a value that may go on over the next
line, or may be a null written there), makes it None, and the loader names that
file's holders once it is composed instead. A wrong name here could only make
a plan read the org-wide listing when it would not have chosen it; a test holds
skimming against the composer on the examples and on generated manifests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from inkbox_sync.manifest.files import OnNamed, ReadFile
from inkbox_sync.manifest.normalize import normalize_e164

__all__ = ["MANAGING_KEYS", "normalized", "skim", "skim_texts"]

_DQ: Final = r'"(?:[^"\\\n]++|\\[^\n])*+"'
_SQ: Final = r"'(?:[^'\n]++|'')*+'"
# A plain scalar in block context: no indicator first; no ": ", " #" or line end inside.
_PLAIN: Final = (
    r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`]|[-?:](?=[^\s,\[\]{}]))"""
    r"(?:[^\s:#]++|:(?=[^\s,\[\]{}])|[ ]++(?=[^\s#:]|:[^\s,\[\]{}])|\#)*+"
)
# Inside a one-line flow collection: quoted, or plain without flow indicators.
_FLOW_PLAIN: Final = r"""[^\s,\[\]{}#'"&*!|>%@`?:-](?:[^\s,\[\]{}:#]++|[ ]++(?=[^\s,\[\]{}#:]))*+"""
_FLOW_ATOM: Final = rf"(?:{_DQ}|{_SQ}|{_FLOW_PLAIN})"
_FLOW_ITEM: Final = rf"(?:{_FLOW_ATOM}(?:[ ]*+:[ ]++{_FLOW_ATOM})?)"
_FLOW_BODY: Final = rf"[ ]*+(?:{_FLOW_ITEM}(?:[ ]*+,[ ]*+{_FLOW_ITEM})*+[ ]*+,?[ ]*+)?"
_FLOW: Final = rf"(?:\[{_FLOW_BODY}\]|\{{{_FLOW_BODY}\}})"
_SCALAR: Final = rf"(?:{_DQ}|{_SQ}|{_PLAIN})"
_COMMENT: Final = r"(?:[ ]++\#[^\n]*+)?"
_LINE: Final = (
    r"(?!(?:---|\.\.\.)(?=[ \n]|\Z))[ ]*+"  # not a document marker
    r"(?:\#[^\n]*+"  # a comment, or
    rf"|(?:-[ ]++)*+(?:{_SCALAR}(?::(?:[ ]++(?:{_SCALAR}|{_FLOW}))?)?|{_FLOW}|-)?{_COMMENT}"
    r")[ ]*+"
)
#: The whole text as simple lines, optionally after one `---`.
_SIMPLE: Final = re.compile(rf"(?:---[ ]*+\n)?(?:{_LINE}\n)*+(?:{_LINE})?")
#: The lines that are neither blank nor a comment: (indent, rest).
_CONTENT: Final = re.compile(r"^([ ]*+)([^ \n#][^\n]*+)$", re.MULTILINE)
#: A mapping entry on a simple line: key, then the value written on the line, if any.
_ENTRY: Final = re.compile(rf"({_SCALAR}):(?:[ ]++(?!\#)(.*?))?{_COMMENT}[ ]*+")
_NULLS: Final = frozenset({"", "~", "null", "Null", "NULL"})
#: Tabs; what libyaml also breaks lines at (\r and these); a BOM past the start.
_ODD: Final = ("\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff")
_SECTIONS: Final = ("numbers", "agents")
#: The keys of a holder's entry that manage its policy: the resolved holder then has
#: rules, a mode or an expectation, which is what `planner.rules_wanted` asks.
MANAGING_KEYS: Final = frozenset(
    {
        "allow",
        "block",
        "use",
        "filter_mode",
        "inbound_filter_mode",
        "outbound_filter_mode",
        "expect",
    }
)


def skim(text: str) -> tuple[list[str], list[str]] | None:
    """(numbers as written, agent handles) whose entries manage their policy, or
    None when the text is not plain enough to be sure (see the module)."""
    if any(odd in text for odd in _ODD) or _SIMPLE.fullmatch(text) is None:
        return None
    lines = [(len(m[1]), m[2]) for m in _CONTENT.finditer(text)]
    if lines and lines[0][1].startswith("---"):
        lines = lines[1:]
    if lines and lines[0][0] != 0:
        return None  # the whole document indented: leave it to the composer
    found: dict[str, list[str]] = {name: [] for name in _SECTIONS}
    i, total = 0, len(lines)
    while i < total:
        indent, rest = lines[i]
        i += 1
        if indent != 0:
            continue  # inside a section this does not read
        top = _entry(rest)
        if top is None:
            return None  # a top-level item or scalar: not a manifest; not sure
        key, value = top
        if key not in found:
            continue
        if value is not None:
            return None  # `numbers: {}` or the like: leave it to the composer
        # The section's entries: the lines until the next top-level line.
        start = i
        while i < total and lines[i][0] > 0:
            i += 1
        names = _managing(lines[start:i])
        if names is None:
            return None
        found[key].extend(names)
    return found["numbers"], found["agents"]


def _managing(lines: list[tuple[int, str]]) -> list[str] | None:
    """The keys of a section's entries that manage their policy; None if unsure."""
    names: list[str] = []
    if not lines:
        return names
    level = lines[0][0]
    i, total = 0, len(lines)
    while i < total:
        indent, rest = lines[i]
        i += 1
        if indent < level:
            return None  # YAML would not have it; let the composer say so
        if indent > level:
            continue
        head = _entry(rest)
        if head is None or head[1] is not None or _is_item(rest):
            return None  # an item, or an entry written on one line: not sure
        name = head[0]
        start = i
        while i < total and lines[i][0] > level:
            i += 1
        body = lines[start:i]
        if not body:
            continue  # `"+1415...":` alone is null: not a mapping, nothing managed
        keys = _keys(body)
        if keys is None:
            return None
        if keys:
            names.append(name)
    return names


def _keys(body: list[tuple[int, str]]) -> bool | None:
    """Whether an entry's body (its deeper lines) sets a policy key to a value
    other than null; None if unsure."""
    level = body[0][0]
    manages = False
    for j, (indent, rest) in enumerate(body):
        if indent != level or _is_item(rest):
            continue  # deeper: inside a value; `- ` at the key's indent: a sequence item
        head = _entry(rest)
        if head is None:
            return None
        key, value = head
        if key not in MANAGING_KEYS:
            continue
        after = body[j + 1] if j + 1 < len(body) else None
        if value is not None:
            if after is not None and after[0] > level:
                return None  # a plain scalar going on over the next line
            manages = manages or value not in _NULLS
            continue
        # Only a key: its value is what follows, deeper or as `- ` items at its indent;
        # a mapping or a sequence (a scalar there, null perhaps: not sure).
        if after is not None and (after[0] > level or _is_item(after[1])):
            if not _is_item(after[1]) and _entry(after[1]) is None:
                return None
            manages = True
    return manages


def _is_item(rest: str) -> bool:
    """Whether a line (after its indent) is a sequence item (`-x: 1` is a key)."""
    return rest == "-" or rest.startswith("- ")


def _entry(rest: str) -> tuple[str, str | None] | None:
    """(key, value written on the line or None) of a `key: value` line, the key
    unquoted; None for anything else, or a key whose spelling is not certain."""
    match = _ENTRY.fullmatch(rest)
    if match is None:
        return None
    key, value = match[1], match[2]
    if key[0] == '"':
        if "\\" in key:
            return None
        key = key[1:-1]
    elif key[0] == "'":
        key = key[1:-1].replace("''", "'")
    return key, (value or None)


def skim_texts(read: Iterable[ReadFile], on_named: OnNamed) -> set[str]:
    """Tell `on_named` the holders of each file read (`files.read_manifests`) that
    `skim` can read (a few ms per file, where composing takes ~60 ms per 10,000
    rules), so a plan's reads can choose their listing before composing starts.
    Returns the files (as shown) it could not name; ones that did not read are
    among them."""
    unnamed: set[str] = set()
    for shown, text, problems in read:
        skimmed = skim(text) if text is not None and not problems else None
        if skimmed is None:
            unnamed.add(shown)
        else:
            on_named(*normalized(*skimmed))
    return unnamed


def normalized(numbers: list[str], agents: list[str]) -> tuple[list[str], list[str]]:
    """Numbers as E.164, as the loader keys them (one that is not fails the load)."""
    e164 = (normalize_e164(raw) for raw in numbers)
    return [n for n in e164 if n is not None], agents
