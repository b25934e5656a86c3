"""Renderers: what a reviewer reads; big plans that do not bury what matters; counts
that add up; staged rules in words; notes apart from warnings; the Markdown limit."""

from __future__ import annotations

import re

import pytest

from inkbox_sync.model import (
    Capabilities,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    Expectation,
    LiveNumber,
    LiveRule,
    LiveState,
    Location,
)
from inkbox_sync.plan import Plan
from inkbox_sync.planner import build_plan
from inkbox_sync.render import render_markdown, render_text
from inkbox_sync.render.markdown import MAX_CHARS
from inkbox_sync.render.text import FULL_LINES, LISTED_FINDINGS

N = "+18335794607"
A, B, C = "+14155550100", "+14155550101", "+14155550102"
NO_STATUS = Capabilities(directional_rules=True, separate_modes=True, writable_status=False)


def live_number(number: str, n: int = 0, *, mode: str = "blacklist", rules=None) -> LiveNumber:  # type: ignore[no-untyped-def]
    return LiveNumber(
        id=f"id-{n}",
        number=number,
        incoming_call_action="auto_reject",
        client_websocket_url=None,
        incoming_call_webhook_url=None,
        inbound_filter_mode=mode,  # type: ignore[arg-type]
        outbound_filter_mode=mode,  # type: ignore[arg-type]
        agent_handle=f"bot-{n}",
        rules=rules if rules is not None else {},
    )


def fleet_plan(numbers: int, rules: int, **fields) -> Plan:  # type: ignore[no-untyped-def]
    desired, live = {}, {}
    for n in range(numbers):
        number = f"+1833{n:07d}"
        targets = [f"+1415{n:03d}{r:04d}" for r in range(rules)]
        desired[number] = DesiredNumber(
            number=number,
            rules={t: DesiredRule(t, "block", note="spam") for t in targets},
            **fields,
        )
        live[number] = live_number(number, n)
    return build_plan(DesiredState(desired), LiveState(live))


def one_number(caps: Capabilities | None = None, **fields) -> Plan:  # type: ignore[no-untyped-def]
    """The staged example: whitelist, an allow to create paused, a block to create."""
    desired = DesiredNumber(
        number=N,
        rules={
            A: DesiredRule(A, "allow", "paused", note="enable after the contract"),
            B: DesiredRule(B, "block"),
        },
        **fields,
    )
    live = live_number(N, mode="whitelist")
    if caps is None:
        return build_plan(DesiredState({N: desired}), LiveState({N: live}))
    live = LiveNumber(**{**_fields(live), "policy_id": "bot"})
    return build_plan(
        DesiredState({N: desired}), LiveState({N: live}, capabilities=caps, api_version="t")
    )


def _fields(number: LiveNumber) -> dict[str, object]:
    return {name: getattr(number, name) for name in LiveNumber.__slots__}  # type: ignore[attr-defined]


def test_small_plan_in_full_with_steps_and_the_summary_last() -> None:
    text = render_text(fleet_plan(1, 2))
    lines = text.splitlines()
    assert lines[0] == "~ +18330000000 (bot-0)"
    assert "    + block +14150000000  # spam" in lines
    assert "    +14150000000: delivered -> blocked" in lines
    assert "    everyone else: delivered (unchanged)" in lines
    assert "  1. create block +14150000000 on +18330000000 (active)" in lines
    assert lines[-2].startswith("transition safety: verified")
    assert lines[-1] == (
        "Plan: 2 rules to create, 0 to update, 0 to delete, 0 fields to change across "
        "1 number; 2 API writes."
    )


def test_text_without_changes_says_so() -> None:
    plan = build_plan(DesiredState({}), LiveState({}))
    assert render_text(plan) == "No changes. 0 number(s) match the manifests.\n"


def test_a_10000_write_plan_over_1000_numbers_is_a_line_per_number_with_the_summary_last() -> None:
    """Issue 14: such a plan printed 20,400 lines before apply's question."""
    plan = fleet_plan(1000, 10)
    lines = render_text(plan).splitlines()
    assert len(lines) <= 1010  # a line per number, a header, the tail
    assert lines[0].startswith("1000 numbers change, one line each (--detail shows")
    assert lines[1] == (
        "~ +18330000000 (bot-0): 10 rules to create; 10 callers delivered -> blocked"
    )
    assert lines[-1].startswith("Plan: 10000 rules to create, 0 to update, 0 to delete")
    assert not any(line.startswith("  1. ") for line in lines)  # no steps


@pytest.mark.parametrize(
    ("numbers", "detail", "full"),
    [
        (1, "auto", True),
        (1, "brief", False),
        (40, "auto", False),  # 40 numbers x 10 rules: more than FULL_LINES in full
        (40, "full", True),
    ],
)
def test_detail_is_full_small_brief_big_and_a_flag_away_either_way(
    numbers: int, detail: str, full: bool
) -> None:
    text = render_text(fleet_plan(numbers, 10), detail=detail)  # type: ignore[arg-type]
    assert ("    + block +14150000000  # spam" in text) == full
    assert ("callers feel:" in text) == full
    assert ("Steps, in the order apply makes them:" in text) == full
    assert ("one line each" in text) == (not full)
    assert (len(text.splitlines()) > FULL_LINES) == (full and numbers > 1)


