"""Wording shared by the text and Markdown renderers, so both say the same thing."""

from __future__ import annotations

from inkbox_sync.plan import CallerEffect, FieldChange, Plan, RuleChange, SafetyReport
from inkbox_sync.redact import redact_url

SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def show(value: str | None) -> str:
    return "(empty)" if value is None else value


def field_line(change: FieldChange) -> str:
    line = f"{change.field}: {show(change.before)} -> {show(change.after)}"
    before, after = change.before, change.after
    if before and after and "://" in before and redact_url(before) == redact_url(after):
        # Output shows URLs redacted: say why two identical-looking URLs are a change.
        line += "  (they differ in the hidden userinfo, query or fragment)"
    return line


def rule_line(change: RuleChange) -> str:
    if change.kind == "create":
        assert change.after is not None
        text = f"{change.after.action} {change.target}"
        if change.after.status == "paused":
            text += " (paused)"
    elif change.kind == "delete":
        assert change.before is not None
        text = f"{change.before.action} {change.target}"
        if change.before.status == "paused":
            text += " (paused)"
    else:
        assert change.before is not None and change.after is not None
        text = (
            f"{change.target}: {change.before.action}/{change.before.status} -> "
            f"{change.after.action}/{change.after.status}"
        )
    if change.origin and change.origin != "number":
        text += f"  [policy {change.origin}]"
    if change.note:
        text += f"  # {change.note}"
    return text


def effect_line(effect: CallerEffect) -> str:
    who = "everyone else" if effect.caller is None else effect.caller
    if effect.before == effect.after:
        return f"{who}: {effect.after} (unchanged)"
    return f"{who}: {effect.before} -> {effect.after}"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    if not plan.steps:
        return f"No changes. {plan.numbers_checked} number(s) match the manifests."
    numbers = f"{s.numbers_changed} number{'s' if s.numbers_changed != 1 else ''}"
    return (
        f"Plan: {s.create} to create, {s.update} to update, {s.delete} to delete "
        f"across {numbers}; {s.steps} API write{'s' if s.steps != 1 else ''}."
    )


def safety_line(report: SafetyReport) -> str:
    if report.verified:
        return (
            f"transition safety: verified ({report.callers_checked} callers, "
            f"{report.steps_checked} steps; each caller's verdict changes at most once)"
        )
    assert report.violation is not None
    return f"transition safety: REFUTED: {report.violation.message}"
