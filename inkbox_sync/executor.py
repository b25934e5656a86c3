"""Runs a plan's steps against the API in an order that keeps the safety proof valid.

Per number: phase 0, then the filter_mode flip (phase 1), then phase 2; within
a phase each (number, target) chain runs in list order, and chains run
concurrently, at most `client.concurrency` writes at once. Numbers are
independent. These are exactly the orderings `safety.py` reasons about.

Stop means stop. After the first failed write, or once `halt()` is called (a
signal), no new write starts: the check is made after a write has its slot,
right before it is sent, so the writes queued for a slot never start either.
Writes already sent finish (retries included) and are reported. Because every
prefix of a safe plan is a state from which a fresh plan is again safe,
re-running apply converges.

Steps are abstract writes; the client (one adapter per API version) maps each
to its request. Rule steps name their row by (target, side): the id comes from
what the API answered so far in this run (a server may split or merge rows and
keep old ids as aliases), else from the plan. Every answer's id and direction
are taken as the truth, and a write whose row covers other sides than the
plan expected is not sent: the run stops, and a fresh plan starts from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from inkbox_sync.errors import ConflictError, InkboxSyncError, NotSent
from inkbox_sync.model import (
    SIDES,
    SIDES_OF,
    Action,
    Capabilities,
    Direction,
    FilterMode,
    LiveRule,
    RuleStatus,
    Side,
)
from inkbox_sync.plan import Step
from inkbox_sync.stopping import WRITE_GATE


class WriteClient(Protocol):
    """The writes an API adapter offers. `address` is a step's: the number id for
    routing, the policy holder's id for modes and rules."""

    @property
    def concurrency(self) -> int: ...

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> object: ...

    async def set_modes(self, address: str, modes: Mapping[Side, FilterMode]) -> object: ...

    async def create_rule(
        self, address: str, *, action: Action, target: str, direction: Direction = "both"
    ) -> LiveRule: ...

    async def update_rule(
        self,
        address: str,
        rule_id: str,
        *,
        action: Action | None = None,
        status: RuleStatus | None = None,
        direction: Direction | None = None,
        apply_to: Side | None = None,
    ) -> LiveRule: ...

    async def delete_rule(self, address: str, rule_id: str) -> None: ...

    async def get_rule(self, address: str, rule_id: str) -> LiveRule: ...


StepCallback = Callable[[int, Step, str | None], None]
"""Called as each step ends: (index in the plan, step, error message or None)."""


@dataclass(slots=True)
class ExecutionResult:
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)
    #: Steps sent and not yet answered; after a normal end, empty. Not empty only
    #: when the run was abandoned (cancelled) while they were in flight.
    in_flight: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failed


class Executor:
    """One run of a plan's steps. `run()` once; `halt()` from anywhere on its loop."""

    def __init__(
        self,
        client: WriteClient,
        steps: Sequence[Step],
        on_step: StepCallback | None = None,
        *,
        capabilities: Capabilities | None = None,
    ) -> None:
        """`capabilities` are the API's: they decide how a create that meets its own
        earlier, committed attempt is adopted."""
        self.result = ExecutionResult()
        self._caps = capabilities or Capabilities()
        self._client = client
        self._steps = steps
        self._on_step = on_step
        self._stopping = False
        self._slots = asyncio.Semaphore(client.concurrency)

    def halt(self) -> None:
        """Start no new write; those in flight finish."""
        self._stopping = True

    @property
    def halted(self) -> bool:
        return self._stopping

    async def run(self) -> ExecutionResult:
        by_number: dict[str, list[tuple[int, Step]]] = {}
        for index, step in enumerate(self._steps):
            by_number.setdefault(step.number, []).append((index, step))
        # The tasks gather starts copy this context: their writes see the stop flag.
        gate = WRITE_GATE.set(lambda: not self._stopping)
        try:
            await asyncio.gather(*(self._run_number(indexed) for indexed in by_number.values()))
        finally:
            WRITE_GATE.reset(gate)
        self.result.done.sort()
        return self.result

    async def _run_number(self, indexed: list[tuple[int, Step]]) -> None:
        created = RowMap()  # which row covers each (target, side), as answers said
        for phase in (0, 1, 2):
            chains: dict[str | None, list[tuple[int, Step]]] = {}
            for index, step in indexed:
                if step.phase == phase:
                    chains.setdefault(step.target, []).append((index, step))
            if not chains:
                continue
            await asyncio.gather(*(self._run_chain(chain, created) for chain in chains.values()))
            if self._stopping:
                return  # the flip is a barrier: never cross it after a failure

    async def _run_chain(self, chain: list[tuple[int, Step]], created: RowMap) -> None:
        result = self.result
        for index, step in chain:
            async with self._slots:
                # Checked here, with the slot in hand, not before waiting for it:
                # a failure while this write queued must stop it too.
                if self._stopping:
                    return
                result.in_flight.add(index)
                try:
                    adopted = await _run_step(self._client, step, created, self._caps)
                except NotSent:
                    result.in_flight.discard(index)  # withheld: not done, nothing sent
                    return
                except InkboxSyncError as exc:
                    self._stopping = True  # before the slot is released to a queued write
                    result.in_flight.discard(index)
                    result.failed.append((index, str(exc)))
                    if self._on_step:
                        self._on_step(index, step, str(exc))
                    return
                # Cancelled (abandoned) writes stay in `in_flight`: nobody knows if they landed.
                result.in_flight.discard(index)
            result.done.append(index)
            if adopted:
                result.adopted.append(index)
            if self._on_step:
                self._on_step(index, step, None)


