"""The terminal rendering, built so that a big plan does not bury what matters.

Top to bottom: what changes per number (in full, or one line each), the steps
(when shown), notes, warnings, then the safety verdict, the API version and the
summary, so that apply's question comes right below the summary and the
warnings. `detail`:

- "full": every field, rule and effect per number (and, unless told otherwise,
  the numbered steps);
- "brief": one line per number: its fields, rule counts and how many callers
  change; warnings of one kind grouped once there are many;
- "auto": full when it takes at most FULL_LINES lines, else brief.

The JSON plan always has everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, TypeAlias

import click

from inkbox_sync.plan import CallerEffect, NumberChange, Plan, PlanWarning
from inkbox_sync.render.common import (
    SYMBOL,
    Chain,
    api_line,
    chains,
    effect_line,
    effects_in_brief,
    field_line,
    fields_in_brief,
    finding_text,
    grouped,
    holder_title,
    holders,
    rule_line,
    rules_in_brief,
    safety_line,
    staging_words,
    summary_line,
    writes_line,
)

Detail: TypeAlias = Literal["auto", "brief", "full"]
Paint: TypeAlias = Callable[..., str]

#: "auto" shows a plan in full up to this many lines, one line per number beyond.
FULL_LINES: Final = 200
#: In brief, up to this many warnings (or notes) are listed one by one; beyond,
#: one line per kind.
LISTED_FINDINGS: Final = 10

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta", "i": "cyan"}


def render_text(
    plan: Plan, *, color: bool = False, detail: Detail = "auto", show_steps: bool | None = None
) -> str:
    """The plan as text. `show_steps` None: the steps are listed when shown in full."""

    def paint(text: str, colour: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=colour, bold=bold or None) if color else text

    if detail == "auto":
        detail = "full" if _full_size(plan, show_steps is not False) <= FULL_LINES else "brief"
    steps_shown = (detail == "full") if show_steps is None else show_steps
    by_target = chains(plan.steps)
    lines: list[str] = []
    if detail == "full":
        for change in plan.changes:
            lines.extend(_number_block(change, plan, by_target, paint))
            lines.append("")
    elif plan.changes:
        lines.append(
            paint(
                f"{holders(plan.changes)} {'changes' if len(plan.changes) == 1 else 'change'}, "
                "one line each",
                bold=True,
            )
            + " (--detail shows every rule, effect and step):"
        )
        lines.extend(_brief_line(change, paint) for change in plan.changes)
        lines.append("")
    if steps_shown and plan.steps:
        lines.append(paint("Steps, in the order apply makes them:", bold=True))
        width = len(str(len(plan.steps)))
        for index, step in enumerate(plan.steps, 1):
            lines.append(f"  {index:>{width}}. {step.describe()}")
        lines.append("")
    lines += _findings("Notes", plan.notes, "i", detail, paint)
    lines += _findings("Warnings", plan.warnings, "!", detail, paint)
    if plan.steps:
        ok = plan.safety.verified
        lines.append(paint(safety_line(plan.safety), "green" if ok else "red", bold=not ok))
    api = api_line(plan)
    if api is not None:
        lines.append(api)
    lines.append(paint(summary_line(plan), bold=True))
    writes = writes_line(plan)
    if writes is not None:
        lines.append(f"  {writes}")
    return "\n".join(lines) + "\n"


def _full_size(plan: Plan, with_steps: bool) -> int:
    """Lines the full rendering takes, without rendering it."""
    size = len(plan.steps) + 2 if with_steps else 0
    for change in plan.changes:
        size += 3 + len(change.fields) + 2 * len(change.rules) + len(change.effects)
    return size


def _findings(
    title: str, findings: tuple[PlanWarning, ...], mark: str, detail: Detail, paint: Paint
) -> list[str]:
    if not findings:
        return []
    texts = [finding_text(f) for f in findings]
    if detail != "full" and len(findings) > LISTED_FINDINGS:
        texts = grouped(findings)
        title += f" ({len(findings)}, one line per kind; --detail lists each)"
    lines = [paint(f"{title}:", bold=True)]
    lines += [paint(f"  {mark} {text}", _COLOURS[mark]) for text in texts]
    return [*lines, ""]


def _verdict_colour(effect: CallerEffect) -> str | None:
    if effect.before == effect.after:
        return None
    return "red" if effect.after == "blocked" else "green"


def _staged_count(change: NumberChange) -> int:
    return sum(
        1
        for rule in change.rules
        if rule.after is not None and rule.after.status == "paused" and rule.kind != "delete"
    )


def _brief_line(change: NumberChange, paint: Paint) -> str:
    parts = [
        part
        for part in (
            fields_in_brief(change),
            rules_in_brief(change, _staged_count(change)),
        )
        if part
    ]
    effects = effects_in_brief(change)
    moved = [e for e in change.effects if e.before != e.after]
    colour = None
    if moved:
        colour = "red" if any(e.after == "blocked" for e in moved) else "green"
    parts.append(paint(effects, colour))
    where = f"  ({change.location})" if change.location else ""
    return (
        paint(f"~ {holder_title(change)}", _COLOURS["~"], bold=True)
        + ": "
        + "; ".join(parts)
        + where
    )


def _number_block(
    change: NumberChange, plan: Plan, by_target: dict[tuple[str, str], Chain], paint: Paint
) -> list[str]:
    lines = [
        paint(f"~ {holder_title(change)}", _COLOURS["~"], bold=True)
        + (f"  {change.location}" if change.location else "")
    ]
    for field in change.fields:
        lines.append(paint(f"    ~ {field_line(field)}", _COLOURS["~"]))
    for rule in change.rules:
        symbol = SYMBOL[rule.kind]
        lines.append(paint(f"    {symbol} {rule_line(rule)}", _COLOURS[symbol]))
        words = staging_words(rule, by_target.get((change.number, rule.target), []), plan.staging)
        if words:
            lines.append(f"        {words}")
    lines.append("  callers feel:")
    for effect in change.effects:
        lines.append(paint(f"    {effect_line(effect)}", _verdict_colour(effect)))
    if change.unchanged_callers:
        lines.append(f"    ({change.unchanged_callers} named caller(s) unchanged)")
    return lines
