"""Printing: every line the commands write passes through here, and through redaction.

`say` is for text people read (plans, progress, `-v` lines, apply output,
errors, annotations): the API key is scrubbed and URLs are shown without
userinfo and with their query and fragment values masked. `data` is for
documents that must round-trip (the JSON plan, exported manifests): the key is
scrubbed, URLs are kept whole. Nothing else in the CLI calls `click.echo`
(the sandbox server's own banner aside).

The redactor learns the key as soon as it is known (`protect`): from the
environment and `--api-key` before any command runs, from `~/.inkbox/config`
or an embedded sandbox when the endpoint is resolved.
"""

from __future__ import annotations

import sys
import traceback
from typing import IO, Final

import click

from inkbox_sync.errors import ApplyError, InkboxSyncError, ManifestError
from inkbox_sync.redact import Redactor

#: How many done / not-done steps an apply report lists before summarising.
LISTED: Final = 20

_REDACTOR = Redactor()


def protect(secret: str | None) -> None:
    """Scrub `secret` from every output from now on."""
    _REDACTOR.add(secret)


def redacted(text: str) -> str:
    """`text` as `say` would print it."""
    return _REDACTOR.text(text)


def say(
    text: str = "",
    *,
    err: bool = False,
    nl: bool = True,
    fg: str | None = None,
    bold: bool | None = None,
) -> None:
    """Print text for people: the key scrubbed, URLs redacted, then styled."""
    text = _REDACTOR.text(text)
    if fg is not None or bold is not None:
        text = click.style(text, fg=fg, bold=bold)
    click.echo(text, err=err, nl=nl)


def data(text: str, *, nl: bool = True) -> None:
    """Print a document that must round-trip: the key scrubbed, URLs whole."""
    click.echo(_REDACTOR.scrub(text), nl=nl)


def scrubbed(text: str) -> str:
    """`text` as `data` would print it: for files that must round-trip."""
    return _REDACTOR.scrub(text)


class _RedactingWriter:
    """A file for click's own printing (usage errors): every write is redacted."""

    def __init__(self, target: IO[str]) -> None:
        self._target = target

    def write(self, text: str) -> int:
        return self._target.write(_REDACTOR.text(text))

    def flush(self) -> None:
        self._target.flush()


def stderr_writer() -> IO[str]:
    return _RedactingWriter(sys.stderr)  # type: ignore[return-value]


def report_error(exc: InkboxSyncError) -> None:
    """Print an error on stderr the way a user can act on it."""
    if isinstance(exc, ManifestError):
        for diagnostic in exc.diagnostics:
            say(str(diagnostic), err=True)
        say(f"error: {exc}", err=True)
        return
    say(f"error: {exc}", fg="red", err=True)
    if isinstance(exc, ApplyError):
        _listing("done", exc.done)
        _listing("in flight when abandoned: may or may not have been made", exc.uncertain)
        _listing("not done", exc.not_done)


def _listing(title: str, lines: tuple[str, ...]) -> None:
    """`title (N):` counts the whole list; the first LISTED lines follow."""
    if not lines:
        return
    say(f"{title} ({len(lines)}):", err=True)
    for line in lines[:LISTED]:
        say(f"  {line}", err=True)
    if len(lines) > LISTED:
        say(f"  ... and {len(lines) - LISTED} more", err=True)


def report_crash(exc: BaseException) -> None:
    """An error inkbox-sync did not raise on purpose: a bug. The traceback is
    shown (it is what a bug report needs), redacted like every other line."""
    say(
        "error: internal error (a bug in inkbox-sync; please report it with this traceback)",
        fg="red",
        err=True,
    )
    say("".join(traceback.format_exception(exc)), err=True, nl=False)
