"""Validated files -> one DesiredState: declarations merged, policies merged into numbers.

The semantic checks that need more than one node live here: a number or policy
declared twice (across files too), the same caller twice in a list or in both
allow and block, policies that disagree about a caller, unknown policy names,
routing coherence, URLs, `unmanaged_rules` without managed rules, and the
`expect:` policy tests. Every problem names both places when there are two.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.expectations import check_expectations
from inkbox_sync.manifest.normalize import (
    is_e164,
    normalize_e164,
    webhook_url_problem,
    websocket_url_problem,
)
from inkbox_sync.manifest.routing import routing_problem
from inkbox_sync.manifest.schema import NumberSpec, PolicySpec, RuleSpec
from inkbox_sync.manifest.structure import Checked
from inkbox_sync.manifest.yamlnodes import Document, MapPos, Mark, SeqPos, mark_of
from inkbox_sync.model import (
    UNSET,
    Action,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    Expectation,
    Location,
    RuleStatus,
)


@dataclass(slots=True)
class _Declared:
    """A policy or number as declared: where, and its parsed spec."""

    document: Document
    key: Mark
    pos: MapPos
    #: False when a problem was reported inside the entry, so it may be missing
    #: parts; checks that would misjudge a partial entry are skipped for it.
    complete: bool = True


@dataclass(slots=True)
class _Policy:
    declared: _Declared
    rules: dict[str, DesiredRule]


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
        #: Policies whose rule set may be partial; numbers using them skip `expect:`.
        self.incomplete_policies: set[str] = set()

    # -- helpers -------------------------------------------------------------

    def error(self, document: Document, mark: Mark, message: str) -> None:
        self.diagnostics.append(Diagnostic(document.file, mark[0] + 1, mark[1] + 1, message))

    @staticmethod
    def where(document: Document, mark: Mark) -> Location:
        return Location(document.file, mark[0] + 1, mark[1] + 1)

    # -- the passes ----------------------------------------------------------

    def run(self) -> Resolved:
        number_specs = self.declarations()
        numbers: dict[str, DesiredNumber] = {}
        for number, (declared, spec) in number_specs.items():
            numbers[number] = self.number(number, declared, spec)
        return Resolved(DesiredState(numbers), tuple(sorted(self.policies)), self.diagnostics)

    def declarations(self) -> dict[str, tuple[_Declared, NumberSpec]]:
        """Every policy and number, each declared once across all files.

        Declarations are read from the position tree rather than the validated
        model, so an entry with errors of its own still counts as declared
        (no "unknown policy" for it, and its duplicates are still found).
        """
        policy_specs: list[tuple[str, _Declared, PolicySpec]] = []
        seen_policies: dict[str, _Declared] = {}
        numbers: dict[str, tuple[_Declared, NumberSpec]] = {}
        seen_numbers: dict[str, _Declared] = {}
        for checked in self.files:
            document = checked.document
            manifest = checked.manifest
            for name, declared in _entries(checked, "policies"):
                first = seen_policies.get(name)
                if first is not None:
                    self.error(
                        document,
                        declared.key,
                        f"policy {name!r} is declared twice: here and at "
                        f"{self.where(first.document, first.key)}",
                    )
                    continue
                seen_policies[name] = declared
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
                first = seen_numbers.get(number)
                if first is not None:
                    also = "" if raw == number else f" (written {raw!r})"
                    self.error(
                        document,
                        declared.key,
                        f"number {number}{also} is declared twice: here and at "
                        f"{self.where(first.document, first.key)}",
                    )
                    continue
                seen_numbers[number] = declared
                spec = manifest.numbers.get(raw) if manifest is not None else None
                if spec is not None:
                    numbers[number] = (declared, spec)
        for name, declared, policy in policy_specs:
            before = len(self.diagnostics)
            rules = self.rule_lists(declared, policy.allow, policy.block, name, f"policy {name!r}")
            self.policies[name] = _Policy(declared, rules)
            if not declared.complete or len(self.diagnostics) > before:
                self.incomplete_policies.add(name)
        return numbers

    def rule_lists(
        self,
        declared: _Declared,
        allow: Sequence[str | RuleSpec],
        block: Sequence[str | RuleSpec],
        origin: str,
        owner: str,
    ) -> dict[str, DesiredRule]:
        """The rules of one allow/block pair, each caller at most once."""
        document = declared.document
        file = document.file
        rules: dict[str, DesiredRule] = {}
        action: Action
        for action, entries in (("allow", allow), ("block", block)):
            if not entries:
                continue
            seq = declared.pos.values[action]
            assert isinstance(seq, SeqPos)
            for entry, pos in zip(entries, seq.items, strict=True):
                mark = mark_of(pos)
                status: RuleStatus = "active"
                note: str | None = None
                if isinstance(entry, str):
                    raw = entry
                else:
                    raw, status, note = entry.target, entry.status, entry.note
                target = raw if is_e164(raw) else normalize_e164(raw)
                assert target is not None
                first = rules.get(target)
                if first is not None:
                    self.error(document, mark, _twice(target, owner, first, action))
                    continue
                location = Location(file, mark[0] + 1, mark[1] + 1)
                rules[target] = DesiredRule(target, action, status, note, origin, location)
        return rules

    def number(self, number: str, declared: _Declared, spec: NumberSpec) -> DesiredNumber:
        before = len(self.diagnostics)
        document = declared.document
        values = declared.pos.values
        given = spec.model_fields_set
        self.check_urls(declared, spec)
        websocket = spec.client_websocket_url if "client_websocket_url" in given else UNSET
        webhook = spec.incoming_call_webhook_url if "incoming_call_webhook_url" in given else UNSET
        action = spec.incoming_call_action if spec.incoming_call_action is not None else UNSET
        problem = routing_problem(action, websocket, webhook)
        if problem is not None:
            needed = (
                "client_websocket_url" if action == "auto_accept" else "incoming_call_webhook_url"
            )
            null_at = mark_of(values[needed])
            self.error(
                document,
                mark_of(values["incoming_call_action"]),
                f"{problem} (line {null_at[0] + 1})",
            )
        managed = spec.allow is not None or spec.block is not None or spec.use is not None
        # (Not for an incomplete entry: its allow/block/use may be what was dropped.)
        if spec.unmanaged_rules is not None and not managed and declared.complete:
            self.error(
                document,
                declared.pos.keys["unmanaged_rules"],
                "unmanaged_rules applies only when the number manages its rules; add allow, "
                "block or use (`allow: []` manages rules with none allowed)",
            )
        rules = self.number_rules(number, declared, spec) if managed else None
        sound = len(self.diagnostics) == before
        expect, expect_marks = self.expectation(declared, spec)
        result = DesiredNumber(
            number=number,
            location=self.where(document, declared.key),
            agent=spec.agent,
            incoming_call_action=action,
            client_websocket_url=websocket,
            incoming_call_webhook_url=webhook,
            filter_mode=spec.filter_mode if spec.filter_mode is not None else UNSET,
            rules=rules,
            unmanaged_rules=spec.unmanaged_rules or "delete",
            expect=expect,
        )
        # Policy tests judge the whole policy; with any part of it in error they
        # would report follow-on noise, so they wait until the errors are fixed.
        complete = (
            declared.complete
            and sound
            and not self.incomplete_policies.intersection(spec.use or ())
        )
        if complete:
            self.check_expect(declared, result, expect_marks)
        return result

    def check_urls(self, declared: _Declared, spec: NumberSpec) -> None:
        for name, check in (
            ("client_websocket_url", websocket_url_problem),
            ("incoming_call_webhook_url", webhook_url_problem),
        ):
            value = getattr(spec, name)
            if isinstance(value, str):
                problem = check(value)
                if problem is not None:
                    mark = mark_of(declared.pos.values[name])
                    self.error(declared.document, mark, f"{name}: {problem}")

    def number_rules(
        self, number: str, declared: _Declared, spec: NumberSpec
    ) -> dict[str, DesiredRule]:
        """Policies in `use` order, then the number's own rules, which win for their callers."""
        document = declared.document
        own = self.rule_lists(
            declared, spec.allow or (), spec.block or (), "number", f"number {number}"
        )
        merged: dict[str, DesiredRule] = {}
        uses = spec.use or []
        use_pos = declared.pos.values.get("use")
        listed: dict[str, Mark] = {}
        for i, name in enumerate(uses):
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
            for target, rule in policy.rules.items():
                if target in own:
                    continue
                first_rule = merged.get(target)
                if first_rule is None:
                    merged[target] = rule
                elif first_rule.rule != rule.rule:
                    self.error(document, mark, _disagree(target, first_rule, rule))
        merged.update(own)
        return merged

    def unknown_policy(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.policies), n=1, cutoff=0.75)
        if close:
            return f"unknown policy {name!r} (did you mean {close[0]!r}?)"
        if self.policies:
            return f"unknown policy {name!r}; declared policies: {', '.join(sorted(self.policies))}"
        return f"unknown policy {name!r}: no policies are declared in the files given"

    def expectation(
        self, declared: _Declared, spec: NumberSpec
    ) -> tuple[Expectation | None, dict[str, Mark]]:
        """The expect: block, and where each caller was written (for its diagnostic)."""
        if spec.expect is None:
            return None, {}
        document = declared.document
        block = declared.pos.values["expect"]
        assert isinstance(block, MapPos)
        marks: dict[str, Mark] = {}
        kinds: dict[str, str] = {}
        lists: dict[str, list[str]] = {"delivered": [], "blocked": []}
        for kind, entries in (
            ("delivered", spec.expect.delivered),
            ("blocked", spec.expect.blocked),
        ):
            if not entries:
                continue
            seq = block.values[kind]
            assert isinstance(seq, SeqPos)
            for raw, pos in zip(entries, seq.items, strict=True):
                mark = mark_of(pos)
                caller = normalize_e164(raw)
                assert caller is not None
                if caller in marks:
                    where = self.where(document, marks[caller])
                    self.error(
                        document,
                        mark,
                        f"expect: {caller} is listed twice ({kinds[caller]} at {where}, {kind} here)",
                    )
                    continue
                marks[caller] = mark
                kinds[caller] = kind
                lists[kind].append(caller)
        expectation = Expectation(
            tuple(lists["delivered"]),
            tuple(lists["blocked"]),
            self.where(document, declared.pos.keys["expect"]),
        )
        return expectation, marks

    def check_expect(
        self, declared: _Declared, number: DesiredNumber, marks: dict[str, Mark]
    ) -> None:
        """Policy tests against the desired policy; each broken one at its entry."""
        mode = number.filter_mode if number.filter_mode is not UNSET else None
        for problem in check_expectations(number, mode):
            self.error(declared.document, marks[problem.caller], problem.message)


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


def _twice(target: str, owner: str, first: DesiredRule, action: Action) -> str:
    if first.action == action:
        return f"{target} is listed twice in {action} of {owner}: here and at {first.location}"
    return (
        f"{target} is in both allow and block of {owner}: "
        f"{first.action} at {first.location}, {action} here"
    )


def _disagree(target: str, first: DesiredRule, second: DesiredRule) -> str:
    return (
        f"policies {first.origin!r} and {second.origin!r} disagree on {target}: "
        f"{first.status} {first.action} at {first.location}, "
        f"{second.status} {second.action} at {second.location}; "
        "write the rule on the number to decide"
    )
