"""Wording shared by the text and Markdown renderers, so both say the same thing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from inkbox_sync.model import Direction, Verdict
from inkbox_sync.plan import (
    CallerEffect,
    FieldChange,
    NumberChange,
    Plan,
    PlanWarning,
    RuleChange,
    SafetyReport,
    Staging,
    Step,
)
from inkbox_sync.redact import redact_url

SYMBOL = {"create": "+", "update": "~", "delete": "-"}

#: Writes of one (holder, target): what a rule change becomes, with plan step numbers.
Chain = list[tuple[int, Step]]


def show(value: str | None) -> str:
    return "(empty)" if value is None else value


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def field_line(change: FieldChange) -> str:
    line = f"{change.field}: {show(change.before)} -> {show(change.after)}"
    before, after = change.before, change.after
    if before and after and "://" in before and redact_url(before) == redact_url(after):
        # Output shows URLs redacted: say why two identical-looking URLs are a change.
        line += "  (they differ in the hidden userinfo, query or fragment)"
    return line


def rule_line(change: RuleChange) -> str:
    scope = "" if change.direction == "both" else f" ({change.direction})"
    if change.kind == "create":
        assert change.after is not None
        text = f"{change.after.action} {change.target}{scope}"
        if change.after.status == "paused":
            text += " (paused)"
    elif change.kind == "delete":
        assert change.before is not None
        text = f"{change.before.action} {change.target}{scope}"
        if change.before.status == "paused":
            text += " (paused)"
    else:
        assert change.before is not None and change.after is not None
        text = (
            f"{change.target}{scope}: {change.before.action}/{change.before.status} -> "
            f"{change.after.action}/{change.after.status}"
        )
    if change.origin and change.origin != "number":
        text += f"  [policy {change.origin}]"
    if change.note:
        text += f"  # {change.note}"
    return text


def chains(steps: Sequence[Step]) -> dict[tuple[str, str], Chain]:
    """Each (holder, target)'s writes in plan order, numbered as the plan numbers them."""
    out: dict[tuple[str, str], Chain] = {}
    for number, step in enumerate(steps, 1):
        if step.target is not None:
            out.setdefault((step.number, step.target), []).append((number, step))
    return out


def staging_words(change: RuleChange, chain: Chain, staging: Staging) -> str | None:
    """Why a staged (or re-activated) rule takes the writes it does, in words; None
    when its writes need no explaining."""
    if not chain:
        return None
    after, before = change.after, change.before
    numbers = [n for n, _ in chain]
    where = f"step {numbers[0]}" if len(numbers) == 1 else f"steps {numbers[0]}-{numbers[-1]}"
    first = chain[0][1]
    if after is not None and after.status == "paused":
        if staging == "harmless_active_row":
            harmless = first.action or (before.action if before else None)
            return (
                f"staged: this API cannot write a paused status, so it is an active "
                f"{harmless} rule, the harmless action here (it changes nobody) ({where})"
            )
        kinds = [step.kind for _, step in chain]
        if kinds == ["create_rule", "update_rule"]:
            last = chain[-1][1]
            given = (
                f" and given {last.action}" if last.action and last.action != first.action else ""
            )
            return (
                f"staged: created as an active {first.action} rule, the harmless action "
                f"(it changes nobody), then paused{given} ({where})"
            )
        return None
    if (
        before is not None
        and before.status == "paused"
        and after is not None
        and after.status == "active"
        and [step.kind for _, step in chain][:2] == ["delete_rule", "create_rule"]
    ):
        return (
            "activated: this API cannot make a paused rule active, so it is deleted "
            f"and created again ({where})"
        )
    return None


def verdict_word(verdict: Verdict, side: Direction) -> str:
    """Inbound a party is delivered or blocked; outbound the agent is allowed or blocked."""
    return "allowed" if side == "outbound" and verdict == "delivered" else verdict


def effect_line(effect: CallerEffect) -> str:
    """One party's change; a side is named only where the two sides differ."""
    who = "everyone else" if effect.caller is None else effect.caller
    if effect.side != "both":
        who += f" {effect.side}"
    before = verdict_word(effect.before, effect.side)
    after = verdict_word(effect.after, effect.side)
    if effect.before == effect.after:
        return f"{who}: {after} (unchanged)"
    return f"{who}: {before} -> {after}"


def effects_in_brief(change: NumberChange) -> str:
    """`3 callers delivered -> blocked, everyone else delivered -> blocked`."""
    moves: Counter[str] = Counter()
    rest = ""
    for effect in change.effects:
        if effect.before == effect.after:
            continue
        side = "" if effect.side == "both" else f" {effect.side}"
        before = verdict_word(effect.before, effect.side)
        move = f"{side} {before} -> {verdict_word(effect.after, effect.side)}"
        if effect.caller is None:
            rest = f"everyone else{move}"
        else:
            moves[move] += 1
    parts = [f"{plural(count, 'caller')}{move}" for move, count in moves.items()]
    if rest:
        parts.append(rest)
    return ", ".join(parts) if parts else "no caller's verdict changes"