#: In a RowMap: the side is covered by some row other than the one learnt (or by none).
_ELSEWHERE = "\x00elsewhere"


class RowMap:
    """Per holder: the id of the row covering each (target, side), as learnt from
    answers in this run (None: known to be uncovered; _ELSEWHERE: not by the row
    an answer showed). Sides never written in this run are absent: the plan's
    `rule_id` stands for them."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, Side], str | None] = {}

    def resolve(self, step: Step) -> str:
        """The id to address for `step`, refusing a row that covers other sides than
        the plan expected (the server merged or split rows in another way)."""
        assert step.target is not None
        side: Side = step.side or "inbound"
        rule_id = self._ids.get((step.target, side), _ELSEWHERE)
        if rule_id == _ELSEWHERE:
            rule_id = step.rule_id
        if rule_id is None:
            raise InkboxSyncError(f"no rule covers {step.target} {side} on {step.number}")
        expected = SIDES_OF[step.coverage]
        for other in SIDES:
            known = self._ids.get((step.target, other), ...)
            if known is ... or other == side:
                continue
            if (known == rule_id) != (other in expected):
                raise InkboxSyncError(
                    f"{step.target} on {step.number}: the API merged or split its rules "
                    f"differently than the plan expected (the rule does not cover "
                    f"{step.coverage} only); nothing more was written: run plan again"
                )
        return rule_id

    def learn(self, target: str, row: LiveRule) -> None:
        """Take an answer as the truth: `row` covers exactly its direction."""
        covered = SIDES_OF[row.direction]
        for side in SIDES:
            key = (target, side)
            if side in covered:
                self._ids[key] = row.id
            elif self._ids.get(key, row.id) == row.id:
                self._ids[key] = _ELSEWHERE

    def keep(self, target: str, side: Side, rule_id: str) -> None:
        self._ids[(target, side)] = rule_id

    def clear(self, target: str, sides: tuple[Side, ...]) -> None:
        for side in sides:
            self._ids[(target, side)] = None


async def _run_step(client: WriteClient, step: Step, rows: RowMap, caps: Capabilities) -> bool:
    """One write. Returns True when a create found its slot taken and adopted that rule."""
    if step.kind == "update_routing":
        await client.patch_number(step.address, dict(step.fields or {}))
        return False
    if step.kind == "set_modes":
        await client.set_modes(step.address, dict(step.modes or {}))
        return False
    target = step.target
    assert target is not None
    if step.kind == "create_rule":
        assert step.action is not None
        try:
            row = await client.create_rule(
                step.address, action=step.action, target=target, direction=step.coverage
            )
        except ConflictError as exc:
            if exc.existing_rule_id is None:
                raise
            if not exc.after_lost_answer:
                # The first attempt found the side taken: someone created this rule
                # between plan and apply. Taking it over would silently override them.
                raise ConflictError(
                    f"a rule for {step.target} on {step.number} already exists "
                    f"(id {exc.existing_rule_id}): it was created by someone else after the "
                    "plan was read, so it is not adopted; run plan again to see it",
                    existing_rule_id=exc.existing_rule_id,
                    detail=exc.detail,
                ) from None
            await _adopt(client, step, rows, caps, exc.existing_rule_id)
            return True
        rows.learn(target, row)
        return False
    rule_id = rows.resolve(step)
    sides = SIDES_OF[step.coverage]
    if step.kind == "delete_rule":
        await client.delete_rule(step.address, rule_id)
        rows.clear(target, sides)
        return False
    row = await client.update_rule(
        step.address,
        rule_id,
        action=step.action,
        status=step.status,
        direction=step.direction,
        apply_to=step.apply_to,
    )
    if step.apply_to is not None:
        # A split: the answer is the row now covering `apply_to`; the addressed row
        # keeps the other sides it covered.
        for side in sides:
            if side != step.apply_to:
                rows.keep(target, side, rule_id)
    elif step.direction is not None:
        rows.clear(target, tuple(s for s in sides if s not in SIDES_OF[row.direction]))
    rows.learn(target, row)
    return False


async def _adopt(
    client: WriteClient, step: Step, rows: RowMap, caps: Capabilities, existing: str
) -> None:
    """A retried create found a side taken: most likely by its own first attempt,
    committed before its answer was lost."""
    assert step.target is not None and step.action is not None
    if caps.writable_status:
        # Give that rule what the create would have, which is exactly as safe as
        # the create itself.
        row = await client.update_rule(step.address, existing, action=step.action, status="active")
        rows.learn(step.target, row)
        return
    # Status cannot be written, so only a rule that already is what the create
    # would make (maybe merged with the other side, which then had the same
    # action and status) is ours; anything else is someone else's.
    row = await client.get_rule(step.address, existing)
    wanted = SIDES_OF[step.coverage]
    if (
        row.action == step.action
        and row.status == "active"
        and set(wanted) <= set(SIDES_OF[row.direction])
    ):
        rows.learn(step.target, row)
        return
    raise ConflictError(
        f"a rule for {step.target} on {step.number} already covers "
        f"{row.direction} ({row.status} {row.action}, id {existing}); run plan again",
        existing_rule_id=existing,
    )
