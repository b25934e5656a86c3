"""An in-memory phone API for one holder, for property tests of plan + executor.

It follows the contracts where the core's writes meet them: with directional
capabilities, a create or update that leaves two one-way rows of a target with
the same action and status merges them (the older id kept, the other an
alias), and `{action, apply_to}` on a `both` row with another action splits it
(the old id keeps the other side; the answer is the new row). Without them,
rows cover both sides and status is writable. Ids come only from answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from inkbox_sync.errors import ConflictError, NotFoundError, ValidationFailedError
from inkbox_sync.model import (
    SIDES_OF,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    LiveNumber,
    LiveRule,
    LiveRules,
    LiveState,
    RuleStatus,
    Side,
    entry_of,
)

_seq = itertools.count()


@dataclass
class _Row:
    id: str
    target: str
    action: Action
    status: RuleStatus
    direction: Direction
    born: int = field(default_factory=lambda: next(_seq))

    def live(self) -> LiveRule:
        return LiveRule(self.id, self.target, self.action, self.status, self.direction)


class FakeServer:
    """One number and its policy holder. `address` of every write must be `number.id`."""

    def __init__(self, number: LiveNumber, caps: Capabilities, api_version: str = "fake") -> None:
        self.number = replace(number, rules=None)
        self.caps = caps
        self.api_version = api_version
        self.rows: dict[str, _Row] = {}
        self.aliases: dict[str, str] = {}
        self.writes = 0
        #: creates (by count, 0-based) whose answer is "lost": committed, then the
        #: retry meets its own rule (409 naming it), as the real client would see.
        self.lose_create_answers: set[int] = set()
        self._creates = 0
        for entry in (number.rules or {}).values():
            for rule in _rows(entry):
                self.rows[rule.id] = _Row(
                    rule.id, rule.target, rule.action, rule.status, rule.direction
                )

    @property
    def capabilities(self) -> Capabilities:
        return self.caps

    @property
    def concurrency(self) -> int:
        return 4

    # -- reads ----------------------------------------------------------------

    def state(self) -> LiveState:
        by_target: dict[str, list[_Row]] = {}
        for row in self.rows.values():
            by_target.setdefault(row.target, []).append(row)
        rules: dict[str, LiveRules] = {}
        for target, rows in by_target.items():
            inbound = next((r.live() for r in rows if "inbound" in SIDES_OF[r.direction]), None)
            outbound = next((r.live() for r in rows if "outbound" in SIDES_OF[r.direction]), None)
            if inbound is not None and outbound is not None and inbound.id == outbound.id:
                outbound = inbound
            entry = entry_of(inbound, outbound)
            assert entry is not None
            rules[target] = entry
        live = replace(self.number, rules=rules)
        return LiveState({live.number: live}, capabilities=self.caps, api_version=self.api_version)

    def _row(self, rule_id: str) -> _Row:
        rule_id = self.aliases.get(rule_id, rule_id)
        row = self.rows.get(rule_id)
        if row is None:
            raise NotFoundError(f"no rule {rule_id}", status=404)
        return row

    def _covering(self, target: str, side: Side) -> _Row | None:
        return next(
            (r for r in self.rows.values() if r.target == target and side in SIDES_OF[r.direction]),
            None,
        )

    # -- writes (the executor's WriteClient) -----------------------------------

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> object:
        assert number_id == self.number.id
        self.writes += 1
        self.number = replace(
            self.number, **{k: v for k, v in fields.items() if k != "forwarding_target_type"}
        )  # type: ignore[arg-type]
        return self.number

    async def set_modes(self, address: str, modes: Mapping[Side, FilterMode]) -> object:
        assert address == self.number.policy_address
        if not self.caps.separate_modes and len(set(modes.values())) != 1:
            raise ValidationFailedError("one mode only", status=422)
        self.writes += 1
        changes = {f"{side}_filter_mode": mode for side, mode in modes.items()}
        if not self.caps.separate_modes:
            mode = next(iter(modes.values()))
            changes = {"inbound_filter_mode": mode, "outbound_filter_mode": mode}
        self.number = replace(self.number, **changes)  # type: ignore[arg-type]
        return self.number

    async def create_rule(
        self, address: str, *, action: Action, target: str, direction: Direction = "both"
    ) -> LiveRule:
        assert address == self.number.policy_address
        if direction != "both" and not self.caps.directional_rules:
            raise ValidationFailedError("no directions", status=422)
        for side in SIDES_OF[direction]:
            taken = self._covering(target, side)
            if taken is not None:
                raise ConflictError("duplicate", existing_rule_id=taken.id)
        self.writes += 1
        row = _Row(f"r{next(_seq)}", target, action, "active", direction)
        self.rows[row.id] = row
        answer = self._consolidate(row)
        count = self._creates
        self._creates += 1
        if count in self.lose_create_answers:
            raise ConflictError(
                "duplicate (retried)", existing_rule_id=answer.id, after_lost_answer=True
            )
        return answer.live()

    async def update_rule(
        self,
        address: str,
        rule_id: str,
        *,
        action: Action | None = None,
        status: RuleStatus | None = None,
        direction: Direction | None = None,
        apply_to: Side | None = None,
    ) -> LiveRule:
        assert address == self.number.policy_address
        row = self._row(rule_id)
        if status is not None and not self.caps.writable_status:
            raise ValidationFailedError("status is read-only", status=422)
        if (direction is not None or apply_to is not None) and not self.caps.directional_rules:
            raise ValidationFailedError("no directions", status=422)
        if apply_to is not None:
            if action is None or direction is not None or status is not None:
                raise ValidationFailedError("apply_to takes an action only", status=422)
            if apply_to not in SIDES_OF[row.direction]:
                raise ValidationFailedError("apply_to names an uncovered side", status=422)
            self.writes += 1
            if row.direction == "both" and action != row.action:
                row.direction = "outbound" if apply_to == "inbound" else "inbound"
                new = _Row(f"r{next(_seq)}", row.target, action, row.status, apply_to)
                self.rows[new.id] = new
                return self._consolidate(new).live()
            row.action = action
            return self._consolidate(row).live()
        if direction is not None:
            for side in SIDES_OF[direction]:
                taken = self._covering(row.target, side)
                if taken is not None and taken is not row:
                    raise ConflictError("side taken", existing_rule_id=taken.id)
        self.writes += 1
        row.action = action or row.action
        row.status = status or row.status
        row.direction = direction or row.direction
        return self._consolidate(row).live()

    async def delete_rule(self, address: str, rule_id: str) -> None:
        assert address == self.number.policy_address
        try:
            row = self._row(rule_id)
        except NotFoundError:
            return  # already gone counts as done
        self.writes += 1
        del self.rows[row.id]
        self.aliases = {a: i for a, i in self.aliases.items() if i != row.id}

    async def get_rule(self, address: str, rule_id: str) -> LiveRule:
        return self._row(rule_id).live()

    def _consolidate(self, row: _Row) -> _Row:
        """Merge two one-way rows of a target with the same action and status."""
        if not self.caps.directional_rules or row.direction == "both":
            return row
        other_side: Side = "outbound" if row.direction == "inbound" else "inbound"
        other = self._covering(row.target, other_side)
        if other is None or other.direction == "both":
            return row
        if (other.action, other.status) != (row.action, row.status):
            return row
        older, newer = (row, other) if row.born < other.born else (other, row)
        older.direction = "both"
        del self.rows[newer.id]
        self.aliases[newer.id] = older.id
        self.aliases = {a: (older.id if i == newer.id else i) for a, i in self.aliases.items()}
        return older


def _rows(entry: LiveRules) -> tuple[LiveRule, ...]:
    return entry if isinstance(entry, tuple) else (entry,)
