"""Property: any valid manifest, dumped to YAML files and loaded, gives back its desired state.

Hypothesis generates the manifest as model objects (policies, numbers, agents,
rules with directions, modes per side, routing with forwarding, expectations
on both sides), a small dumper in this file writes it across one to three
files with varied but valid YAML styles, and an oracle written here (not the
loader's code) computes the DesiredState those files mean: per target and
side, the holder's own rule, else its policies' (a `both` rule kept for one
side only becomes a one-way rule).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.model import (
    SIDES,
    SIDES_OF,
    UNSET,
    CallAction,
    DesiredAgent,
    DesiredNumber,
    DesiredRule,
    DesiredRules,
    DesiredState,
    Direction,
    Expectation,
    Rule,
    Side,
    Unset,
    desired_mode,
    on_side,
    verdict,
)

e164 = st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True)
policy_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,11}", fullmatch=True)
handles = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
# Everything YAML can carry in a double-quoted scalar without folding it.
text = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"),
        exclude_characters="\ufeff",
        include_characters="\n\t",
    ),
    max_size=20,
)
websocket_urls = st.sampled_from(
    ["wss://agent.example.com/ws", "ws://localhost:8080/ws", "wss://a.example/x?y=${z}"]
)
webhook_urls = st.sampled_from(
    ["https://hooks.example.com/inkbox", "http://127.0.0.1:3000/hook", "https://h.example/$5"]
)
sip_uris = st.sampled_from(
    ["sip:reception@pbx.example.com", "sips:pbx.example.com:5061;transport=tls", "SIP:a@b.example"]
)
modes = st.sampled_from([UNSET, "blacklist", "whitelist"])


@dataclass(frozen=True)
class Policy:
    name: str
    description: str | None
    rules: tuple[DesiredRule, ...]  # as written: a target at most once per side


@dataclass(frozen=True)
class Holder:
    spec: DesiredNumber | DesiredAgent  # rules and expect are the oracle's
    own: tuple[DesiredRule, ...] | None  # the holder's own rules as written; None: unmanaged
    use: tuple[str, ...] | None
    own_keys: tuple[str, ...]  # which of allow/block are written
    write_unmanaged: bool


@st.composite
def rule_rows(draw: st.DrawFn, targets: list[str], origin: str) -> tuple[DesiredRule, ...]:
    """Per target: one rule for both sides, a one-way rule, or one rule per side."""
    rows: list[DesiredRule] = []
    for target in targets:
        shape = draw(st.sampled_from(["both", "both", "inbound", "outbound", "pair"]))
        directions: tuple[Direction, ...] = ("inbound", "outbound") if shape == "pair" else (shape,)  # type: ignore[assignment]
        for direction in directions:
            rows.append(
                DesiredRule(
                    target,
                    draw(st.sampled_from(["allow", "block"])),
                    draw(st.sampled_from(["active", "paused"])),
                    draw(st.none() | text),
                    origin,
                    None,
                    direction,
                )
            )
    return tuple(draw(st.permutations(rows)))


@st.composite
def manifests(draw: st.DrawFn) -> tuple[list[Policy], list[Holder]]:
    pool = draw(st.lists(e164, min_size=1, max_size=12, unique=True))
    names = draw(st.lists(policy_names, max_size=3, unique=True))
    # Policies get disjoint targets, so policies used together never disagree.
    random.Random(draw(st.integers(0, 2**16))).shuffle(pool)
    shares = [pool[i :: len(names) + 1] for i in range(len(names) + 1)]
    policies = [
        Policy(name, draw(st.none() | text), draw(rule_rows(share, name)))
        for name, share in zip(names, shares, strict=False)
    ]
    agent_handles = draw(st.lists(handles, max_size=3, unique=True))
    holders = [
        draw(holders_of(DesiredNumber(number=key), pool, names, agent_handles))
        for key in draw(st.lists(e164, min_size=1, max_size=4, unique=True))
    ]
    holders += [
        draw(holders_of(DesiredAgent(handle=h), pool, names, agent_handles)) for h in agent_handles
    ]
    return policies, holders


@st.composite
def holders_of(
    draw: st.DrawFn,
    blank: DesiredNumber | DesiredAgent,
    pool: list[str],
    names: list[str],
    agent_handles: list[str],
) -> Holder:
    managed = draw(st.booleans())
    use: tuple[str, ...] | None = None
    own: tuple[DesiredRule, ...] | None = None
    keys: tuple[str, ...] = ()
    if managed:
        use = tuple(draw(st.permutations(names))[: draw(st.integers(0, len(names)))])
        own = draw(rule_rows(draw(st.lists(st.sampled_from(pool), unique=True)), "number"))
        keys = tuple(sorted({r.action for r in own}))
        if not keys and not use:
            keys = (draw(st.sampled_from(["allow", "block"])),)  # `allow: []` manages rules
        if not use and keys and draw(st.booleans()):
            use = None  # no `use:` key at all, rather than `use: []`
    if draw(st.booleans()):
        shared, inbound, outbound = draw(modes), UNSET, UNSET
    else:
        shared, inbound, outbound = UNSET, draw(modes), draw(modes)
    policy: dict[str, Any] = {
        "filter_mode": shared,
        "inbound_filter_mode": inbound,
        "outbound_filter_mode": outbound,
        "unmanaged_rules": draw(st.sampled_from(["delete", "keep"])) if managed else "delete",
    }
    spec: DesiredNumber | DesiredAgent
    if isinstance(blank, DesiredNumber):
        manages_policy = managed or any(v is not UNSET for v in (shared, inbound, outbound))
        # An identity under agents: may be named by a number only to assert its owner.
        owners = text.filter(bool)
        if manages_policy:
            owners = owners.filter(lambda a: a not in agent_handles)
        spec = dataclasses.replace(
            blank, agent=draw(st.none() | owners), **draw(routing()), **policy
        )
    else:
        spec = dataclasses.replace(blank, **policy)
    write_unmanaged = managed and (spec.unmanaged_rules == "keep" or draw(st.booleans()))
    return Holder(spec, own, use, keys, write_unmanaged)


@st.composite
def routing(draw: st.DrawFn) -> dict[str, Any]:
    action: CallAction | Unset = draw(
        st.sampled_from([UNSET, "auto_reject", "auto_accept", "webhook", "hosted_agent", "forward"])
    )
    websocket = draw(st.sampled_from([UNSET, None]) | websocket_urls)
    webhook = draw(st.sampled_from([UNSET, None]) | webhook_urls)
    phone = draw(st.sampled_from([UNSET, None]) | e164)
    sip = draw(st.sampled_from([UNSET, None]) | sip_uris)
    if action == "auto_accept" and websocket is None:
        websocket = "wss://agent.example.com/ws"  # null would be incoherent (and an error)
    if action == "webhook" and webhook is None:
        webhook = UNSET
    if isinstance(phone, str) and isinstance(sip, str):
        sip = draw(st.sampled_from([UNSET, None]))  # a number has one forwarding target
    if action == "forward" and phone is None and sip is None:
        sip = UNSET
    return {
        "incoming_call_action": action,
        "client_websocket_url": websocket,
        "incoming_call_webhook_url": webhook,
        "forwarding_phone_number": phone,
        "forwarding_sip_uri": sip,
    }


# -- the oracle: what the files mean ---------------------------------------------------------


def expected_state(policies: list[Policy], holders: list[Holder]) -> DesiredState:
    by_name = {p.name: p for p in policies}
    numbers: dict[str, DesiredNumber] = {}
    agents: dict[str, DesiredAgent] = {}
    for h in holders:
        merged: dict[str, DesiredRules] | None = None
        if h.own is not None:
            cells: dict[tuple[str, Side], DesiredRule] = {}
            for name in h.use or ():
                cells.update(_cells(by_name[name].rules))
            cells.update(_cells(h.own))
            merged = {}
            for target in dict.fromkeys(t for t, _ in cells):
                inbound, outbound = cells.get((target, "inbound")), cells.get((target, "outbound"))
                merged[target] = _entry(inbound, outbound)
        want = dataclasses.replace(h.spec, rules=merged)
        want = dataclasses.replace(want, expect=_expect(want))
        if isinstance(want, DesiredNumber):
            numbers[want.number] = want
        else:
            agents[want.handle] = want
    return DesiredState(numbers, agents)


def _cells(rows: tuple[DesiredRule, ...]) -> dict[tuple[str, Side], DesiredRule]:
    return {(r.target, side): r for r in rows for side in SIDES_OF[r.direction]}


def _entry(inbound: DesiredRule | None, outbound: DesiredRule | None) -> DesiredRules:
    if inbound is outbound:
        assert inbound is not None
        return inbound
    narrowed = [
        None if r is None else dataclasses.replace(r, direction=side)
        for r, side in ((inbound, "inbound"), (outbound, "outbound"))
    ]
    if narrowed[0] is None or narrowed[1] is None:
        only = narrowed[0] or narrowed[1]
        assert only is not None
        return only
    return narrowed[0], narrowed[1]


_EXPECT_FIELDS = {
    ("inbound", "delivered"): "delivered",
    ("inbound", "blocked"): "blocked",
    ("outbound", "delivered"): "outbound_allowed",
    ("outbound", "blocked"): "outbound_blocked",
}


def _expect(want: DesiredNumber | DesiredAgent) -> Expectation | None:
    """Expectations that hold, per side: parties with an active rule on that side, and
    others when the side's mode decides (and no unnamed live rule could)."""
    if want.rules is None:
        return None
    lists: dict[str, list[str]] = {name: [] for name in _EXPECT_FIELDS.values()}
    stranger = "+999999999999999"  # a party no rule names
    for side in SIDES:
        mode = desired_mode(want, side)
        decided: list[tuple[str, str]] = []
        for target, entry in sorted(want.rules.items()):
            rule = on_side(entry, side)
            if rule is not None and rule.status == "active":
                decided.append((target, verdict("blacklist", Rule(rule.action))))
            elif isinstance(mode, Unset):
                continue
            elif rule is not None or want.unmanaged_rules == "delete":
                decided.append((target, verdict(mode, None)))
        known = not isinstance(mode, Unset) and want.unmanaged_rules == "delete"
        if known and stranger not in want.rules:
            decided.append((stranger, verdict(mode, None)))  # type: ignore[arg-type]
        for target, v in decided:
            lists[_EXPECT_FIELDS[side, v]].append(target)
    if not any(lists.values()):
        return None
    return Expectation(**{k: tuple(v) for k, v in lists.items()})


