"""Replay what a sandbox recorded through the safety checker.

The request log says which writes the API committed, in commit order. Turned
back into plan steps and run through `check_steps` from the state before, it
shows whether callers' verdicts really changed at most once, whatever
interleaving, retries, adoption or crashes apply went through.
"""

from __future__ import annotations

import re
from typing import Any

from inkbox_sync.model import LiveNumber, LiveRule, LiveState
from inkbox_sync.plan import Step

_NUMBER = re.compile(r"^/api/v1/phone/numbers/([^/]+)$")
_RULES = re.compile(r"^/api/v1/phone/numbers/([^/]+)/contact-rules$")
_RULE = re.compile(r"^/api/v1/phone/numbers/([^/]+)/contact-rules/([^/]+)$")


def live_from_document(document: dict[str, Any]) -> LiveState:
    """A sandbox state document as the LiveState the client would read."""
    by_id: dict[str, dict[str, LiveRule]] = {}
    for rule in document["rules"]:
        if rule.get("status", "active") == "deleted":
            continue
        by_id.setdefault(rule["phone_number_id"], {})[rule["match_target"]] = LiveRule(
            rule["id"], rule["match_target"], rule["action"], rule.get("status", "active")
        )
    numbers = {
        n["number"]: LiveNumber(
            id=n["id"],
            number=n["number"],
            incoming_call_action=n["incoming_call_action"],
            client_websocket_url=n.get("client_websocket_url"),
            incoming_call_webhook_url=n.get("incoming_call_webhook_url"),
            inbound_filter_mode=n["filter_mode"],
            outbound_filter_mode=n["filter_mode"],
            rules=by_id.get(n["id"], {}),
        )
        for n in document["numbers"]
    }
    return LiveState(numbers)


def committed(entry: dict[str, Any]) -> bool:
    """A write the sandbox committed: the API itself answered 2xx, whatever failure
    the fault injector then put in its place."""
    status = entry.get("api_status")
    return status is not None and 200 <= status < 300


def steps_from_log(before: dict[str, Any], log: list[dict[str, Any]]) -> list[Step]:
    """The committed writes of `log` as steps, phases numbered around any flip."""
    number_of = {n["id"]: n["number"] for n in before["numbers"]}
    target_of = {r["id"]: r["match_target"] for r in before["rules"]}
    steps: list[Step] = []
    flipped: set[str] = set()
    for entry in log:
        if entry["method"] == "GET" or not committed(entry):
            continue
        path, body = entry["path"], entry.get("body") or {}
        if m := _NUMBER.match(path):
            number = number_of[m.group(1)]
            routing = {k: v for k, v in body.items() if k != "filter_mode"}
            if routing:
                phase = 2 if number in flipped else 0
                steps.append(Step(number, m.group(1), "update_routing", phase, fields=routing))
            if "filter_mode" in body:
                flipped.add(number)
                mode = body["filter_mode"]
                modes = {"inbound": mode, "outbound": mode}
                steps.append(Step(number, m.group(1), "set_modes", 1, modes=modes))
            continue
        if m := _RULES.match(path):
            number = number_of[m.group(1)]
            target_of[entry["result_id"]] = body["match_target"]
            phase = 2 if number in flipped else 0
            steps.append(
                Step(
                    number,
                    m.group(1),
                    "create_rule",
                    phase,
                    target=body["match_target"],
                    action=body["action"],
                )
            )
            continue
        m = _RULE.match(path)
        assert m, f"unexpected write {entry['method']} {path}"
        number = number_of[m.group(1)]
        phase = 2 if number in flipped else 0
        target = target_of[m.group(2)]
        if entry["method"] == "DELETE":
            steps.append(
                Step(number, m.group(1), "delete_rule", phase, target=target, rule_id=m.group(2))
            )
        else:
            steps.append(
                Step(
                    number,
                    m.group(1),
                    "update_rule",
                    phase,
                    target=target,
                    rule_id=m.group(2),
                    action=body.get("action"),
                    status=body.get("status"),
                )
            )
    return steps


def duplicate_targets(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(number id, target) pairs held by more than one non-deleted rule."""
    seen: set[tuple[str, str]] = set()
    dupes = []
    for rule in document["rules"]:
        if rule.get("status", "active") == "deleted":
            continue
        key = (rule["phone_number_id"], rule["match_target"])
        if key in seen:
            dupes.append(key)
        seen.add(key)
    return dupes
