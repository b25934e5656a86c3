"""Validated files -> one DesiredState: declarations merged, policies merged into holders.

The semantic checks that need more than one node live here: a number, agent or
policy declared twice (across files too), the same target and side twice in a
holder's or policy's rules (allow and block included), policies that disagree
about a target and side, unknown policy names, `filter_mode` beside a
directional mode, routing coherence, URLs, `unmanaged_rules` without managed
rules, an identity managed both under `agents:` and through its number, and
the `expect:` policy tests. Every problem names both places when there are two.

Rules are managed per (target, side). A holder's own rule for a target
replaces a policy's rule on the sides it covers, and only those: `allow
{t, inbound}` on a number using a policy that has `block t` leaves the
policy's block on the outbound side, as a one-way rule.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.expectations import check_expectations
from inkbox_sync.manifest.normalize import (
    is_e164,
    normalize_e164,
    sip_uri_problem,
    webhook_url_problem,
    websocket_url_problem,
)
from inkbox_sync.manifest.routing import routing_problem
from inkbox_sync.manifest.schema import AgentSpec, HolderSpec, NumberSpec, PolicySpec, RuleSpec
from inkbox_sync.manifest.structure import Checked
from inkbox_sync.manifest.yamlnodes import Document, MapPos, Mark, SeqPos, mark_of
from inkbox_sync.model import (
    SIDES,
    SIDES_OF,
    UNSET,
    Action,
    DesiredAgent,
    DesiredNumber,
    DesiredRule,
    DesiredRules,
    DesiredState,
    Expectation,
    FilterMode,
    Location,
    Side,
    Unset,
    Verdict,
    by_side,
    desired_mode,
    same_rule,
)

#: The `expect:` lists: which side each judges and the verdict it wants.
_EXPECT_LISTS: Final[tuple[tuple[str, Side, Verdict], ...]] = (
    ("delivered", "inbound", "delivered"),
    ("blocked", "inbound", "blocked"),
    ("outbound_allowed", "outbound", "delivered"),
    ("outbound_blocked", "outbound", "blocked"),
)
_H = TypeVar("_H", DesiredNumber, DesiredAgent)
_MODE_KEYS: Final = ("filter_mode", "inbound_filter_mode", "outbound_filter_mode")
#: The keys that make a holder manage policy (rules, modes or policy tests).
POLICY_KEYS: Final = (*_MODE_KEYS, "use", "allow", "block", "unmanaged_rules", "expect")


@dataclass(slots=True)
class _Declared:
    """A policy, number or agent as declared: where, and its parsed spec."""

    document: Document
    key: Mark
    pos: MapPos
    #: False when a problem was reported inside the entry, so it may be missing
    #: parts; checks that would misjudge a partial entry are skipped for it.
    complete: bool = True


@dataclass(slots=True)
class _Policy:
    declared: _Declared
    rules: dict[str, DesiredRules]


@dataclass(slots=True)
class Resolved:
    state: DesiredState
    policy_names: tuple[str, ...]
    diagnostics: list[Diagnostic] = field(default_factory=list)


def resolve(files: Sequence[Checked]) -> Resolved:
    """Merge every valid declaration of `files` into one desired state, collecting problems."""
    return _Resolver(files).run()


class _Resolver:
    def __init__(self, files: Sequence[Checked]) -> None:
        self.files = files
        self.diagnostics: list[Diagnostic] = []
        self.policies: dict[str, _Policy] = {}
        self.broken_policies: set[str] = set()
        #: Policies whose rule set may be partial; holders using them skip `expect:`.
        self.incomplete_policies: set[str] = set()
        self.key_locations: dict[tuple[Location, str], Location] = {}

    # -- helpers -------------------------------------------------------------

    def error(self, document: Document, mark: Mark, message: str) -> None:
        self.diagnostics.append(Diagnostic(document.file, mark[0] + 1, mark[1] + 1, message))

    @staticmethod
    def where(document: Document, mark: Mark) -> Location:
        return Location(document.file, mark[0] + 1, mark[1] + 1)

    # -- the passes ----------------------------------------------------------

    def run(self) -> Resolved:
        number_specs, agent_specs = self.declarations()
        numbers = {n: self.number(n, d, spec) for n, (d, spec) in number_specs.items()}
        agents = {h: self.agent(h, d, spec) for h, (d, spec) in agent_specs.items()}
        self.check_owners(number_specs, numbers, agents)
        state = DesiredState(numbers, agents, self.key_locations)
        return Resolved(state, tuple(sorted(self.policies)), self.diagnostics)

    def declarations(
        self,
    ) -> tuple[dict[str, tuple[_Declared, NumberSpec]], dict[str, tuple[_Declared, AgentSpec]]]:
        """Every policy, number and agent, each declared once across all files.

        Declarations are read from the position tree rather than the validated
        model, so an entry with errors of its own still counts as declared
        (no "unknown policy" for it, and its duplicates are still found).
        """
        policy_specs: list[tuple[str, _Declared, PolicySpec]] = []
        seen_policies: dict[str, _Declared] = {}
        numbers: dict[str, tuple[_Declared, NumberSpec]] = {}
        seen_numbers: dict[str, _Declared] = {}
        agents: dict[str, tuple[_Declared, AgentSpec]] = {}
        seen_agents: dict[str, _Declared] = {}
        for checked in self.files:
            manifest = checked.manifest
            for name, declared in _entries(checked, "policies"):
                if not self.first_declaration(seen_policies, name, declared, f"policy {name!r}"):
                    continue
                policy = manifest.policies.get(name) if manifest is not None else None
                if policy is None:
                    self.broken_policies.add(name)
                    self.incomplete_policies.add(name)
                else:
                    policy_specs.append((name, declared, policy))
            for raw, declared in _entries(checked, "numbers"):
                number = normalize_e164(raw)
                if number is None:
                    continue  # reported by the structural check
                also = "" if raw == number else f" (written {raw!r})"
                if not self.first_declaration(
                    seen_numbers, number, declared, f"number {number}{also}"
                ):
                    continue
                spec = manifest.numbers.get(raw) if manifest is not None else None
                if spec is not None:
                    numbers[number] = (declared, spec)
            for handle, declared in _entries(checked, "agents"):
                if not self.first_declaration(seen_agents, handle, declared, f"agent {handle!r}"):
                    continue
                agent = manifest.agents.get(handle) if manifest is not None else None
                if agent is not None:
                    agents[handle] = (declared, agent)
        for name, declared, policy in policy_specs:
            before = len(self.diagnostics)
            rules = self.rule_lists(declared, policy.allow, policy.block, name, f"policy {name!r}")
            self.policies[name] = _Policy(declared, rules)
            if not declared.complete or len(self.diagnostics) > before:
                self.incomplete_policies.add(name)
        return numbers, agents

    def first_declaration(
        self, seen: dict[str, _Declared], key: str, declared: _Declared, what: str
    ) -> bool:
        """True the first time `key` is declared; an error naming both places after."""
        first = seen.get(key)
        if first is None:
            seen[key] = declared
            return True
        self.error(
            declared.document,
            declared.key,
            f"{what} is declared twice: here and at {self.where(first.document, first.key)}",
        )
        return False

    def rule_lists(
        self,
        declared: _Declared,
        allow: Sequence[str | RuleSpec],
        block: Sequence[str | RuleSpec],
        origin: str,
        owner: str,
    ) -> dict[str, DesiredRules]:
        """The rules of one allow/block pair, each (target, side) at most once."""
        document = declared.document
        file = document.file
        rules: dict[str, DesiredRules] = {}
        action: Action
        for action, entries in (("allow", allow), ("block", block)):
            if not entries:
                continue
            seq = declared.pos.values[action]
            assert isinstance(seq, SeqPos)
            for entry, pos in zip(entries, seq.items, strict=True):
                mark = mark_of(pos)
                location = Location(file, mark[0] + 1, mark[1] + 1)
                if isinstance(entry, str):
                    target = entry if is_e164(entry) else normalize_e164(entry)
                    assert target is not None
                    rule = DesiredRule(target, action, "active", None, origin, location)
                else:
                    target = normalize_e164(entry.target)
                    assert target is not None
                    rule = DesiredRule(
                        target,
                        action,
                        entry.status,
                        entry.note,
                        origin,
                        location,
                        entry.direction,
                    )
                    if entry.direction != "both":
                        assert isinstance(pos, MapPos)
                        self.key_locations[(location, "direction")] = self.where(
                            document, pos.keys["direction"]
                        )
                first = rules.get(target)
                if first is None:
                    rules[target] = rule
                    continue
                inbound, outbound = by_side(first)
                covered = {"inbound": inbound, "outbound": outbound}
                clash = [s for s in SIDES_OF[rule.direction] if covered[s] is not None]
                if clash:
                    taken = covered[clash[0]]
                    assert taken is not None
                    self.error(document, mark, _twice(target, owner, taken, action, clash))
                    continue
                for side in SIDES_OF[rule.direction]:
                    covered[side] = rule
                combined = _entry(covered["inbound"], covered["outbound"])
                assert combined is not None
                rules[target] = combined
        return rules

    def number(self, number: str, declared: _Declared, spec: NumberSpec) -> DesiredNumber:
        before = len(self.diagnostics)
        document = declared.document
        location = self.where(document, declared.key)
        self.record_keys(location, declared)
        given = spec.model_fields_set
        self.check_urls(declared, spec)
        websocket = spec.client_websocket_url if "client_websocket_url" in given else UNSET
        webhook = spec.incoming_call_webhook_url if "incoming_call_webhook_url" in given else UNSET
        phone: str | Unset | None = UNSET
        if "forwarding_phone_number" in given:
            raw = spec.forwarding_phone_number
            phone = None if raw is None else normalize_e164(raw)
        sip = spec.forwarding_sip_uri if "forwarding_sip_uri" in given else UNSET
        action = spec.incoming_call_action if spec.incoming_call_action is not None else UNSET
        routing = DesiredNumber(
            number,
            location,
            spec.agent,
            incoming_call_action=action,
            client_websocket_url=websocket,
            incoming_call_webhook_url=webhook,
            forwarding_phone_number=phone,
            forwarding_sip_uri=sip,
        )
        problem = routing_problem(routing)
        if problem is not None:
            lines = [
                str(mark_of(declared.pos.values[f])[0] + 1)
                for f in problem.related
                if f in declared.pos.values
            ]
            shown = f" (line{'s' if len(lines) > 1 else ''} {', '.join(lines)})" if lines else ""
            at = mark_of(declared.pos.values[problem.field])
            self.error(document, at, problem.message + shown)
        return self.with_policy(routing, declared, spec, "number", f"number {number}", before)

    def agent(self, handle: str, declared: _Declared, spec: AgentSpec) -> DesiredAgent:
        before = len(self.diagnostics)
        location = self.where(declared.document, declared.key)
        self.record_keys(location, declared)
        agent = DesiredAgent(handle, location)
        return self.with_policy(agent, declared, spec, "agent", f"agent {handle!r}", before)

    def with_policy(
        self, holder: _H, declared: _Declared, spec: HolderSpec, noun: str, owner: str, before: int
    ) -> _H:
        """`holder` with the policy its entry declares; its `expect:` checked when nothing
        since `before` (the count of diagnostics when the entry started) went wrong."""
        shared, inbound, outbound = self.modes(declared, spec, noun)
        rules = self.holder_rules(declared, spec, noun, owner)
        sound = len(self.diagnostics) == before
        expect, expect_marks = self.expectation(declared, spec)
        result = dataclasses.replace(
            holder,
            filter_mode=shared,
            inbound_filter_mode=inbound,
            outbound_filter_mode=outbound,
            rules=rules,
            unmanaged_rules=spec.unmanaged_rules or "delete",
            expect=expect,
        )
        if sound:
            self.check_expect(declared, spec, result, expect_marks)
        return result

    def record_keys(self, location: Location, declared: _Declared) -> None:
        for key, mark in declared.pos.keys.items():
            self.key_locations[(location, key)] = self.where(declared.document, mark)

    def modes(
        self, declared: _Declared, spec: HolderSpec, noun: str
    ) -> tuple[FilterMode | Unset, FilterMode | Unset, FilterMode | Unset]:
        """(filter_mode, inbound_filter_mode, outbound_filter_mode); never both kinds."""
        if spec.filter_mode is not None:
            shared_at = self.where(declared.document, declared.pos.keys["filter_mode"])
            for key in ("inbound_filter_mode", "outbound_filter_mode"):
                if getattr(spec, key) is not None:
                    self.error(
                        declared.document,
                        declared.pos.keys[key],
                        f"{key} and filter_mode (at {shared_at}) cannot both be set on one "
                        f"{noun}: filter_mode sets both sides; write inbound_filter_mode and "
                        "outbound_filter_mode instead",
                    )
        values = (spec.filter_mode, spec.inbound_filter_mode, spec.outbound_filter_mode)
        shared, inbound, outbound = (UNSET if v is None else v for v in values)
        return shared, inbound, outbound

    def check_urls(self, declared: _Declared, spec: NumberSpec) -> None:
        for name, check in (
            ("client_websocket_url", websocket_url_problem),
            ("incoming_call_webhook_url", webhook_url_problem),
            ("forwarding_sip_uri", sip_uri_problem),
        ):
            value = getattr(spec, name)
            if isinstance(value, str):
                problem = check(value)
                if problem is not None:
                    mark = mark_of(declared.pos.values[name])
                    self.error(declared.document, mark, f"{name}: {problem}")

    def holder_rules(
        self, declared: _Declared, spec: HolderSpec, noun: str, owner: str
    ) -> dict[str, DesiredRules] | None:
        """The holder's rules with its policies merged in, or None when not managed."""
        managed = spec.allow is not None or spec.block is not None or spec.use is not None
        # (Not for an incomplete entry: its allow/block/use may be what was dropped.)
        if spec.unmanaged_rules is not None and not managed and declared.complete:
            self.error(
                declared.document,
                declared.pos.keys["unmanaged_rules"],
                f"unmanaged_rules applies only when the {noun} manages its rules; add allow, "
                "block or use (`allow: []` manages rules with none allowed)",
            )
        return self.merged_rules(declared, spec, noun, owner) if managed else None

    def merged_rules(
        self, declared: _Declared, spec: HolderSpec, noun: str, owner: str
    ) -> dict[str, DesiredRules]:
        """Policies in `use` order, then the holder's own rules, which win for their
        (target, side) cells."""
        document = declared.document
        own = self.rule_lists(declared, spec.allow or (), spec.block or (), "number", owner)
        merged: dict[str, DesiredRules] = {}
        use_pos = declared.pos.values.get("use")
        listed: dict[str, Mark] = {}
        for i, name in enumerate(spec.use or ()):
            assert isinstance(use_pos, SeqPos)
            mark = mark_of(use_pos.items[i])
            if name in listed:
                first = listed[name]
                self.error(
                    document,
                    mark,
                    f"policy {name!r} is listed twice in use (also line {first[0] + 1})",
                )
                continue
            listed[name] = mark
            policy = self.policies.get(name)
            if policy is None:
                if name not in self.broken_policies:  # its own errors are reported already
                    self.error(document, mark, self.unknown_policy(name))
                continue
            for target, entry in policy.rules.items():
                mine = own.get(target)
                if mine is not None and type(mine) is DesiredRule and mine.direction == "both":
                    continue  # the holder decides every side of this target
                first_entry = merged.get(target)
                if first_entry is None and mine is None:
                    merged[target] = entry
                    continue
                combined, clashes = _merge_policy_rule(first_entry, entry, mine)
                for side, had, theirs in clashes:
                    self.error(document, mark, _disagree(target, side, had, theirs, noun))
                if combined is not None:
                    merged[target] = combined
        # The holder's own rules replace the policies' on the sides they cover.
        overlap = {
            target: _entry(*_over(by_side(own[target]), by_side(theirs)))
            for target, theirs in merged.items()
            if target in own
        }
        merged.update(own)
        merged.update(overlap)  # type: ignore[arg-type]
        return merged

    def unknown_policy(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.policies), n=1, cutoff=0.75)
        if close:
            return f"unknown policy {name!r} (did you mean {close[0]!r}?)"
        if self.policies:
            return f"unknown policy {name!r}; declared policies: {', '.join(sorted(self.policies))}"
        return f"unknown policy {name!r}: no policies are declared in the files given"

    def expectation(
        self, declared: _Declared, spec: HolderSpec
    ) -> tuple[Expectation | None, dict[tuple[Side, str], Mark]]:
        """The expect: block, and where each (side, party) was written (for its diagnostic)."""
        if spec.expect is None:
            return None, {}
        document = declared.document
        block = declared.pos.values["expect"]
        assert isinstance(block, MapPos)
        location = self.where(document, declared.pos.keys["expect"])
        for key, mark in block.keys.items():
            self.key_locations[(location, key)] = self.where(document, mark)
        marks: dict[tuple[Side, str], Mark] = {}
        kinds: dict[tuple[Side, str], str] = {}
        lists: dict[str, list[str]] = {kind: [] for kind, _, _ in _EXPECT_LISTS}
        for kind, side, _ in _EXPECT_LISTS:
            entries = getattr(spec.expect, kind)
            if not entries:
                continue
            seq = block.values[kind]
            assert isinstance(seq, SeqPos)
            for raw, pos in zip(entries, seq.items, strict=True):
                mark = mark_of(pos)
                caller = normalize_e164(raw)
                assert caller is not None
                if (side, caller) in marks:
                    where = self.where(document, marks[side, caller])
                    self.error(
                        document,
                        mark,
                        f"expect: {caller} is listed twice "
                        f"({kinds[side, caller]} at {where}, {kind} here)",
                    )
                    continue
                marks[side, caller] = mark
                kinds[side, caller] = kind
                lists[kind].append(caller)
        expectation = Expectation(
            tuple(lists["delivered"]),
            tuple(lists["blocked"]),
            location,
            tuple(lists["outbound_allowed"]),
            tuple(lists["outbound_blocked"]),
        )
        return expectation, marks

    def check_expect(
        self,
        declared: _Declared,
        spec: HolderSpec,
        holder: DesiredNumber | DesiredAgent,
        marks: dict[tuple[Side, str], Mark],
    ) -> None:
        """Policy tests against the desired policy; each broken one at its entry.

        They judge the whole policy; with any part of it in error they would report
        follow-on noise, so they wait until the errors are fixed.
        """
        if not declared.complete or self.incomplete_policies.intersection(spec.use or ()):
            return
        inbound, outbound = (desired_mode(holder, side) for side in SIDES)
        broken = check_expectations(
            holder,
            None if isinstance(inbound, Unset) else inbound,
            outbound_mode=None if isinstance(outbound, Unset) else outbound,
        )
        for problem in broken:
            self.error(declared.document, marks[problem.side, problem.caller], problem.message)

    def check_owners(
        self,
        specs: dict[str, tuple[_Declared, NumberSpec]],
        numbers: dict[str, DesiredNumber],
        agents: dict[str, DesiredAgent],
    ) -> None:
        """An identity's policy is managed in one place: under `agents:` or through its
        number. A number that names the agent only to assert its owner (and manages
        routing) is fine beside the `agents:` entry."""
        for number, (declared, spec) in specs.items():
            handle = numbers[number].agent
            agent = agents.get(handle) if handle is not None else None
            if agent is None:
                continue
            keys = [k for k in POLICY_KEYS if k in spec.model_fields_set]
            if not keys:
                continue
            self.error(
                declared.document,
                mark_of(declared.pos.values["agent"]),
                f"agent {handle!r} is declared under agents: at {agent.location}, and number "
                f"{number} also manages its policy ({', '.join(keys)}); manage it in one place: "
                "move those keys under agents:, or remove the agents: entry (a number may "
                "keep `agent:` beside it, to assert its owner)",
            )


