"""Renderers: what a reviewer reads, and the Markdown limit on large plans."""

from __future__ import annotations

from inkbox_sync.model import DesiredNumber, DesiredRule, DesiredState, LiveNumber, LiveState
from inkbox_sync.planner import build_plan
from inkbox_sync.render import render_markdown, render_text
from inkbox_sync.render.markdown import MAX_CHARS


def fleet_plan(numbers: int, rules: int):  # type: ignore[no-untyped-def]
    desired, live = {}, {}
    for n in range(numbers):
        number = f"+1833{n:07d}"
        targets = [f"+1415{n:03d}{r:04d}" for r in range(rules)]
        desired[number] = DesiredNumber(
            number=number, rules={t: DesiredRule(t, "block", note="spam") for t in targets}
        )
        live[number] = LiveNumber(
            id=f"id-{n}",
            number=number,
            incoming_call_action="auto_reject",
            client_websocket_url=None,
            incoming_call_webhook_url=None,
            inbound_filter_mode="blacklist",
            outbound_filter_mode="blacklist",
            agent_handle=f"bot-{n}",
            rules={},
        )
    return build_plan(DesiredState(desired), LiveState(live))


def test_text_shows_changes_effects_steps_summary_and_safety() -> None:
    text = render_text(fleet_plan(1, 2))
    lines = text.splitlines()
    assert lines[0] == "~ +18330000000 (bot-0)"
    assert "    + block +14150000000  # spam" in lines
    assert "    +14150000000: delivered -> blocked" in lines
    assert "    everyone else: delivered (unchanged)" in lines
    assert "  1. create block +14150000000 on +18330000000 (active)" in lines
    assert lines[-2] == "Plan: 2 to create, 0 to update, 0 to delete across 1 number; 2 API writes."
    assert lines[-1].startswith("transition safety: verified")


def test_text_without_changes_says_so() -> None:
    plan = build_plan(DesiredState({}), LiveState({}))
    assert render_text(plan) == "No changes. 0 number(s) match the manifests.\n"


def test_markdown_summarises_to_stay_under_githubs_comment_limit() -> None:
    plan = fleet_plan(400, 25)  # 10,000 rule creations
    markdown = render_markdown(plan)
    assert len(markdown) <= MAX_CHARS
    assert "| `+18330000000` | bot-0 | — | 25 / 0 / 0 | 25 |" in markdown
    assert "more changed number(s) not shown here" in markdown
    assert markdown.count("<details>") == markdown.count("</details>") > 0


def test_small_markdown_plan_shows_every_number_in_full() -> None:
    markdown = render_markdown(fleet_plan(3, 2))
    assert markdown.count("<details>") == 3
    assert "not shown here" not in markdown
