"""`${VAR}` and `${VAR:-default}` in manifest string values.

Rules (the README documents them):
- `${NAME}` is the variable's value; unset is an error (never an empty guess).
- `${NAME:-default}` uses `default` when NAME is unset or empty; the default
  is literal text up to the first `}`.
- `$$` is a literal `$`.
- `$NAME` without braces is an error: it looks like a variable but would not be
  expanded, so the manifest would silently mean something else.
- Any other `$` (before a digit, a space, the end...) is a literal `$`.
- `${INKBOX_...}` (any case, with or without a default) is refused: those are
  inkbox-sync's own settings, the API key among them, and a manifest must never
  be a way to copy the key into a URL, a plan or a pull-request comment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME_START = re.compile(r"[A-Za-z_]")
#: Prefix of the variables a manifest may not read (compared case-insensitively).
RESERVED_PREFIX = "INKBOX_"


def expand(value: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """`value` with variables expanded, and a message for each that could not be."""
    if "$" not in value:
        return value, []  # the fast path: almost every scalar
    out: list[str] = []
    problems: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        nxt = value[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = value.find("}", j + 2)
            if end < 0:
                problems.append(
                    f"unclosed '${{' in {value!r}; write ${{NAME}}, or $$ for a literal $"
                )
                out.append(value[j:])
                break
            text, problem = _substitute(value[j + 2 : end], env)
            if problem:
                problems.append(problem)
            out.append(text)
            i = end + 1
        elif _NAME_START.match(nxt):
            name = re.match(r"[A-Za-z0-9_]*", value[j + 1 :])
            word = name.group(0) if name else nxt
            problems.append(
                _refused(word)
                if _reserved(word)
                else f"${word} is not expanded; write ${{{word}}} for the variable, or $${word} for a literal $"
            )
            out.append("$")
            i = j + 1
        else:
            out.append("$")
            i = j + 1
    return "".join(out), problems


def _substitute(inner: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    name, sep, default = inner.partition(":-")
    if not _NAME.match(name):
        return "", (
            f"'${{{inner}}}' is not a variable reference; write ${{NAME}} or ${{NAME:-default}}"
            " (NAME: letters, digits, _)"
        )
    if _reserved(name):
        return "", _refused(name)
    found = env.get(name)
    if sep:
        return (found if found else default), None
    if found is None:
        return "", (
            f"environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
        )
    return found, None


def _reserved(name: str) -> bool:
    return name.upper().startswith(RESERVED_PREFIX)


def _refused(name: str) -> str:
    return (
        f"${{{name}}} is refused: manifests may not read {RESERVED_PREFIX}* variables, which "
        "hold inkbox-sync's own settings and the API key (a manifest must never copy the key "
        "into a URL, a plan or a pull-request comment)"
    )
