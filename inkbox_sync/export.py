"""Live state -> manifest text. Pure: the CLI reads the API and writes the files.

The YAML is written by hand rather than by a YAML dumper so that every string
is double-quoted (E.164 numbers must never be read back as integers), `$` is
escaped for the loader's `${VAR}` expansion, and a header comment says when and
from where it was exported.

What is written is what `plan` needs to find nothing to change, in the
manifest language of whichever API the state came from (it never asks which):

- per holder, one `filter_mode` when both sides share a mode, else
  `inbound_filter_mode` and `outbound_filter_mode`;
- each rule row as a string (active, both directions) or a mapping with its
  `direction` when it covers one side and `status: paused` for a (legacy)
  paused row, so a target covered by two one-way rows has two entries;
- the forwarding target, where live has one;
- identities without a number, as `agents:`.

A live value this tool does not know (a newer call action or filter mode) is
not written as a key, which would not load: the setting is left unmanaged,
with a comment saying what it is live. A holder whose policy cannot be read
(a pool number where policy belongs to identities) is exported with its
routing only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from inkbox_sync.model import (
    CALL_ACTIONS,
    LiveAgent,
    LiveNumber,
    LiveRule,
    LiveRules,
    LiveState,
    known_mode,
    rows_of,
)


def export_manifest(live: LiveState, *, source: str, when: str) -> str:
    """One manifest describing every number and agent of `live` exactly."""
    return _manifest(live.numbers.values(), live.agents.values(), source=source, when=when)


def export_by_agent(live: LiveState, *, source: str, when: str) -> Mapping[str, str]:
    """File name -> manifest, one file per agent (numbers with no agent share one)."""
    groups: dict[str, tuple[list[LiveNumber], list[LiveAgent]]] = {}
    for number in live.numbers.values():
        groups.setdefault(_file_stem(number.agent_handle), ([], []))[0].append(number)
    for agent in live.agents.values():
        groups.setdefault(_file_stem(agent.handle), ([], []))[1].append(agent)
    return {
        f"{stem}.yaml": _manifest(numbers, agents, source=source, when=when)
        for stem, (numbers, agents) in sorted(groups.items())
    }


def _manifest(
    numbers: Iterable[LiveNumber], agents: Iterable[LiveAgent], *, source: str, when: str
) -> str:
    lines = [
        "# Editor help: inkbox-sync schema > manifest.schema.json, then point your YAML plugin at it.",
        f"# Exported by inkbox-sync from {source} at {when}.",
        "# It describes live state exactly: `inkbox-sync plan` on it shows no changes.",
        "version: 1",
    ]
    ordered = sorted(numbers, key=lambda n: n.number)
    by_handle = sorted(agents, key=lambda a: a.handle)
    if not ordered:
        lines.append("numbers: {}")
    else:
        lines.append("numbers:")
        for number in ordered:
            lines.extend(_number_lines(number))
    if by_handle:
        lines.append("agents:")
        for agent in by_handle:
            lines.append(f"  {_q(agent.handle)}:")
            lines.extend(
                _policy_lines(agent.inbound_filter_mode, agent.outbound_filter_mode, agent.rules)
            )
    return "\n".join(lines) + "\n"


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
    lines = [f"  {_q(number.number)}:"]
    if number.agent_handle:
        lines.append(f"    agent: {_q(number.agent_handle)}")
    action = number.incoming_call_action
    if action in CALL_ACTIONS:
        lines.append(f"    incoming_call_action: {action}")
    else:
        lines.append(
            f"    # incoming_call_action is {_q(action)} live, unknown here: left unmanaged"
        )
    lines += [
        f"    client_websocket_url: {_opt(number.client_websocket_url)}",
        f"    incoming_call_webhook_url: {_opt(number.incoming_call_webhook_url)}",
    ]
    if number.forwarding_phone_number is not None or number.forwarding_sip_uri is not None:
        lines += [
            f"    forwarding_phone_number: {_opt(number.forwarding_phone_number)}",
            f"    forwarding_sip_uri: {_opt(number.forwarding_sip_uri)}",
        ]
    if number.rules is None:
        return lines  # its policy is not readable here (a pool number): routing only
    return lines + _policy_lines(
        number.inbound_filter_mode, number.outbound_filter_mode, number.rules
    )


def _policy_lines(inbound: str, outbound: str, rules: Mapping[str, LiveRules] | None) -> list[str]:
    """A holder's modes and rules, indented under its key."""
    if rules is None:
        raise ValueError("rules were not read; export needs them")
    if known_mode(inbound) is None or known_mode(outbound) is None:
        # Managed rules under a mode this tool cannot judge would not plan: leave both.
        return [
            f"    # filter modes are {_q(inbound)} / {_q(outbound)} live, unknown here: "
            "modes and rules left unmanaged"
        ]
    if inbound == outbound:
        lines = [f"    filter_mode: {inbound}"]
    else:
        lines = [f"    inbound_filter_mode: {inbound}", f"    outbound_filter_mode: {outbound}"]
    rows = sorted(
        (row for entry in rules.values() for row in rows_of(entry)),
        key=lambda r: (r.target, r.direction),
    )
    for action in ("allow", "block"):
        chosen = [r for r in rows if r.action == action]
        if not chosen:
            lines.append(f"    {action}: []")
            continue
        lines.append(f"    {action}:")
        lines.extend(_rule_lines(rule) for rule in chosen)
    return lines


def _rule_lines(rule: LiveRule) -> str:
    if rule.status == "active" and rule.direction == "both":
        return f"      - {_q(rule.target)}"
    out = f"      - target: {_q(rule.target)}"
    if rule.direction != "both":
        out += f"\n        direction: {rule.direction}"
    if rule.status != "active":
        out += f"\n        status: {rule.status}"
    return out