def rules_in_brief(change: NumberChange, staged: int) -> str | None:
    """`10 rules to create (3 staged), 1 to delete`; None when no rule changes.
    `staged` counts the rules that end paused (created or updated)."""
    counts: Counter[str] = Counter(rule.kind for rule in change.rules)
    kinds = [kind for kind in ("create", "update", "delete") if counts[kind]]
    if not kinds:
        return None
    parts = [f"{counts[kind]} to {kind}" for kind in kinds]
    parts[0] = f"{plural(counts[kinds[0]], 'rule')} to {kinds[0]}"
    if staged:
        parts[0] += f" ({staged} staged)"
    return ", ".join(parts)


def fields_in_brief(change: NumberChange) -> str | None:
    """Short values shown (`filter_mode blacklist -> whitelist`), long ones named."""
    shown = []
    for field in change.fields:
        values = (show(field.before), show(field.after))
        if all(len(v) <= 24 and "://" not in v for v in values):
            shown.append(f"{field.field} {values[0]} -> {values[1]}")
        else:
            shown.append(f"{field.field} changes")
    return ", ".join(shown) if shown else None


def holder_title(change: NumberChange) -> str:
    return f"{change.number} ({change.agent})" if change.agent else change.number


def holders(changes: Iterable[NumberChange]) -> str:
    """`5 numbers`, `4 numbers and 1 agent`."""
    counted = Counter("agent" if not change.number_id else "number" for change in changes)
    parts = [plural(counted[kind], kind) for kind in ("number", "agent") if counted[kind]]
    return " and ".join(parts) or "0 numbers"


def api_line(plan: Plan) -> str | None:
    """Which API the plan was made against, and how it realises staged rules."""
    if not plan.api_version:
        return None
    staged = {
        "paused_row": "staged rules are paused rows",
        "harmless_active_row": "staged rules are active rules with each side's harmless action",
    }[plan.staging]
    return f"API version {plan.api_version} ({staged})"


def summary_line(plan: Plan) -> str:
    """Counts that add up: rules per kind, fields, then the writes they take."""
    s = plan.summary
    if not plan.steps:
        return f"No changes. {plan.numbers_checked} number(s) match the manifests."
    rules = f"{plural(s.create, 'rule')} to create, {s.update} to update, {s.delete} to delete"
    return (
        f"Plan: {rules}, {plural(s.fields, 'field')} to change across "
        f"{holders(plan.changes)}; {plural(s.steps, 'API write')}."
    )


def writes_line(plan: Plan) -> str | None:
    """How the writes add up, when they are not one per rule change:
    `writes: 39 for rules (3 staged rules take two), 4 routing updates, 1 filter mode change`."""
    kinds = Counter(step.kind for step in plan.steps)
    routing, modes = kinds["update_routing"], kinds["set_modes"]
    rule_writes = len(plan.steps) - routing - modes
    changes = plan.summary.total
    if not plan.steps or (rule_writes == changes and not routing and not modes):
        return None
    rules = f"{rule_writes} for rules"
    if rule_writes != changes:
        staged = {
            (change.number, rule.target)
            for change in plan.changes
            for rule in change.rules
            if rule.after is not None and rule.after.status == "paused"
        }
        by_target = chains(plan.steps)
        longer = [key for key, chain in by_target.items() if len(chain) > 1]
        twice = [key for key in longer if key in staged]
        why = []
        if twice:
            two = all(len(by_target[key]) == 2 for key in twice)
            if len(twice) == 1:
                why.append(f"1 staged rule takes {'two writes' if two else 'more than one'}")
            else:
                each = "two writes each" if two else "more than one each"
                why.append(f"{len(twice)} staged rules take {each}")
        if len(twice) < len(longer):
            why.append(f"{len(longer) - len(twice)} other rule(s) change in more than one")
        if rule_writes < changes:
            why.append("some rule changes share one write")
        rules += f" ({'; '.join(why)})"
    parts = [rules]
    if routing:
        parts.append(f"{plural(routing, 'routing update')} (a number's routing fields in one)")
    if modes:
        parts.append(plural(modes, "filter mode change"))
    return "writes: " + ", ".join(parts) + "."


def safety_line(report: SafetyReport) -> str:
    if report.verified:
        return (
            f"transition safety: verified ({report.callers_checked} callers, "
            f"{report.steps_checked} steps; each caller's verdict changes at most once per side)"
        )
    assert report.violation is not None
    return f"transition safety: REFUTED: {report.violation.message}"


def finding_text(finding: PlanWarning) -> str:
    return finding.message + (" (apply needs --force)" if finding.needs_force else "")


#: How a group of findings of one code is counted: singular, plural.
_COUNTED = {
    "filter_mode_change": ("filter mode change", "filter mode changes"),
    "mass_rule_change": ("mass rule change", "mass rule changes"),
    "whitelist_without_allow": (
        "whitelist with no active allow rule",
        "whitelists with no active allow rule",
    ),
    "expectation_broken": ("broken expectation", "broken expectations"),
    "expectation_unmet_live": ("expectation not met live yet", "expectations not met live yet"),
}


def grouped(findings: Sequence[PlanWarning]) -> list[str]:
    """Many findings as one line per code: how many, and the first as an example."""
    by_code: dict[str, list[PlanWarning]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)
    lines = []
    for code, group in by_code.items():
        if len(group) == 1:
            lines.append(finding_text(group[0]))
            continue
        many = _COUNTED.get(code, (code, code))[1]
        lines.append(f"{len(group)} {many}, e.g. {finding_text(group[0])}")
    return lines
