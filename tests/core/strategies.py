"""Hypothesis strategies for live and desired states of one number."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from inkbox_sync.model import (
    UNSET,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    LiveNumber,
    LiveRule,
    LiveState,
)

NUMBER = "+18335794607"
NUMBER_ID = "num-1"
# A small pool so live and desired share targets often.
TARGETS = [f"+1415555{i:04d}" for i in range(8)]
_ids = itertools.count()

actions = st.sampled_from(["allow", "block"])
statuses = st.sampled_from(["active", "paused"])
modes = st.sampled_from(["blacklist", "whitelist"])


@st.composite
def live_numbers(draw: st.DrawFn) -> LiveNumber:
    targets = draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=len(TARGETS)))
    rules = {t: LiveRule(f"rule-{next(_ids)}", t, draw(actions), draw(statuses)) for t in targets}
    return LiveNumber(
        id=NUMBER_ID,
        number=NUMBER,
        incoming_call_action="webhook",
        client_websocket_url=None,
        incoming_call_webhook_url="https://hooks.example.com/a",
        filter_mode=draw(modes),
        agent_handle="support-bot",
        rules=rules,
    )


@st.composite
def desired_numbers(draw: st.DrawFn) -> DesiredNumber:
    managed = draw(st.booleans())
    rules = None
    if managed or draw(st.booleans()):
        targets = draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=len(TARGETS)))
        rules = {t: DesiredRule(t, draw(actions), draw(statuses)) for t in targets}
    mode = draw(st.one_of(st.just(UNSET), modes))
    routing = draw(st.sampled_from(["keep", "auto_reject", "auto_accept"]))
    kwargs: dict[str, object] = {}
    if routing == "auto_reject":
        kwargs["incoming_call_action"] = "auto_reject"
    elif routing == "auto_accept":
        kwargs["incoming_call_action"] = "auto_accept"
        kwargs["client_websocket_url"] = "wss://agent.example.com/ws"
        kwargs["incoming_call_webhook_url"] = None
    return DesiredNumber(
        number=NUMBER,
        filter_mode=mode,
        rules=rules,
        unmanaged_rules=draw(st.sampled_from(["delete", "keep"])),
        **kwargs,  # type: ignore[arg-type]
    )


def one(live: LiveNumber) -> LiveState:
    return LiveState({live.number: live})


def one_desired(want: DesiredNumber) -> DesiredState:
    return DesiredState({want.number: want})
