"""What an API cannot express: the manifest keys its `Capabilities` rule out.

A manifest is written once, for any API version; some keys mean something only
to an API that has the feature (one-way rules, a mode per side, forwarding,
policy by agent handle, an outbound side). Offline the version is unknown, so
`validate` accepts them; once the adapter says what the API can do, plan and
apply call `version_problems` and refuse the manifest, every such key at once,
each at its own file:line:column. Pure: judged on `Capabilities` only, never
on a version name (which is only shown).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import TypeVar

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.routing import FORWARDING_FIELDS
from inkbox_sync.model import (
    UNSET,
    Capabilities,
    DesiredAgent,
    DesiredNumber,
    DesiredRule,
    DesiredState,
    Location,
    rows_of,
)


def version_problems(
    state: DesiredState,
    capabilities: Capabilities,
    api_version: str = "",
    *,
    targets: Collection[str] | None = None,
) -> list[Diagnostic]:
    """One diagnostic per key of `state` that an API with `capabilities` cannot
    express, at the key (sorted, duplicates once: a policy's one-way rule is
    reported once however many numbers use it). `targets` limits the check to
    those numbers and agents; `api_version` only names the API in messages."""
    api = f"API version {api_version}" if api_version else "this API"
    found = dict.fromkeys(_problems(state, capabilities, api, targets))
    return sorted(found, key=lambda d: (d.file, d.line, d.column, d.message))


def _problems(
    state: DesiredState, caps: Capabilities, api: str, targets: Collection[str] | None
) -> Iterator[Diagnostic]:
    where = state.key_locations
    for number in _chosen(state.numbers, targets):
        yield from _routing(number, caps, api, where)
        yield from _policy(number, caps, api, where)
    for agent in _chosen(state.agents, targets):
        if not caps.identity_policy and agent.location is not None:
            yield _at(
                agent.location,
                f"agents: {agent.handle!r} cannot be expressed by {api}: its policy belongs to "
                "numbers, not to agent identities; manage it under numbers:",
            )
        yield from _policy(agent, caps, api, where)


_H = TypeVar("_H", DesiredNumber, DesiredAgent)


def _chosen(holders: Mapping[str, _H], targets: Collection[str] | None) -> Iterator[_H]:
    if not targets:
        yield from holders.values()
    else:
        yield from (holders[t] for t in targets if t in holders)


def _routing(
    number: DesiredNumber,
    caps: Capabilities,
    api: str,
    where: Mapping[tuple[Location, str], Location],
) -> Iterator[Diagnostic]:
    if number.location is None:
        return
    action = number.incoming_call_action
    if action is not UNSET and action not in caps.call_actions:
        yield _at(
            where.get((number.location, "incoming_call_action"), number.location),
            f"incoming_call_action: {action} cannot be expressed by {api}: it accepts "
            f"{', '.join(caps.call_actions)}",
        )
    if "forward" in caps.call_actions:
        return
    for name in FORWARDING_FIELDS:
        if getattr(number, name) is not UNSET:
            yield _at(
                where.get((number.location, name), number.location),
                f"{name} cannot be expressed by {api}: it cannot forward calls",
            )


def _policy(
    holder: DesiredNumber | DesiredAgent,
    caps: Capabilities,
    api: str,
    where: Mapping[tuple[Location, str], Location],
) -> Iterator[Diagnostic]:
    location = holder.location
    if location is None:
        return
    if not caps.separate_modes:
        for name in ("inbound_filter_mode", "outbound_filter_mode"):
            if getattr(holder, name) is not UNSET:
                yield _at(
                    where.get((location, name), location),
                    f"{name} cannot be expressed by {api}: one filter_mode governs both "
                    "directions there; use filter_mode",
                )
    if not caps.directional_rules and holder.rules is not None:
        for entry in holder.rules.values():
            if isinstance(entry, DesiredRule) and entry.direction == "both":
                continue  # the common case, checked without a call
            for rule in rows_of(entry):
                # Reported where `direction` was written; a policy's `both` rule that
                # the holder overrides on one side is one-way only because of that.
                written = where.get((rule.location, "direction")) if rule.location else None
                if written is not None:
                    yield _at(
                        written,
                        f"direction: {rule.direction} cannot be expressed by {api}: its rules "
                        "always cover both directions",
                    )
    expect = holder.expect
    if not caps.outbound_side and expect is not None and expect.location is not None:
        for name in ("outbound_allowed", "outbound_blocked"):
            if getattr(expect, name) or (expect.location, name) in where:
                yield _at(
                    where.get((expect.location, name), expect.location),
                    f"expect: {name} cannot be checked against {api}: its policy governs "
                    "only inbound calls and texts",
                )


def _at(location: Location, message: str) -> Diagnostic:
    return Diagnostic(location.file, location.line, location.column, message)
