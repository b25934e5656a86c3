"""Wording shared by the text and Markdown renderers, so both say the same thing."""

from __future__ import annotations

from inkbox_sync.model import Direction, Verdict
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
            f"{report.steps_checked} steps; each caller's verdict changes at most once per side)"
        )
    assert report.violation is not None
    return f"transition safety: REFUTED: {report.violation.message}"
