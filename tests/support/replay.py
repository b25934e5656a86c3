"""Replay what a sandbox recorded through the safety checker, for either API version.

The request log says which writes the API committed, in commit order. Turned
back into plan steps and run through `check_steps` from the state before, it
shows whether callers' verdicts really changed at most once, whatever
interleaving, retries, adoption or crashes apply went through.

2026-06 writes name their rule's number and id, which is all a step needs.
2026-10 writes name a rule by an id the server may have merged into another
(aliases) or split, so the steps are rebuilt by re-running the committed
writes, in order, through the sandbox's own 2026-10 store loaded with the
state before: it says which target and coverage each addressed row had at
that moment. The log's `result_id` (what a POST made, what a PATCH answered)
maps the server's ids to the replay's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from inkbox_sync.client import v2026_06, v2026_10
from inkbox_sync.client.api import by_target
from inkbox_sync.model import SIDES_OF, LiveAgent, LiveNumber, LiveRule, LiveState
from inkbox_sync.plan import Step
from inkbox_sync.sandbox.v2026_10 import bodies
from inkbox_sync.sandbox.v2026_10.store import IdentityRuleStore

_NUMBER = re.compile(r"^/api/v1/phone/numbers/([^/]+)$")
_RULES = re.compile(r"^/api/v1/phone/numbers/([^/]+)/contact-rules$")
_RULE = re.compile(r"^/api/v1/phone/numbers/([^/]+)/contact-rules/([^/]+)$")
_IDENTITY = re.compile(r"^/api/v1/identities/([^/]+)$")
_IDENTITY_RULES = re.compile(r"^/api/v1/identities/([^/]+)/phone-contact-rules$")
_IDENTITY_RULE = re.compile(r"^/api/v1/identities/([^/]+)/phone-contact-rules/([^/]+)$")


def per_identity(document: dict[str, Any]) -> bool:
    return document.get("api_version") == "2026-10"


def live_from_document(document: dict[str, Any]) -> LiveState:
    """A sandbox state document as the LiveState the client would read (every holder)."""
    if per_identity(document):
        return _live_2026_10(document)
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
    return LiveState(numbers, capabilities=v2026_06.CAPABILITIES, api_version=v2026_06.VERSION)


def _live_2026_10(document: dict[str, Any]) -> LiveState:
    rows: dict[str, list[LiveRule]] = {i["id"]: [] for i in document["identities"]}
    for r in document["rules"]:
        rows[r["agent_identity_id"]].append(
            LiveRule(r["id"], r["match_target"], r["action"], r["status"], r["direction"])
        )
    identities = {i["id"]: i for i in document["identities"]}
    numbers = {}
    housed = set()
    for n in document["numbers"]:
        identity = identities.get(n["agent_identity_id"] or "")
        if identity is not None:
            housed.add(identity["id"])
        numbers[n["number"]] = LiveNumber(
            id=n["id"],
            number=n["number"],
            incoming_call_action=n["incoming_call_action"],
            client_websocket_url=n.get("client_websocket_url"),
            incoming_call_webhook_url=n.get("incoming_call_webhook_url"),
            inbound_filter_mode=n["inbound_filter_mode"],
            outbound_filter_mode=n["outbound_filter_mode"],
            agent_identity_id=n["agent_identity_id"],
            agent_handle=identity["agent_handle"] if identity else None,
            rules=by_target(rows[identity["id"]]) if identity else {},
            forwarding_phone_number=n.get("forwarding_phone_number"),
            forwarding_sip_uri=n.get("forwarding_sip_uri"),
            policy_id=identity["agent_handle"] if identity else None,
        )
    agents = {
        i["agent_handle"]: LiveAgent(
            i["id"],
            i["agent_handle"],
            i["phone_inbound_filter_mode"],
            i["phone_outbound_filter_mode"],
            rules=by_target(rows[i["id"]]),
        )
        for i in document["identities"]
        if i["id"] not in housed
    }
    return LiveState(numbers, agents, v2026_10.CAPABILITIES, v2026_10.VERSION)


def committed(entry: dict[str, Any]) -> bool:
    """A write the sandbox committed: the API itself answered 2xx, whatever failure
    the fault injector then put in its place."""
    status = entry.get("api_status")
    return status is not None and 200 <= status < 300


def steps_from_log(before: dict[str, Any], log: list[dict[str, Any]]) -> list[Step]:
    """The committed writes of `log` as steps, phases numbered around any flip."""
    writes = [e for e in log if e["method"] != "GET" and committed(e)]
    if per_identity(before):
        return _IdentityReplay(before).steps(writes)
    number_of = {n["id"]: n["number"] for n in before["numbers"]}
    mode_of = {n["number"]: n["filter_mode"] for n in before["numbers"]}
    target_of = {r["id"]: r["match_target"] for r in before["rules"]}
    steps: list[Step] = []
    flipped: set[str] = set()
    for entry in writes:
        path, body = entry["path"], entry.get("body") or {}
        if m := _NUMBER.match(path):
            number = number_of[m.group(1)]
            routing = {k: v for k, v in body.items() if k != "filter_mode"}
            if routing:
                phase = 2 if number in flipped else 0
                steps.append(Step(number, m.group(1), "update_routing", phase, fields=routing))
            mode = body.get("filter_mode")
            if mode is not None and mode != mode_of[number]:  # a retry that landed twice: no step
                flipped.add(number)
                mode_of[number] = mode
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


class _IdentityReplay:
    """The committed 2026-10 writes re-run through the sandbox's store (see the module)."""

    def __init__(self, before: dict[str, Any]) -> None:
        self.store = IdentityRuleStore(copy.deepcopy(before))
        self.ids: dict[str, str] = {r["id"]: r["id"] for r in before["rules"]}
        self.ids.update({a["id"]: a["rule_id"] for a in before.get("rule_aliases", [])})
        housed = {n["agent_identity_id"]: n["number"] for n in before["numbers"]}
        self.identity = {i["agent_handle"]: i["id"] for i in before["identities"]}
        # A holder is its number where it has one (as plans key it), else its handle.
        self.key = {
            i["agent_handle"]: housed.get(i["id"], i["agent_handle"]) for i in before["identities"]
        }
        self.number = {n["id"]: n for n in before["numbers"]}
        self.handle_of = {i["id"]: i["agent_handle"] for i in before["identities"]}
        self.flipped: set[str] = set()

    def phase(self, key: str) -> int:
        return 2 if key in self.flipped else 0

    def steps(self, writes: list[dict[str, Any]]) -> list[Step]:
        out: list[Step] = []
        for entry in writes:
            out.extend(self.step(entry))
        return out

    def step(self, entry: dict[str, Any]) -> list[Step]:
        method, path, body = entry["method"], entry["path"], entry.get("body") or {}
        if m := _NUMBER.match(path):
            number = self.number[m.group(1)]
            owner = self.handle_of.get(number["agent_identity_id"] or "")
            mode_step = None
            if "filter_mode" in body and owner is not None:  # the legacy write of both sides
                mode = body["filter_mode"]
                mode_step = self.modes(owner, {"inbound": mode, "outbound": mode})
            self.store.patch_number(number["id"], bodies.number_patch(body))
            steps = []
            routing = {k: v for k, v in body.items() if k != "filter_mode"}
            if routing:
                key = number["number"]
                steps.append(
                    Step(key, number["id"], "update_routing", self.phase(key), fields=routing)
                )
            return steps + ([mode_step] if mode_step else [])
        if m := _IDENTITY.match(path):
            handle = m.group(1)
            change = bodies.identity_patch(body)
            modes = {
                side: change[f"phone_{side}_filter_mode"]
                for side in ("inbound", "outbound")
                if f"phone_{side}_filter_mode" in change
            }
            step = self.modes(handle, modes)
            self.store.patch_identity(self.identity[handle], change)
            return [step] if step else []
        if m := _IDENTITY_RULES.match(path):
            handle = m.group(1)
            created = bodies.rule_create(body)
            rule, _ = self.store.create_rule(self.identity[handle], created)
            self.ids[entry["result_id"]] = rule["id"]
            key = self.key[handle]
            return [
                Step(
                    key,
                    handle,
                    "create_rule",
                    self.phase(key),
                    target=created["match_target"],
                    action=created["action"],
                    direction=created["direction"],
                )
            ]
        m = _IDENTITY_RULE.match(path)
        assert m, f"unexpected write {method} {path}"
        handle, identity = m.group(1), self.identity[m.group(1)]
        rule_id = self.ids[m.group(2)]
        row = self.store.rule(identity, rule_id)
        key = self.key[handle]
        common = {"target": row["match_target"], "rule_id": row["id"], "covers": row["direction"]}
        if method == "DELETE":
            self.store.delete_rule(identity, rule_id)
            return [Step(key, handle, "delete_rule", self.phase(key), **common)]
        change = bodies.rule_patch(body)
        answer, _ = self.store.update_rule(identity, rule_id, change)
        if entry.get("result_id"):
            self.ids[entry["result_id"]] = answer["id"]
        return [
            Step(
                key,
                handle,
                "update_rule",
                self.phase(key),
                action=change.get("action"),
                direction=change.get("direction"),
                apply_to=change.get("apply_to"),
                **common,
            )
        ]

    def modes(self, handle: str, modes: dict[str, str]) -> Step | None:
        """The mode step of a write setting `modes`, before the store applies it; None
        when it changes no side (a retried write that had landed: nothing happened)."""
        identity = self.store.identity_view(self.identity[handle])
        if all(identity[f"phone_{side}_filter_mode"] == mode for side, mode in modes.items()):
            return None
        key = self.key[handle]
        self.flipped.add(key)
        return Step(key, handle, "set_modes", 1, modes=modes)  # type: ignore[arg-type]


def duplicate_targets(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(holder id, target) pairs with a side held by more than one live rule."""
    seen: set[tuple[str, str, str]] = set()
    dupes = []
    for rule in document["rules"]:
        if rule.get("status", "active") == "deleted":
            continue
        owner = rule.get("phone_number_id") or rule["agent_identity_id"]
        for side in SIDES_OF[rule.get("direction", "both")]:
            key = (owner, rule["match_target"], side)
            if key in seen:
                dupes.append((owner, rule["match_target"]))
            seen.add(key)
    return dupes
