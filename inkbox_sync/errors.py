"""Every error inkbox-sync raises on purpose, in one tree.

Each error knows the exit code the CLI returns for it; the CLI is the only
place that prints them::

    InkboxSyncError                  exit 1, the root
    ├── ManifestError                the manifests are invalid (all diagnostics at once)
    ├── ConfigError                  missing API key, bad option values
    ├── PlanError                    desired state cannot be planned against live
    │                                (number not owned, agent mismatch, ...)
    ├── RefusedError                 apply refused before any write: safety valve,
    │                                unsafe or stale plan, key scope, no terminal to ask on
    ├── Interrupted                  SIGINT or SIGTERM: exit 130 or 143 (128 + the signal)
    ├── NotSent                      a write apply had queued, withheld because apply is
    │                                stopping (never seen by the user: not a failure)
    ├── ApplyError                   apply stopped part way; carries what was done
    │   └── ApplyInterrupted         ...because of SIGINT or SIGTERM: exit 130 or 143
    └── ApiError                     the Inkbox API answered with an error
        ├── TemporaryApiError        worth retrying: 429, 5xx, timeouts, lost connections
        │   ├── RateLimitedError     429, with the server's Retry-After in seconds
        │   └── UnreachableError     no answer (refused, reset, timed out, cut short), every try
        └── PermanentApiError        retrying will not help: other 4xx
            ├── ConnectionFailedError  no answer, and none will come: certificate, unknown
            │                        host, TLS, a refused proxy tunnel, an oversized answer
            ├── AuthError            401 or 403
            ├── NotFoundError        404
            ├── ConflictError        409; `existing_rule_id` when a rule slot is taken
            └── ValidationFailedError  422

Exit code 2 is not an error: it is `plan --detailed-exitcode` saying "changes".
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one place of one manifest file (1-based line and column)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class InkboxSyncError(Exception):
    """Root of every error inkbox-sync raises on purpose."""

    exit_code: int = 1


class ManifestError(InkboxSyncError):
    """The manifests are invalid; carries every diagnostic found, sorted."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.message))
        )
        count = len(self.diagnostics)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in manifests")


class ConfigError(InkboxSyncError):
    """Configuration the command needs is missing or wrong."""


class PlanError(InkboxSyncError):
    """Desired state cannot be planned against the live organisation."""


class RefusedError(InkboxSyncError):
    """Apply refused to start; nothing was written."""


def signal_name(signum: int) -> str:
    """`SIGINT`, `SIGTERM`, ...: how messages name a signal."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupted(InkboxSyncError):
    """A signal stopped the command; the exit code is the shell's 128 + its number."""

    def __init__(self, message: str, *, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class NotSent(InkboxSyncError):
    """A write that was about to be sent (its slot taken, its rate-limit wait over)
    and was withheld because apply is stopping: nothing reached the API."""


class ApplyError(InkboxSyncError):
    """Apply stopped part way. `done` and `not_done` describe every step (the CLI
    decides how many to list); `uncertain` the writes abandoned in flight, which
    may or may not have been committed; `failed` every failed write with its
    error; `summary` what was written, by kind."""

    def __init__(
        self,
        message: str,
        done: Sequence[str] = (),
        not_done: Sequence[str] = (),
        uncertain: Sequence[str] = (),
        failed: Sequence[str] = (),
        summary: str = "",
    ) -> None:
        super().__init__(message)
        self.done = tuple(done)
        self.not_done = tuple(not_done)
        self.uncertain = tuple(uncertain)
        self.failed = tuple(failed)
        self.summary = summary


class ApplyInterrupted(ApplyError):
    """SIGINT or SIGTERM during apply: no new write started; exit 128 + the signal."""

    def __init__(
        self,
        message: str,
        *,
        signum: int,
        done: Sequence[str] = (),
        not_done: Sequence[str] = (),
        uncertain: Sequence[str] = (),
        failed: Sequence[str] = (),
        summary: str = "",
    ) -> None:
        super().__init__(message, done, not_done, uncertain, failed, summary)
        self.signum = signum
        self.exit_code = 128 + signum


class ApiError(InkboxSyncError):
    """The Inkbox API answered a request with an error (or not at all)."""

    def __init__(self, message: str, *, status: int | None = None, detail: object = None):
        super().__init__(message)
        self.status = status
        self.detail = detail


class TemporaryApiError(ApiError):
    """A failure that may go away on retry: 429, 5xx, timeouts, lost connections."""


class RateLimitedError(TemporaryApiError):
    """429 Too Many Requests; `retry_after` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, detail: object = None):
        super().__init__(message, status=429, detail=detail)
        self.retry_after = retry_after


class PermanentApiError(ApiError):
    """A failure that retrying will not fix."""


class AuthError(PermanentApiError):
    """401 (missing or unknown API key) or 403 (key lacks the rights)."""


class NotFoundError(PermanentApiError):
    """404: the resource does not exist."""


class ConflictError(PermanentApiError):
    """409: a non-deleted rule already holds the target's slot.

    `after_lost_answer`: an earlier attempt of the same request failed in a way
    that may have committed it (5xx, timeout, connection lost), so the rule in
    the way may be that attempt's own. Only then may a create adopt it.
    """

    def __init__(
        self,
        message: str,
        *,
        existing_rule_id: str | None,
        detail: object = None,
        after_lost_answer: bool = False,
    ):
        super().__init__(message, status=409, detail=detail)
        self.existing_rule_id = existing_rule_id
        self.after_lost_answer = after_lost_answer


class ValidationFailedError(PermanentApiError):
    """422: the API rejected the request body."""


class UnreachableError(TemporaryApiError):
    """No answer came, on every attempt: `cause` says why in words that name `host`."""

    def __init__(self, message: str, *, host: str, cause: str) -> None:
        super().__init__(message)
        self.host = host
        self.cause = cause


class ConnectionFailedError(PermanentApiError):
    """No answer came, and retrying cannot bring one: `cause` names `host` and the reason."""

    def __init__(self, message: str, *, host: str, cause: str) -> None:
        super().__init__(message)
        self.host = host
        self.cause = cause