def _merge_policy_rule(
    first: DesiredRules | None, entry: DesiredRules, mine: DesiredRules | None
) -> tuple[DesiredRules | None, Sequence[tuple[Side | None, DesiredRule, DesiredRule]]]:
    """A later policy's rules for a target merged, per side, into the earlier
    policies' (`first`), skipping the sides the holder's own rule (`mine`) covers:
    (the merged entry, the disagreements: side (None: both), earlier rule, later rule)."""
    mine_sides = by_side(mine)
    current = list(by_side(first))
    clashes: list[tuple[Side, DesiredRule, DesiredRule]] = []
    for i, (side, theirs) in enumerate(zip(SIDES, by_side(entry), strict=True)):
        if theirs is None or mine_sides[i] is not None:
            continue
        had = current[i]
        if had is None:
            current[i] = theirs
        elif not same_rule(had, theirs):
            clashes.append((side, had, theirs))
    if len(clashes) == 2 and clashes[0][1:] == clashes[1][1:]:
        return _entry(current[0], current[1]), [(None, clashes[0][1], clashes[0][2])]
    return _entry(current[0], current[1]), clashes


def _over(
    mine: tuple[DesiredRule | None, DesiredRule | None],
    theirs: tuple[DesiredRule | None, DesiredRule | None],
) -> tuple[DesiredRule | None, DesiredRule | None]:
    """Per side, the holder's own rule where it has one, else the policies'."""
    return (mine[0] or theirs[0], mine[1] or theirs[1])


