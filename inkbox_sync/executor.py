"""Runs a plan's steps against the API in an order that keeps the safety proof valid.

Per number: phase 0, then the filter_mode flip (phase 1), then phase 2; within
a phase each (number, target) chain runs in list order, and chains run
concurrently (the client bounds requests in flight). Numbers are independent.
These are exactly the orderings `safety.py` reasons about.

On the first failure no new step starts; steps already in flight finish. What
was done and what was not is reported. Because every prefix of a safe plan is a
state from which a fresh plan is again safe, re-running apply converges.
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

    @property
    def ok(self) -> bool:
        return not self.failed


async def execute(
    client: WriteClient, steps: Sequence[Step], on_step: StepCallback | None = None
) -> ExecutionResult:
    result = ExecutionResult()
    stop = asyncio.Event()
    by_number: dict[str, list[tuple[int, Step]]] = {}
    for index, step in enumerate(steps):
        by_number.setdefault(step.number, []).append((index, step))

    async def run_number(indexed: list[tuple[int, Step]]) -> None:
        created: dict[str, str] = {}  # target -> id of a rule this run created
        for phase in (0, 1, 2):
            chains: dict[str | None, list[tuple[int, Step]]] = {}
            for index, step in indexed:
                if step.phase == phase:
                    chains.setdefault(step.target, []).append((index, step))
            if not chains:
                continue
            await asyncio.gather(*(run_chain(chain, created) for chain in chains.values()))
            if stop.is_set():
                return  # the flip is a barrier: never cross it after a failure

    async def run_chain(chain: list[tuple[int, Step]], created: dict[str, str]) -> None:
        for index, step in chain:
            if stop.is_set():
                return
            try:
                adopted = await _run_step(client, step, created)
            except InkboxSyncError as exc:
                stop.set()
                result.failed.append((index, str(exc)))
                if on_step:
                    on_step(index, step, str(exc))
                return
            result.done.append(index)
            if adopted:
                result.adopted.append(index)
            if on_step:
                on_step(index, step, None)

    await asyncio.gather(*(run_number(indexed) for indexed in by_number.values()))
    result.done.sort()
    return result


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
            # The slot is taken: most likely by this very create, committed before
            # its answer was lost. Adopt that rule and give it what the create
            # would have, which is exactly as safe as the create itself.
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
