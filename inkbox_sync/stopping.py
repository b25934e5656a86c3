"""Stop means stop, down to the socket: may a new write still be sent?

The executor checks its stop flag when a write takes its slot, but the client may
then hold that write back on the rate limit for seconds; a failure or a signal in
that time must stop it too. So the executor publishes its flag here (a context
variable: the writes it starts see it, nothing else does), and the transport asks,
right before sending, for every write none of whose earlier attempts may have
been committed. Writes that might have landed are retried to the end as before:
they are in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Final

#: Returns False once no new write may start. Unset outside apply: always allowed.
WRITE_GATE: Final[ContextVar[Callable[[], bool] | None]] = ContextVar(
    "inkbox_sync_write_gate", default=None
)


def writes_allowed() -> bool:
    gate = WRITE_GATE.get()
    return gate is None or gate()
