"""The terminal rendering: `+ ~ -` per change, effects, numbered steps, summary, safety."""

from __future__ import annotations

from collections.abc import Callable

import click

from inkbox_sync.plan import NumberChange, Plan
from inkbox_sync.render.common import (
    SYMBOL,
    api_line,
    effect_line,
    field_line,
    rule_line,
    safety_line,
    summary_line,
)

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta"}


def render_text(plan: Plan, *, color: bool = False, show_steps: bool = True) -> str:
    def paint(text: str, colour: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=colour, bold=bold) if color else text

    lines: list[str] = []
    for change in plan.changes:
        lines.extend(_number_block(change, paint))
        lines.append("")
    if plan.warnings:
        lines.append(paint("Warnings:", bold=True))
        for warning in plan.warnings:
            tail = " (apply needs --force)" if warning.needs_force else ""
            lines.append(paint(f"  ! {warning.message}{tail}", _COLOURS["!"]))
        lines.append("")
    if show_steps and plan.steps:
        lines.append(paint("Steps, in the order apply makes them:", bold=True))
        width = len(str(len(plan.steps)))
        for index, step in enumerate(plan.steps, 1):
            lines.append(f"  {index:>{width}}. {step.describe()}")
        lines.append("")
    lines.append(paint(summary_line(plan), bold=True))
    if plan.steps:
        ok = plan.safety.verified
        lines.append(paint(safety_line(plan.safety), "green" if ok else "red", bold=not ok))
    api = api_line(plan)
    if api is not None:
        lines.append(api)
    return "\n".join(lines) + "\n"


def _number_block(change: NumberChange, paint: Callable[..., str]) -> list[str]:
    title = f"~ {change.number}"
    if change.agent:
        title += f" ({change.agent})"
    lines = [
        paint(title, _COLOURS["~"], bold=True) + (f"  {change.location}" if change.location else "")
    ]
    for field in change.fields:
        lines.append(paint(f"    ~ {field_line(field)}", _COLOURS["~"]))
    for rule in change.rules:
        symbol = SYMBOL[rule.kind]
        lines.append(paint(f"    {symbol} {rule_line(rule)}", _COLOURS[symbol]))
    lines.append("  callers feel:")
    for effect in change.effects:
        lines.append(f"    {effect_line(effect)}")
    if change.unchanged_callers:
        lines.append(f"    ({change.unchanged_callers} named caller(s) unchanged)")
    return lines
