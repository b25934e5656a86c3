"""Policy tests (`expect:`): does a holder's policy deliver and block the parties it says, per side?

Pure: `validate` calls it with the desired filter_mode (None when the manifest
leaves the mode unmanaged, since live is not read offline), the planner can call
it again with the mode and the surviving live rules it knows.

A caller's verdict is certain offline when the manifest gives it an active rule
(that rule is what the number will have). Otherwise the verdict is the mode's
default, which is known only when the mode is, and only when no rule outside
the manifest can apply to the caller: rules must be managed, and unnamed live
rules deleted (`unmanaged_rules: delete`), unless `kept` says which survive.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from inkbox_sync.model import (
    DesiredPolicy,
    FilterMode,
    RuleLike,
    Side,
    Verdict,
    default_verdict,
    harmless_action,
    on_side,
    verdict,
)


@dataclass(frozen=True, slots=True)
class BrokenExpectation:
    """One `expect:` entry the policy does not satisfy (inbound: delivered or
    blocked to the agent; outbound: the agent allowed or blocked to reach it)."""

    number: str
    caller: str
    expected: Verdict
    actual: Verdict
    reason: str
    side: Side = "inbound"

    @property
    def message(self) -> str:
        if self.side == "inbound":
            verb = "delivers" if self.actual == "delivered" else "blocks"
            return (
                f"expect: {self.caller} should be {self.expected} but the desired policy "
                f"{verb} it ({self.reason})"
            )
        wanted = "allowed" if self.expected == "delivered" else "blocked"
        verb = "allows" if self.actual == "delivered" else "blocks"
        return (
            f"expect: reaching {self.caller} should be {wanted} outbound but the desired "
            f"policy {verb} it ({self.reason})"
        )


def check_expectations(
    number: DesiredPolicy,
    mode: FilterMode | None,
    kept: Mapping[str, RuleLike] | None = None,
    *,
    outbound_mode: FilterMode | None = None,
    outbound_kept: Mapping[str, RuleLike] | None = None,
) -> list[BrokenExpectation]:
    """The expectations of `number` that its policy breaks, in the order written.

    `mode` is the inbound filter mode that will apply, or None when unknown.
    `kept` maps callers to live inbound rules that will survive beside the
    manifest's (all live rules when the rules are unmanaged; the unnamed ones
    under `unmanaged_rules: keep`); None means they are unknown, so callers
    they could affect are not judged. `outbound_mode` and `outbound_kept` are
    the same for the outbound side (parties the agent reaches).
    """
    if number.expect is None:
        return []
    broken: list[BrokenExpectation] = []
    for side, caller, expected in _entries(number):
        side_mode, side_kept = (mode, kept) if side == "inbound" else (outbound_mode, outbound_kept)
        judged = _judge(number, side, side_mode, side_kept, caller)
        if judged is not None and judged[0] != expected:
            broken.append(BrokenExpectation(number.key, caller, expected, *judged, side=side))
    return broken


def _entries(number: DesiredPolicy) -> Iterator[tuple[Side, str, Verdict]]:
    expect = number.expect
    assert expect is not None
    for caller in expect.delivered:
        yield "inbound", caller, "delivered"
    for caller in expect.blocked:
        yield "inbound", caller, "blocked"
    for caller in expect.outbound_allowed:
        yield "outbound", caller, "delivered"
    for caller in expect.outbound_blocked:
        yield "outbound", caller, "blocked"


def _judge(
    number: DesiredPolicy,
    side: Side,
    mode: FilterMode | None,
    kept: Mapping[str, RuleLike] | None,
    caller: str,
) -> tuple[Verdict, str] | None:
    """(verdict, why) for `caller` on `side`, or None when it cannot be known from what we have."""
    desired = on_side(number.rules.get(caller), side) if number.rules is not None else None
    if desired is not None and desired.status == "active":
        source = "" if desired.origin == "number" else f" from policy {desired.origin}"
        return verdict("blacklist", desired), f"active {desired.action} rule{source}"
    # The manifest's paused rule holds the caller's slot, so no other rule can apply.
    others_possible = desired is None and (number.rules is None or number.unmanaged_rules == "keep")
    if others_possible:
        if kept is None:
            return None
        other = kept.get(caller)
        if other is not None and other.status == "active":
            return verdict("blacklist", other), f"active {other.action} rule kept from live"
    if mode is None:
        return None
    if desired is not None:
        why = f"{mode}; its {desired.action} rule is paused"
    else:
        why = f"{mode}, no active {_opposite(harmless_action(mode))} rule"
    return default_verdict(mode), why


def _opposite(action: str) -> str:
    return "block" if action == "allow" else "allow"
