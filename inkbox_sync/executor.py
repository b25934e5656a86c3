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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from inkbox_sync.errors import ConflictError, InkboxSyncError
from inkbox_sync.model import Action, LiveNumber, LiveRule, RuleStatus
from inkbox_sync.plan import Step


class WriteClient(Protocol):
    @property
    def concurrency(self) -> int: ...

    async def patch_number(self, number_id: str, fields: Mapping[str, object]) -> LiveNumber: ...

    async def create_rule(self, number_id: str, *, action: Action, target: str) -> LiveRule: ...

    async def update_rule(
        self,
        number_id: str,
        rule_id: str,
        *,
        action: Action | None = None,
        status: RuleStatus | None = None,
    ) -> LiveRule: ...

    async def delete_rule(self, number_id: str, rule_id: str) -> None: ...


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
        self, client: WriteClient, steps: Sequence[Step], on_step: StepCallback | None = None
    ) -> None:
        self.result = ExecutionResult()
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
        await asyncio.gather(*(self._run_number(indexed) for indexed in by_number.values()))
        self.result.done.sort()
        return self.result

    async def _run_number(self, indexed: list[tuple[int, Step]]) -> None:
        created: dict[str, str] = {}  # target -> id of a rule this run created
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

    async def _run_chain(self, chain: list[tuple[int, Step]], created: dict[str, str]) -> None:
        result = self.result
        for index, step in chain:
            async with self._slots:
                # Checked here, with the slot in hand, not before waiting for it:
                # a failure while this write queued must stop it too.
                if self._stopping:
                    return
                result.in_flight.add(index)
                try:
                    adopted = await _run_step(self._client, step, created)
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


async def _run_step(client: WriteClient, step: Step, created: dict[str, str]) -> bool:
    """One write. Returns True when a create found its slot taken and adopted that rule."""
    if step.kind == "update_number":
        await client.patch_number(step.number_id, dict(step.fields or {}))
        return False
    assert step.target is not None
    if step.kind == "create_rule":
        assert step.action is not None
        try:
            rule = await client.create_rule(step.number_id, action=step.action, target=step.target)
        except ConflictError as exc:
            if exc.existing_rule_id is None:
                raise
            if not exc.after_lost_answer:
                # The first attempt found the slot taken: someone created this rule
                # between plan and apply. Taking it over would silently override them.
                raise ConflictError(
                    f"a rule for {step.target} on {step.number} already exists "
                    f"(id {exc.existing_rule_id}): it was created by someone else after the "
                    "plan was read, so it is not adopted; run plan again to see it",
                    existing_rule_id=exc.existing_rule_id,
                    detail=exc.detail,
                ) from None
            # An earlier attempt of this very create may have committed before its
            # answer was lost: the rule in the way is most likely ours. Adopt it and
            # give it what the create would have, which is exactly as safe as the create.
            created[step.target] = exc.existing_rule_id
            await client.update_rule(
                step.number_id, exc.existing_rule_id, action=step.action, status="active"
            )
            return True
        created[step.target] = rule.id
        return False
    rule_id = step.rule_id or created.get(step.target)
    if rule_id is None:
        raise InkboxSyncError(f"no rule id for {step.target} on {step.number}")
    if step.kind == "update_rule":
        await client.update_rule(step.number_id, rule_id, action=step.action, status=step.status)
    else:
        await client.delete_rule(step.number_id, rule_id)
    return False