def strip_locations(state: DesiredState) -> DesiredState:
    def row(r: DesiredRule) -> DesiredRule:
        assert r.location is not None
        return dataclasses.replace(r, location=None)

    def strip(holder: Any) -> Any:
        assert holder.location is not None
        rules = None
        if holder.rules is not None:
            rules = {
                t: (row(e[0]), row(e[1])) if isinstance(e, tuple) else row(e)
                for t, e in holder.rules.items()
            }
        expect = dataclasses.replace(holder.expect, location=None) if holder.expect else None
        return dataclasses.replace(holder, location=None, rules=rules, expect=expect)

    return DesiredState(
        {k: strip(n) for k, n in state.numbers.items()},
        {k: strip(a) for k, a in state.agents.items()},
    )


# -- the dumper --------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def scalar(value: str, rnd: random.Random) -> str:
    """A YAML scalar for `value`: plain when YAML would read it back as this string, else quoted."""
    if (
        _PLAIN.match(value)
        and "$" not in value
        and type(yaml.safe_load(value)) is str
        and rnd.random() < 0.5
    ):
        return value
    return json.dumps(value.replace("$", "$$"), ensure_ascii=False)


def rule_entry(rule: DesiredRule, rnd: random.Random) -> str:
    plain = rule.status == "active" and rule.note is None and rule.direction == "both"
    if plain and rnd.random() < 0.7:
        return json.dumps(rule.target)
    parts = [f"target: {json.dumps(rule.target)}"]
    if rule.status != "active" or rnd.random() < 0.3:
        parts.append(f"status: {rule.status}")
    if rule.direction != "both" or rnd.random() < 0.3:
        parts.append(f"direction: {rule.direction}")
    if rule.note is not None:
        parts.append(f"note: {scalar(rule.note, rnd)}")
    rnd.shuffle(parts)
    return "{" + ", ".join(parts) + "}"


