"""Per target: the fewest API writes that take its rule rows to the desired cells safely.

A target of a holder has two cells, (target, inbound) and (target, outbound),
each empty or holding a rule (action, status), covered by one or two rows. What
one write does depends on the rows (a `both` row changes both cells at once),
on what the API can express (`Capabilities`) and on the holder's mode flip, if
any, which every write of the target happens before or after. Rather than a
hand-written case table for every combination, `template` searches: it tries
every sequence of writes in order of length and keeps the first sequences that

* change each side's verdict at most once (design section 3), counting the
  flip of the holder's modes at the point where it falls in the sequence, and
* end in cells that satisfy the desired ones under the final modes.

Situations are few (a handful of cell values per side, two row layouts, the
modes, the capabilities), so each is searched once per process and memoised;
planning 100,000 changed targets costs a dictionary lookup each.

The row model follows the per-identity contract: a create or update that leaves
two one-way rows of a target with the same action and status merges them into
one `both` row, and `apply_to` on a `both` row splits it. Steps record the side
they address and the coverage they expect; the executor addresses rows by
(target, side) from what answers said, and stops rather than write to a row
whose coverage is not what the plan expected. The safety checker proves every
plan on cells only, so no merge or split can fool it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from inkbox_sync.model import (
    SIDES_OF,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    RuleStatus,
    Side,
)

#: A cell: None (no rule) or one of A/B (active allow/block), a/b (paused allow/block).
Code: TypeAlias = str | None
#: What a side should end as: N (no rule), K (as it is live), or a cell code
#: (lower case: staged, i.e. present but not enforced).
Desire: TypeAlias = Literal["N", "K", "A", "B", "a", "b"]
MoveKind: TypeAlias = Literal["create", "update", "delete"]

CODE: Final[dict[tuple[Action, RuleStatus], str]] = {
    ("allow", "active"): "A",
    ("block", "active"): "B",
    ("allow", "paused"): "a",
    ("block", "paused"): "b",
}
#: The same, as action -> status -> code: no tuple to build per lookup on hot paths.
CODES: Final[dict[str, dict[str, str]]] = {
    "allow": {"active": "A", "paused": "a"},
    "block": {"active": "B", "paused": "b"},
}
_RULE_OF: Final[dict[str, tuple[Action, RuleStatus]]] = {c: r for r, c in CODE.items()}
_MAX_WRITES: Final = 5
_MERGE_COST: Final = 10


@dataclass(frozen=True, slots=True)
class Move:
    """One write of a template. Rows are named by the side they cover (`side`)
    and the coverage they have then (`covers`); `row` is the live row's
    coverage at plan time when the addressed row is that original row (its id
    is the one to use), None when the plan itself created it."""

    kind: MoveKind
    phase: Literal[0, 2]
    direction: Direction | None = None  # create: the new row's; update: new coverage
    action: Action | None = None
    status: RuleStatus | None = None
    side: Side | None = None
    covers: Direction | None = None
    apply_to: Side | None = None
    row: Direction | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    cover: Direction
    code: str
    tag: str  # original coverage ("inbound"/"outbound"/"both") or "new"


Rows: TypeAlias = tuple[_Row, ...]
#: Cache key: live rows, desires, modes before/after per side, capabilities.
Situation: TypeAlias = tuple[
    tuple[tuple[Direction, str], ...],
    Desire,
    Desire,
    FilterMode,
    FilterMode,
    FilterMode,
    FilterMode,
    Capabilities,
]

_CACHE: dict[Situation, tuple[Move, ...] | None] = {}


def harmless_code(mode: FilterMode) -> str:
    return "A" if mode == "blacklist" else "B"


def satisfies(code: Code, desire: Desire, mode: FilterMode, caps: Capabilities, live: Code) -> bool:
    """Whether a cell holding `code` is what `desire` asks for under final `mode`.

    Staged (lower case) is a paused row of that action where status can be
    written; where it cannot, any paused row, or an active rule whose action
    is the side's default under the final mode (it changes nobody).
    """
    if desire == "N":
        return code is None
    if desire == "K":
        return code == live
    if desire == "A" or desire == "B" or caps.writable_status:
        return code == desire
    return code is not None and (code.islower() or code == harmless_code(mode))


def _verdict(code: Code, mode: FilterMode) -> bool:
    """Delivered/allowed? (bool for speed)"""
    if code == "A":
        return True
    if code == "B":
        return False
    return mode == "blacklist"


def _cells(rows: Rows) -> tuple[Code, Code]:
    inbound: Code = None
    outbound: Code = None
    for row in rows:
        if row.cover != "outbound":
            inbound = row.code
        if row.cover != "inbound":
            outbound = row.code
    return inbound, outbound


def template(situation: Situation) -> tuple[Move, ...] | None:
    """The writes for `situation`, or None if no safe sequence exists."""
    try:
        return _CACHE[situation]
    except KeyError:
        found = _search(situation)
        _CACHE[situation] = found
        return found


def _search(situation: Situation) -> tuple[Move, ...] | None:
    """Cheapest path by (writes, writes on the wrong side of the flip): Dijkstra
    over (rows, before/after the flip, verdicts, changes per side)."""
    live_rows, d_in, d_out, m0_in, m0_out, m1_in, m1_out, caps = situation
    rows: Rows = tuple(_Row(cover, code, cover) for cover, code in live_rows)
    live_in, live_out = _cells(rows)
    flips = m0_in != m1_in or m0_out != m1_out
    desires = {"inbound": d_in, "outbound": d_out}
    v0 = (_verdict(live_in, m0_in), _verdict(live_out, m0_out))

    def done(state: Rows) -> bool:
        c_in, c_out = _cells(state)
        return satisfies(c_in, d_in, m1_in, caps, live_in) and satisfies(
            c_out, d_out, m1_out, caps, live_out
        )

    def cost(move: Move) -> int:
        """A write costs 100; one more if it falls on the side of the flip it
        should not: pins (a side that must end active) before it, the rest after.
        (A write that makes the server merge rows costs _MERGE_COST more: plans
        that do not depend on consolidation are preferred at equal length.)"""
        if not flips:
            return 100
        wanted = 0 if any(desires[s] in ("A", "B") for s in _touched(move)) else 2
        return 100 + (move.phase != wanted)

    State = tuple[Rows, int, tuple[bool, bool], tuple[int, int]]
    start: State = (rows, 0, v0, (0, 0))
    best: dict[State, int] = {start: 0}
    parent: dict[State, tuple[State, Move | None]] = {}
    heap: list[tuple[int, int, State]] = [(0, 0, start)]
    counter = 0
    while heap:
        spent, _, state = heapq.heappop(heap)
        if spent > best.get(state, spent):
            continue
        state_rows, phase, seen, changes = state
        if (phase == 2 or not flips) and done(state_rows):
            path: list[Move] = []
            while state in parent:
                state, move = parent[state]
                if move is not None:
                    path.append(move)
            return tuple(reversed(path))
        if spent >= _MAX_WRITES * 100 + 100:
            continue
        steps: list[tuple[Move | None, int, State]] = []
        if phase == 0 and flips:
            after = _observe(state_rows, (m1_in, m1_out), seen, changes)
            if after is not None:
                steps.append((None, 0, (state_rows, 2, after[0], after[1])))
        modes = (m0_in, m0_out) if phase == 0 else (m1_in, m1_out)
        for move, nxt, merged in _moves(state_rows, caps, phase):
            observed = _observe(nxt, modes, seen, changes)
            if observed is not None:
                price = cost(move) + (_MERGE_COST if merged else 0)
                steps.append((move, price, (nxt, phase, observed[0], observed[1])))
        for move, price, nxt_state in steps:
            total = spent + price
            if total < best.get(nxt_state, total + 1):
                best[nxt_state] = total
                parent[nxt_state] = (state, move)
                counter += 1
                heapq.heappush(heap, (total, counter, nxt_state))
    return None


def _observe(
    rows: Rows,
    modes: tuple[FilterMode, FilterMode],
    seen: tuple[bool, bool],
    changes: tuple[int, int],
) -> tuple[tuple[bool, bool], tuple[int, int]] | None:
    """New verdicts and change counts, or None once a side changes a second time."""
    c_in, c_out = _cells(rows)
    now = (_verdict(c_in, modes[0]), _verdict(c_out, modes[1]))
    counts = (changes[0] + (now[0] != seen[0]), changes[1] + (now[1] != seen[1]))
    if counts[0] > 1 or counts[1] > 1:
        return None
    return now, counts


def _touched(move: Move) -> tuple[Side, ...]:
    if move.kind == "create":
        assert move.direction is not None
        return SIDES_OF[move.direction]
    if move.apply_to is not None:
        return (move.apply_to,)
    assert move.covers is not None
    sides = set(SIDES_OF[move.covers])
    if move.direction is not None:
        sides.update(SIDES_OF[move.direction])
    return tuple(s for s in ("inbound", "outbound") if s in sides)


def _covered(rows: Rows) -> set[Side]:
    out: set[Side] = set()
    for row in rows:
        out.update(SIDES_OF[row.cover])
    return out


def _moves(rows: Rows, caps: Capabilities, phase: int) -> list[tuple[Move, Rows, bool]]:
    """Every single write possible from `rows`, with the rows it leaves, in a fixed order."""
    ph: Literal[0, 2] = 0 if phase == 0 else 2
    out: list[tuple[Move, Rows, bool]] = []
    covered = _covered(rows)
    for index, row in enumerate(rows):
        others = rows[:index] + rows[index + 1 :]
        side: Side = "inbound" if row.cover != "outbound" else "outbound"
        original: Direction | None = None if row.tag == "new" else row.tag  # type: ignore[assignment]
        action, status = _RULE_OF[row.code]
        base = {"side": side, "covers": row.cover, "row": original}
        # action and/or status
        for code, (new_action, new_status) in _RULE_OF.items():
            if code == row.code or (new_status != status and not caps.writable_status):
                continue
            move = Move(
                "update",
                ph,
                action=new_action if new_action != action else None,
                status=new_status if new_status != status else None,
                **base,  # type: ignore[arg-type]
            )
            out.append((move, *_merge((*others, _Row(row.cover, code, row.tag)), caps)))
        if caps.directional_rules:
            taken = covered - set(SIDES_OF[row.cover])
            for cover in ("inbound", "outbound", "both"):
                if cover == row.cover or taken & set(SIDES_OF[cover]):
                    continue
                for new_action in (action, "block" if action == "allow" else "allow"):
                    code = CODE[(new_action, status)]
                    move = Move(
                        "update",
                        ph,
                        direction=cover,
                        action=new_action if new_action != action else None,
                        **base,  # type: ignore[arg-type]
                    )
                    new_row = _Row(cover, code, row.tag)
                    out.append((move, *_merge((*others, new_row), caps)))
        if caps.apply_to and row.cover == "both" and status == "active":
            other_action: Action = "block" if action == "allow" else "allow"
            for split in ("inbound", "outbound"):
                rest: Direction = "outbound" if split == "inbound" else "inbound"
                move = Move("update", ph, action=other_action, apply_to=split, **base)  # type: ignore[arg-type]
                pieces = (
                    _Row(rest, row.code, row.tag),
                    _Row(split, CODE[(other_action, status)], "new"),
                )
                out.append((move, *_merge((*others, *pieces), caps)))
        out.append((Move("delete", ph, **base), others, False))  # type: ignore[arg-type]
    covers: tuple[Direction, ...] = (
        ("both", "inbound", "outbound") if caps.directional_rules else ("both",)
    )
    for cover in covers:
        if covered & set(SIDES_OF[cover]):
            continue
        for new_action in ("allow", "block"):
            move = Move("create", ph, direction=cover, action=new_action)
            out.append(
                (move, *_merge((*rows, _Row(cover, CODE[(new_action, "active")], "new")), caps))
            )
    return out


def _merge(rows: Rows, caps: Capabilities) -> tuple[Rows, bool]:
    """Two one-way rows with the same action and status become one `both` row
    (the per-identity contract's consolidation; it keeps the older row's id);
    rows in canonical order. Also says whether a merge happened."""
    if caps.directional_rules and len(rows) == 2 and rows[0].code == rows[1].code:
        tag = rows[0].tag if rows[0].tag != "new" else rows[1].tag
        return (_Row("both", rows[0].code, tag),), True
    return tuple(sorted(rows, key=lambda r: r.cover)), False