def _entry(inbound: DesiredRule | None, outbound: DesiredRule | None) -> DesiredRules | None:
    """The entry for these per-side rules; a rule kept for one side only (a policy's
    `both` rule the holder overrides on the other side) becomes a one-way rule."""
    if inbound is outbound:
        return inbound
    if inbound is not None and inbound.direction != "inbound":
        inbound = dataclasses.replace(inbound, direction="inbound")
    if outbound is not None and outbound.direction != "outbound":
        outbound = dataclasses.replace(outbound, direction="outbound")
    if inbound is None:
        return outbound
    if outbound is None:
        return inbound
    return inbound, outbound


def _entries(checked: Checked, section: str) -> Iterator[tuple[str, _Declared]]:
    """The keys of a top-level section as written, in order, with their positions."""
    root = checked.document.pos
    if not isinstance(root, MapPos):
        return
    entries = root.values.get(section)
    if not isinstance(entries, MapPos):
        return
    if not entries.keys:
        return
    problems = sorted(checked.problems)
    # An entry spans from its key to the next entry's key (the last one, to the
    # next top-level key); a problem in that span makes it incomplete.
    top = list(root.keys.values())
    after = [m for m in top if m > root.keys[section]]
    ends = [*list(entries.keys.values())[1:], min(after, default=(1 << 62, 0))]
    for (key, start), end in zip(entries.keys.items(), ends, strict=True):
        pos = entries.values[key]
        at = bisect.bisect_left(problems, start)
        complete = at == len(problems) or problems[at] >= end
        yield (
            key,
            _Declared(
                checked.document,
                start,
                pos if isinstance(pos, MapPos) else MapPos(start),
                complete,
            ),
        )


def _twice(
    target: str, owner: str, first: DesiredRule, action: Action, sides: Sequence[Side]
) -> str:
    on = "" if len(sides) == 2 else f" (both cover {sides[0]})"
    if first.action == action:
        return f"{target} is listed twice in {action} of {owner}: here and at {first.location}{on}"
    return (
        f"{target} is in both allow and block of {owner}: "
        f"{first.action} at {first.location}, {action} here{on}"
    )


def _disagree(
    target: str, side: Side | None, first: DesiredRule, second: DesiredRule, noun: str
) -> str:
    on = "" if side is None else f" ({side})"
    return (
        f"policies {first.origin!r} and {second.origin!r} disagree on {target}{on}: "
        f"{first.status} {first.action} at {first.location}, "
        f"{second.status} {second.action} at {second.location}; "
        f"write the rule on the {noun} to decide"
    )