def rule_list(key: str, entries: list[DesiredRule], indent: str, rnd: random.Random) -> list[str]:
    if not entries or rnd.random() < 0.3:
        return [f"{indent}{key}: [{', '.join(rule_entry(r, rnd) for r in entries)}]"]
    return [f"{indent}{key}:", *(f"{indent}  - {rule_entry(r, rnd)}" for r in entries)]


def dump_policy(p: Policy, rnd: random.Random) -> list[str]:
    lines = [f"  {scalar(p.name, rnd)}:"]
    if p.description is not None:
        lines.append(f"    description: {scalar(p.description, rnd)}")
    for action in ("allow", "block"):
        entries = [r for r in p.rules if r.action == action]
        if entries or rnd.random() < 0.3:
            lines += rule_list(action, entries, "    ", rnd)
    if len(lines) == 1:
        lines[0] += " {}"
    return lines


_ROUTING = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "forwarding_phone_number",
    "forwarding_sip_uri",
)
_MODES = ("filter_mode", "inbound_filter_mode", "outbound_filter_mode")


def dump_holder(h: Holder, expect: Expectation | None, rnd: random.Random) -> list[str]:
    s = h.spec
    if isinstance(s, DesiredNumber):
        lines = [f"  {json.dumps(s.number)}:"]
        if s.agent is not None:
            lines.append(f"    agent: {scalar(s.agent, rnd)}")
        for field in _ROUTING:
            value = getattr(s, field)
            if value is not UNSET:
                lines.append(f"    {field}: {'null' if value is None else scalar(value, rnd)}")
    else:
        lines = [f"  {scalar(s.handle, rnd)}:"]
    for field in _MODES:
        value = getattr(s, field)
        if value is not UNSET:
            lines.append(f"    {field}: {value}")
    if h.use is not None:
        lines.append(f"    use: [{', '.join(scalar(u, rnd) for u in h.use)}]")
    for action in h.own_keys:
        lines += rule_list(action, [r for r in h.own or () if r.action == action], "    ", rnd)
    if h.write_unmanaged:
        lines.append(f"    unmanaged_rules: {s.unmanaged_rules}")
    if expect is not None:
        lines.append("    expect:")
        for kind in _EXPECT_FIELDS.values():
            callers = getattr(expect, kind)
            if callers or rnd.random() < 0.3:
                lines.append(f"      {kind}: [{', '.join(json.dumps(c) for c in callers)}]")
    if len(lines) == 1:
        lines[0] += " {}"
    return lines


