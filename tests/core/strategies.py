"""Hypothesis strategies for live and desired states of one holder, with sides.

Two capability sets: PER_NUMBER (2026-06-like: one shared mode, `both` rows,
status writable) and PER_IDENTITY (2026-10-like: directional rules and modes,
status read-only, `apply_to`). Live states of the latter include one-way rows,
pairs, and legacy paused rows.
"""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from inkbox_sync.model import (
    UNSET,
    Capabilities,
    DesiredNumber,
    DesiredRule,
    DesiredRules,
    DesiredState,
    LiveNumber,
    LiveRule,
    LiveRules,
    LiveState,
)

NUMBER = "+18335794607"
NUMBER_ID = "num-1"
HANDLE = "support-bot"
# A small pool so live and desired share targets often.
TARGETS = [f"+1415555{i:04d}" for i in range(6)]
_ids = itertools.count()

PER_NUMBER = Capabilities()
PER_IDENTITY = Capabilities(
    directional_rules=True, separate_modes=True, writable_status=False, apply_to=True
)
CAPS = {"per-number": PER_NUMBER, "per-identity": PER_IDENTITY}

actions = st.sampled_from(["allow", "block"])
statuses = st.sampled_from(["active", "paused"])
modes = st.sampled_from(["blacklist", "whitelist"])
capabilities = st.sampled_from([PER_NUMBER, PER_IDENTITY])


def _live_rule(draw: st.DrawFn, target: str, direction: str) -> LiveRule:
    return LiveRule(f"rule-{next(_ids)}", target, draw(actions), draw(statuses), direction)  # type: ignore[arg-type]


@st.composite
def live_entries(draw: st.DrawFn, target: str, caps: Capabilities) -> LiveRules:
    if not caps.directional_rules:
        return _live_rule(draw, target, "both")
    layout = draw(st.sampled_from(["both", "inbound", "outbound", "pair"]))
    if layout == "pair":
        return (_live_rule(draw, target, "inbound"), _live_rule(draw, target, "outbound"))
    return _live_rule(draw, target, layout)


@st.composite
def live_numbers(draw: st.DrawFn, caps: Capabilities) -> LiveNumber:
    targets = draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=len(TARGETS)))
    rules = {t: draw(live_entries(t, caps)) for t in targets}
    inbound = draw(modes)
    outbound = draw(modes) if caps.separate_modes else inbound
    return LiveNumber(
        id=NUMBER_ID,
        number=NUMBER,
        incoming_call_action="webhook",
        client_websocket_url=None,
        incoming_call_webhook_url="https://hooks.example.com/a",
        inbound_filter_mode=inbound,
        outbound_filter_mode=outbound,
        agent_handle=HANDLE,
        rules=rules,
        policy_id=HANDLE if caps.directional_rules else None,
    )


def _desired_rule(draw: st.DrawFn, target: str, direction: str) -> DesiredRule:
    return DesiredRule(target, draw(actions), draw(statuses), direction=direction)  # type: ignore[arg-type]


@st.composite
def desired_entries(draw: st.DrawFn, target: str, caps: Capabilities) -> DesiredRules:
    if not caps.directional_rules:
        return _desired_rule(draw, target, "both")
    layout = draw(st.sampled_from(["both", "both", "inbound", "outbound", "pair"]))
    if layout == "pair":
        return (_desired_rule(draw, target, "inbound"), _desired_rule(draw, target, "outbound"))
    return _desired_rule(draw, target, layout)


@st.composite
def desired_numbers(draw: st.DrawFn, caps: Capabilities) -> DesiredNumber:
    managed = draw(st.booleans())
    rules = None
    if managed or draw(st.booleans()):
        targets = draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=len(TARGETS)))
        rules = {t: draw(desired_entries(t, caps)) for t in targets}
    kwargs: dict[str, object] = {}
    kind = draw(
        st.sampled_from(
            ["unset", "shared", "directional"] if caps.separate_modes else ["unset", "shared"]
        )
    )
    if kind == "shared":
        kwargs["filter_mode"] = draw(modes)
    elif kind == "directional":
        kwargs["inbound_filter_mode"] = draw(st.just(UNSET) | modes)
        kwargs["outbound_filter_mode"] = draw(st.just(UNSET) | modes)
    routing = draw(st.sampled_from(["keep", "auto_reject", "auto_accept"]))
    if routing == "auto_reject":
        kwargs["incoming_call_action"] = "auto_reject"
    elif routing == "auto_accept":
        kwargs["incoming_call_action"] = "auto_accept"
        kwargs["client_websocket_url"] = "wss://agent.example.com/ws"
        kwargs["incoming_call_webhook_url"] = None
    return DesiredNumber(
        number=NUMBER,
        rules=rules,
        unmanaged_rules=draw(st.sampled_from(["delete", "keep"])),
        **kwargs,  # type: ignore[arg-type]
    )


def one(live: LiveNumber, caps: Capabilities = PER_NUMBER) -> LiveState:
    return LiveState({live.number: live}, capabilities=caps, api_version="test")


def one_desired(want: DesiredNumber) -> DesiredState:
    return DesiredState({want.number: want})
