"""Live state -> manifest text. Pure: the CLI reads the API and writes the files.

The YAML is written by hand rather than by a YAML dumper so that every string
is double-quoted (E.164 numbers must never be read back as integers), `$` is
escaped for the loader's `${VAR}` expansion, and a header comment says when and
from where it was exported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from inkbox_sync.model import LiveNumber, LiveRule, rows_of


def export_manifest(numbers: Iterable[LiveNumber], *, source: str, when: str) -> str:
    """One manifest describing `numbers` exactly (rules must have been read)."""
    lines = [
        "# Editor help: inkbox-sync schema > manifest.schema.json, then point your YAML plugin at it.",
        f"# Exported by inkbox-sync from {source} at {when}.",
        "# It describes live state exactly: `inkbox-sync plan` on it shows no changes.",
        "version: 1",
    ]
    ordered = sorted(numbers, key=lambda n: n.number)
    if not ordered:
        lines.append("numbers: {}")
        return "\n".join(lines) + "\n"
    lines.append("numbers:")
    for number in ordered:
        lines.extend(_number_lines(number))
    return "\n".join(lines) + "\n"


def export_by_agent(numbers: Iterable[LiveNumber], *, source: str, when: str) -> Mapping[str, str]:
    """File name -> manifest, one file per agent (numbers with no agent share one)."""
    groups: dict[str, list[LiveNumber]] = {}
    for number in numbers:
        groups.setdefault(_file_stem(number.agent_handle), []).append(number)
    return {
        f"{stem}.yaml": export_manifest(group, source=source, when=when)
        for stem, group in sorted(groups.items())
    }


def _file_stem(agent: str | None) -> str:
    if not agent:
        return "_no-agent"
    return re.sub(r"[^A-Za-z0-9._-]", "_", agent)


def _q(value: str) -> str:
    """A double-quoted YAML scalar (JSON's syntax is valid YAML), `$` escaped as `$$`."""
    return json.dumps(value.replace("$", "$$"), ensure_ascii=False)


def _opt(value: str | None) -> str:
    return "null" if value is None else _q(value)


def _number_lines(number: LiveNumber) -> list[str]:
    if number.rules is None:
        raise ValueError(f"rules of {number.number} were not read; export needs them")
    lines = [f"  {_q(number.number)}:"]
    if number.agent_handle:
        lines.append(f"    agent: {_q(number.agent_handle)}")
    lines += [
        f"    incoming_call_action: {number.incoming_call_action}",
        f"    client_websocket_url: {_opt(number.client_websocket_url)}",
        f"    incoming_call_webhook_url: {_opt(number.incoming_call_webhook_url)}",
        f"    filter_mode: {number.filter_mode}",
    ]
    rules = sorted((r for e in number.rules.values() for r in rows_of(e)), key=lambda r: r.target)
    for action in ("allow", "block"):
        chosen = [r for r in rules if r.action == action]
        if not chosen:
            lines.append(f"    {action}: []")
            continue
        lines.append(f"    {action}:")
        lines.extend(_rule_lines(rule) for rule in chosen)
    return lines


def _rule_lines(rule: LiveRule) -> str:
    if rule.status == "active":
        return f"      - {_q(rule.target)}"
    return f"      - target: {_q(rule.target)}\n        status: {rule.status}"
