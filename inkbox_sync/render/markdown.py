"""Markdown for a pull-request comment: a summary table up front, detail collapsed,
and never more than GitHub's comment limit (it summarises instead)."""

from __future__ import annotations

from inkbox_sync.plan import NumberChange, Plan
from inkbox_sync.render.common import (
    SYMBOL,
    Chain,
    api_line,
    chains,
    effect_line,
    field_line,
    finding_text,
    rule_line,
    safety_line,
    staging_words,
    summary_line,
    writes_line,
)

#: GitHub rejects comments over 65,536 characters; keep a margin for the footer.
MAX_CHARS = 65_000
_FOOTER_ROOM = 600


def render_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    head = ["### inkbox-sync plan", "", f"**{summary_line(plan)}**", ""]
    writes = writes_line(plan)
    if writes is not None:
        head += [_escape(writes), ""]
    api = api_line(plan)
    if api is not None:
        head += [f"<sub>{api}</sub>", ""]
    if plan.steps:
        icon = "✅" if plan.safety.verified else "❌"
        head += [f"{icon} {safety_line(plan.safety)}", ""]
    for kind, findings in (("WARNING", plan.warnings), ("NOTE", plan.notes)):
        if not findings:
            continue
        head.append(f"> [!{kind}]")
        head += [f"> - {_escape(finding_text(finding))}" for finding in findings]
        head.append("")
    if plan.changes:
        head += [
            "| number | agent | fields | rules + / ~ / - | callers changing |",
            "|---|---|---|---|---|",
        ]
        for change in plan.changes:
            head.append(_row(change))
        head.append("")

    body: list[str] = []
    used = sum(len(line) + 1 for line in head)
    budget = max_chars - _FOOTER_ROOM
    shown = 0
    by_target = chains(plan.steps)
    for change in plan.changes:
        block = _details(change, plan, by_target)
        if used + len(block) > budget:
            break
        body.append(block)
        used += len(block)
        shown += 1
    if shown < len(plan.changes):
        body.append(
            f"_{len(plan.changes) - shown} more changed number(s) not shown here to stay under "
            "GitHub's comment limit; see the full plan (`--format json` or the text log)._\n"
        )
    if plan.steps:
        body.append(f"<sub>{len(plan.steps)} API writes; apply makes exactly these.</sub>\n")
    return "\n".join(head) + "\n" + "\n".join(body)


def _row(change: NumberChange) -> str:
    counts = {kind: 0 for kind in ("create", "update", "delete")}
    for rule in change.rules:
        counts[rule.kind] += 1
    moving = sum(1 for e in change.effects if e.caller is not None)
    fields = ", ".join(f.field for f in change.fields) or "—"
    return (
        f"| `{change.number}` | {change.agent or '—'} | {fields} | "
        f"{counts['create']} / {counts['update']} / {counts['delete']} | {moving} |"
    )


def _details(change: NumberChange, plan: Plan, by_target: dict[tuple[str, str], Chain]) -> str:
    lines = [
        f"<details><summary><code>{change.number}</code> {change.agent or ''}</summary>",
        "",
        "```diff",
    ]
    for field in change.fields:
        lines.append(f"~ {field_line(field)}")
    for rule in change.rules:
        lines.append(f"{SYMBOL[rule.kind]} {rule_line(rule)}")
        words = staging_words(rule, by_target.get((change.number, rule.target), []), plan.staging)
        if words:
            lines.append(f"    {words}")
    lines += ["```", "", "Callers feel:", ""]
    for effect in change.effects:
        lines.append(f"- {_escape(effect_line(effect))}")
    if change.unchanged_callers:
        lines.append(f"- {change.unchanged_callers} named caller(s) unchanged")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
