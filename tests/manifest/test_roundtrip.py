"""Property: any valid manifest, dumped to YAML files and loaded, gives back its desired state.

Hypothesis generates the manifest as model objects (policies, numbers, rules,
expectations), a small dumper in this file writes it across one to three files
with varied but valid YAML styles, and an oracle written here (not the loader's
code) computes the DesiredState those files mean.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.model import (
    UNSET,
    CallAction,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    Expectation,
    Rule,
    Unset,
    verdict,
)

e164 = st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True)
policy_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,11}", fullmatch=True)
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


@dataclass(frozen=True)
class Policy:
    name: str
    description: str | None
    rules: tuple[DesiredRule, ...]


@dataclass(frozen=True)
class Number:
    spec: DesiredNumber  # rules holds only the number's own rules
    use: tuple[str, ...] | None
    own_keys: tuple[str, ...]  # which of allow/block are written
    write_unmanaged: bool


@st.composite
def rules(draw: st.DrawFn, targets: list[str], origin: str) -> tuple[DesiredRule, ...]:
    return tuple(
        DesiredRule(
            target,
            draw(st.sampled_from(["allow", "block"])),
            draw(st.sampled_from(["active", "paused"])),
            draw(st.none() | text),
            origin,
        )
        for target in targets
    )


@st.composite
def manifests(draw: st.DrawFn) -> tuple[list[Policy], list[Number]]:
    pool = draw(st.lists(e164, min_size=1, max_size=12, unique=True))
    names = draw(st.lists(policy_names, max_size=3, unique=True))
    # Policies get disjoint targets, so policies used together never disagree.
    random.Random(draw(st.integers(0, 2**16))).shuffle(pool)
    shares = [pool[i :: len(names) + 1] for i in range(len(names) + 1)]
    policies = [
        Policy(name, draw(st.none() | text), draw(rules(share, name)))
        for name, share in zip(names, shares, strict=False)
    ]
    numbers = [
        draw(number_specs(key, pool, names))
        for key in draw(st.lists(e164, min_size=1, max_size=4, unique=True))
    ]
    return policies, numbers


@st.composite
def number_specs(draw: st.DrawFn, key: str, pool: list[str], names: list[str]) -> Number:
    action: CallAction | Unset = draw(
        st.sampled_from([UNSET, "auto_reject", "auto_accept", "webhook"])
    )
    websocket = draw(st.sampled_from([UNSET, None]) | websocket_urls)
    webhook = draw(st.sampled_from([UNSET, None]) | webhook_urls)
    if action == "auto_accept" and websocket is None:
        websocket = "wss://agent.example.com/ws"  # null would be incoherent (and an error)
    if action == "webhook" and webhook is None:
        webhook = UNSET
    managed = draw(st.booleans())
    use: tuple[str, ...] | None = None
    own: dict[str, DesiredRule] | None = None
    keys: tuple[str, ...] = ()
    if managed:
        use = tuple(draw(st.permutations(names))[: draw(st.integers(0, len(names)))])
        targets = draw(st.lists(st.sampled_from(pool), unique=True))
        own = {r.target: r for r in draw(rules(targets, "number"))}
        keys = tuple(sorted({r.action for r in own.values()}))
        if not keys and not use:
            keys = (draw(st.sampled_from(["allow", "block"])),)  # `allow: []` manages rules
        if not use and keys and draw(st.booleans()):
            use = None  # no `use:` key at all, rather than `use: []`
    spec = DesiredNumber(
        number=key,
        agent=draw(st.none() | text.filter(bool)),
        incoming_call_action=action,
        client_websocket_url=websocket,
        incoming_call_webhook_url=webhook,
        filter_mode=draw(st.sampled_from([UNSET, "blacklist", "whitelist"])),
        rules=own,
        unmanaged_rules=draw(st.sampled_from(["delete", "keep"])) if managed else "delete",
    )
    write_unmanaged = managed and (spec.unmanaged_rules == "keep" or draw(st.booleans()))
    return Number(spec, use, keys, write_unmanaged)


# -- the oracle: what the files mean ---------------------------------------------------------


def expected_state(policies: list[Policy], numbers: list[Number]) -> DesiredState:
    by_name = {p.name: p for p in policies}
    out = {}
    for n in numbers:
        merged: dict[str, DesiredRule] | None = None
        if n.spec.rules is not None:
            merged = {}
            for name in n.use or ():
                merged.update({r.target: r for r in by_name[name].rules})
            merged.update(n.spec.rules)
        out[n.spec.number] = dataclasses.replace(n.spec, rules=merged, expect=_expect(n, merged))
    return DesiredState(out)


def _expect(n: Number, merged: dict[str, DesiredRule] | None) -> Expectation | None:
    """Expectations that hold: callers with an active rule, and others when the mode decides."""
    if merged is None:
        return None
    mode = n.spec.filter_mode
    decided: list[tuple[str, str]] = []
    for target, rule in sorted(merged.items()):
        if rule.status == "active":
            decided.append((target, verdict("blacklist", Rule(rule.action))))
        elif not isinstance(mode, Unset):
            decided.append((target, verdict(mode, None)))
    stranger = "+999999999999999"  # a caller no rule names
    if (
        not isinstance(mode, Unset)
        and n.spec.unmanaged_rules == "delete"
        and stranger not in merged
    ):
        decided.append((stranger, verdict(mode, None)))
    if not decided:
        return None
    return Expectation(
        tuple(t for t, v in decided if v == "delivered"),
        tuple(t for t, v in decided if v == "blocked"),
    )


def strip_locations(state: DesiredState) -> DesiredState:
    numbers = {}
    for key, n in state.numbers.items():
        assert n.location is not None
        rules = None
        if n.rules is not None:
            assert all(r.location is not None for r in n.rules.values())
            rules = {t: dataclasses.replace(r, location=None) for t, r in n.rules.items()}
        expect = dataclasses.replace(n.expect, location=None) if n.expect else None
        numbers[key] = dataclasses.replace(n, location=None, rules=rules, expect=expect)
    return DesiredState(numbers)


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
    if rule.status == "active" and rule.note is None and rnd.random() < 0.7:
        return json.dumps(rule.target)
    parts = [f"target: {json.dumps(rule.target)}"]
    if rule.status != "active" or rnd.random() < 0.3:
        parts.append(f"status: {rule.status}")
    if rule.note is not None:
        parts.append(f"note: {scalar(rule.note, rnd)}")
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


def dump_number(n: Number, expect: Expectation | None, rnd: random.Random) -> list[str]:
    s = n.spec
    lines = [f"  {json.dumps(s.number)}:"]
    if s.agent is not None:
        lines.append(f"    agent: {scalar(s.agent, rnd)}")
    for field in ("incoming_call_action", "client_websocket_url", "incoming_call_webhook_url"):
        value = getattr(s, field)
        if value is not UNSET:
            lines.append(f"    {field}: {'null' if value is None else scalar(value, rnd)}")
    if s.filter_mode is not UNSET:
        lines.append(f"    filter_mode: {s.filter_mode}")
    if n.use is not None:
        lines.append(f"    use: [{', '.join(scalar(u, rnd) for u in n.use)}]")
    own = list((s.rules or {}).values())
    for action in n.own_keys:
        lines += rule_list(action, [r for r in own if r.action == action], "    ", rnd)
    if n.write_unmanaged:
        lines.append(f"    unmanaged_rules: {s.unmanaged_rules}")
    if expect is not None:
        lines.append("    expect:")
        for kind in ("delivered", "blocked"):
            callers = getattr(expect, kind)
            if callers or rnd.random() < 0.5:
                lines.append(f"      {kind}: [{', '.join(json.dumps(c) for c in callers)}]")
    if len(lines) == 1:
        lines[0] += " {}"
    return lines


def dump(
    policies: list[Policy], numbers: list[Number], state: DesiredState, seed: int
) -> dict[str, str]:
    """The manifest spread over up to three files (some may hold only `version: 1`)."""
    rnd = random.Random(seed)
    count = rnd.randint(1, 3)
    files: list[dict[str, list[str]]] = [{"policies": [], "numbers": []} for _ in range(count)]
    for p in policies:
        files[rnd.randrange(count)]["policies"] += dump_policy(p, rnd)
    for n in numbers:
        expect = state.numbers[n.spec.number].expect
        files[rnd.randrange(count)]["numbers"] += dump_number(n, expect, rnd)
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
def test_dump_then_load_round_trips(manifest: tuple[list[Policy], list[Number]], seed: int) -> None:
    policies, numbers = manifest
    want = expected_state(policies, numbers)
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in dump(policies, numbers, want, seed).items():
            (Path(tmp) / name).write_text(content, encoding="utf-8")
        loaded = load_manifest_set([tmp], env={})
    assert strip_locations(loaded.state) == want
    assert loaded.policy_names == tuple(sorted(p.name for p in policies))