def test_apply_shows_no_steps_before_its_question_unless_asked() -> None:
    plan = fleet_plan(1, 2)
    assert "Steps, in" not in render_text(plan, show_steps=False)
    assert "Steps, in" in render_text(plan, detail="full", show_steps=True)


def test_counts_add_up_rules_fields_and_writes() -> None:
    """Issue 14: `2 to create, 3 to update ... 8 API writes` counted updates per field.
    Two routing fields are two field changes and one write; a staged rule is one rule
    change and two writes; the writes line says how they add up."""
    plan = one_number(
        incoming_call_action="webhook", incoming_call_webhook_url="https://hooks.example.com/x"
    )
    text = render_text(plan)
    assert (
        "Plan: 2 rules to create, 0 to update, 0 to delete, 2 fields to change across "
        "1 number; 4 API writes." in text
    )
    writes = next(line for line in text.splitlines() if line.startswith("  writes: "))
    assert writes == (
        "  writes: 3 for rules (1 staged rule takes two writes), 1 routing update "
        "(a number's routing fields in one)."
    )
    rule_writes, routing = (int(n) for n in re.findall(r"(\d+) (?:for rules|routing)", writes))
    assert rule_writes + routing == len(plan.steps) == 4
    s = plan.summary
    assert (s.create, s.update, s.delete, s.fields, s.steps) == (2, 0, 0, 2, 4)


def test_staged_rules_are_explained_in_words_with_their_steps() -> None:
    """Issue 14: a staged allow showed as `create block` then `update ... paused`."""
    text = render_text(one_number())
    assert (
        "        staged: created as an active block rule, the harmless action "
        "(it changes nobody), then paused and given allow (steps 1-2)"
    ) in text.splitlines()


def test_staged_rules_without_writable_status_say_how_they_are_realised() -> None:
    text = render_text(one_number(NO_STATUS))
    assert (
        "staged: this API cannot write a paused status, so it is an active block rule, "
        "the harmless action here (it changes nobody) (step 1)"
    ) in text
    assert "(staged rules are active rules with each side's harmless action)" in text


def test_brief_lines_count_staged_rules() -> None:
    text = render_text(one_number(), detail="brief")
    assert f"~ {N} (bot-0): 2 rules to create (1 staged); no caller's verdict changes" in text


def expectation_plan() -> Plan:
    """Live breaks an expect: the plan repairs (a note), and a mode flip (a warning)."""
    expect = Expectation(blocked=(B,), location=Location("m.yaml", 7, 5))
    desired = DesiredNumber(
        number=N, filter_mode="whitelist", rules={A: DesiredRule(A, "allow")}, expect=expect
    )
    live = live_number(N, rules={B: LiveRule("r1", B, "allow", "active")})
    return build_plan(DesiredState({N: desired}), LiveState({N: live}))


def test_notes_are_kept_apart_from_warnings() -> None:
    """Issue 14: `expectation not met live yet ... (this plan changes that)` was listed
    among the warnings, though it is a note."""
    plan = expectation_plan()
    text = render_text(plan)
    notes = text[text.index("Notes:") : text.index("Warnings:")]
    warnings = text[text.index("Warnings:") :]
    assert "i m.yaml:7:5: expectation not met live yet" in notes
    assert "not met live yet" not in warnings
    assert "! +18335794607: filter_mode changes blacklist -> whitelist" in warnings
    markdown = render_markdown(plan)
    assert markdown.index("> [!NOTE]") < markdown.index("not met live yet")
    warning_block = markdown[markdown.index("> [!WARNING]") :].split("\n\n")[0]
    assert "not met live yet" not in warning_block


def test_many_warnings_of_a_kind_are_one_line_in_brief_and_listed_in_full() -> None:
    desired, live = {}, {}
    for n in range(LISTED_FINDINGS + 5):
        number = f"+1833{n:07d}"
        desired[number] = DesiredNumber(number=number, filter_mode="whitelist", rules={})
        live[number] = live_number(number, n, rules={A: LiveRule(f"r{n}", A, "allow", "active")})
    plan = build_plan(DesiredState(desired), LiveState(live))
    brief = render_text(plan, detail="brief")
    assert f"Warnings ({2 * (LISTED_FINDINGS + 5)}, one line per kind" in brief
    assert f"  ! {LISTED_FINDINGS + 5} filter mode changes, e.g. +18330000000:" in brief
    full = render_text(plan, detail="full")
    assert full.count("  ! ") == len(plan.warnings) == 2 * (LISTED_FINDINGS + 5)


def test_verdict_changes_are_coloured_only_when_asked() -> None:
    plan = expectation_plan()
    plain = render_text(plan)
    assert "\x1b[" not in plain
    coloured = render_text(plan, color=True)
    assert "\x1b[31m    everyone else: delivered -> blocked\x1b[0m" in coloured
    assert "\x1b[32m    +14155550100: blocked -> delivered" not in coloured  # unchanged: plain


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