def dump(
    policies: list[Policy], holders: list[Holder], state: DesiredState, seed: int
) -> dict[str, str]:
    """The manifest spread over up to three files (some may hold only `version: 1`)."""
    rnd = random.Random(seed)
    count = rnd.randint(1, 3)
    files: list[dict[str, list[str]]] = [
        {"policies": [], "numbers": [], "agents": []} for _ in range(count)
    ]
    for p in policies:
        files[rnd.randrange(count)]["policies"] += dump_policy(p, rnd)
    for h in holders:
        if isinstance(h.spec, DesiredNumber):
            section, expect = "numbers", state.numbers[h.spec.number].expect
        else:
            section, expect = "agents", state.agents[h.spec.handle].expect
        files[rnd.randrange(count)][section] += dump_holder(h, expect, rnd)
    out = {}
    for i, sections in enumerate(files):
        lines = ["# generated", "version: 1"]
        for section, body in sections.items():
            if body:
                lines += [f"{section}:", *body]
        out[f"f{i}.yaml"] = "\n".join(lines) + "\n"
    return out


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), st.integers(0, 2**32 - 1))
def test_dump_then_load_round_trips(manifest: tuple[list[Policy], list[Holder]], seed: int) -> None:
    policies, holders = manifest
    want = expected_state(policies, holders)
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in dump(policies, holders, want, seed).items():
            (Path(tmp) / name).write_text(content, encoding="utf-8")
        loaded = load_manifest_set([tmp], env={})
    assert strip_locations(loaded.state) == want
    assert loaded.policy_names == tuple(sorted(p.name for p in policies))
