"""What a read of live state must cover, told to the reader while the manifests load.

`plan` and `apply` start reading when the process starts: the identities and
numbers listings need nothing from the manifests, and neither does the
org-wide rule listing once the reader knows it would choose it anyway. Which
listing is cheaper depends on how many of the organisation's policy holders
the manifests manage (`InkboxClient._read_rule_lists`), and that is known only
as the manifests load. So the loader tells a `Demand`, file by file, the
holders it has found whose policy is managed (`name`), and finally the whole
answer (`settle`); the reader waits on it (`until`, `settled`).

Names only ever add to what the settled demand holds (every holder named is
in the final maps, for a load that succeeds), so a choice made on the names
so far is the choice the settled demand would make: the org-wide listing is
started early only when it is what the reader would choose anyway, and no
request is made whose answer the plan does not use. A load that fails ends
the run before anything is planned.

`name` and `settle` may be called from another thread (the loader runs in
one); everything else runs on the reader's event loop, which must be running
when the Demand is made.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Iterable, Mapping

__all__ = ["Demand", "Settled"]

#: A settled demand: (E.164 number -> whether its policy is read, or None for the
#: whole organisation; agent handle -> whether its policy is read).
Settled = tuple[dict[str, bool] | None, dict[str, bool]]


class Demand:
    """The holders a read must cover: named as they are found, then settled."""

    def __init__(self, targets: Collection[str] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._targets = frozenset(targets) if targets else None
        self._lock = threading.Lock()
        self._numbers: set[str] = set()
        self._agents: set[str] = set()
        self._final: Settled | None = None
        self._changed = asyncio.Event()

    @classmethod
    def settled_as(
        cls, numbers: Mapping[str, bool] | None, agents: Mapping[str, bool] | None = None
    ) -> Demand:
        """A demand known in full from the start: `numbers` maps each E.164 number to
        whether its policy is read (None: the whole organisation, for export),
        `agents` each agent handle likewise."""
        demand = cls()
        demand.settle(numbers, agents or {})
        return demand

    # -- the loader's side (any thread) ------------------------------------------

    def name(self, numbers: Iterable[str], agents: Iterable[str]) -> None:
        """Holders whose policy the manifests certainly manage (more may follow)."""
        with self._lock:
            if self._final is not None:
                return
            self._numbers.update(self._kept(numbers))
            self._agents.update(self._kept(agents))
        self._wake()

    def settle(self, numbers: Mapping[str, bool] | None, agents: Mapping[str, bool]) -> None:
        """The final answer: every holder read, and whether its policy is."""
        with self._lock:
            self._final = (None if numbers is None else dict(numbers), dict(agents))
        self._wake()

    def _kept(self, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if self._targets is None or k in self._targets]

    def _wake(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._changed.set()
        else:
            self._loop.call_soon_threadsafe(self._changed.set)

    # -- the reader's side (the event loop) ---------------------------------------

    @property
    def named(self) -> tuple[frozenset[str], frozenset[str]]:
        """(numbers, agents) named so far whose policy is managed."""
        with self._lock:
            return frozenset(self._numbers), frozenset(self._agents)

    async def until(self, enough: Callable[[frozenset[str], frozenset[str]], bool]) -> bool:
        """Wait until `enough(numbers, agents)` holds for the names so far (True),
        or the demand is settled (False if `enough` does not hold of the names by then)."""
        while True:
            self._changed.clear()
            numbers, agents = self.named
            if enough(numbers, agents):
                return True
            if self._final is not None:
                return False
            await self._changed.wait()

    async def settled(self) -> Settled:
        """The final maps, once the loader has given them."""
        await self.until(lambda numbers, agents: False)  # returns once settled
        assert self._final is not None
        return self._final
