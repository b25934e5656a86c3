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

A *live line* (`live`) is the one line a terminal shows at its bottom while a
long read or apply runs (`cli/progress.py` draws it): every other line printed
meanwhile is printed above it, so it is erased first and drawn again after.
Colour is on unless `--no-color` / `NO_COLOR` (`use_color`), and only ever on a
terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import traceback
from typing import IO, Final

import click

from inkbox_sync.errors import ApplyError, InkboxSyncError, ManifestError
from inkbox_sync.redact import Redactor

#: How many done / not-done steps an apply report lists before summarising.
LISTED: Final = 20

_REDACTOR = Redactor()
_LOCK = threading.RLock()  # the live line is redrawn from a ticker thread
_live: str | None = None  # the live line as drawn now on the stderr terminal, if any
_colour = "NO_COLOR" not in os.environ


def protect(secret: str | None) -> None:
    """Scrub `secret` from every output from now on."""
    _REDACTOR.add(secret)


def redacted(text: str) -> str:
    """`text` as `say` would print it."""
    return _REDACTOR.text(text)


def use_color(enabled: bool) -> None:
    """`--no-color` / `NO_COLOR` off; on, colour still shows on terminals only."""
    global _colour
    _colour = enabled


def is_terminal(*, err: bool = False) -> bool:
    """Whether stdout (stderr with `err`) is a terminal."""
    return (sys.stderr if err else sys.stdout).isatty()


def color_on(*, err: bool = False) -> bool:
    """Whether output on stdout (stderr with `err`) is coloured: a terminal, colour on."""
    return _colour and is_terminal(err=err)


def say(
    text: str = "",
    *,
    err: bool = False,
    nl: bool = True,
    fg: str | None = None,
    bold: bool | None = None,
) -> None:
    """Print text for people: the key scrubbed, URLs redacted, then styled (on a
    terminal, colour on). A live line stays below it."""
    text = _REDACTOR.text(text)
    if (fg is not None or bold is not None) and color_on(err=err):
        text = click.style(text, fg=fg, bold=bold)
    with _LOCK:
        shared = _live is not None and (err or is_terminal())
        if shared:
            _erase()
        click.echo(text, err=err, nl=nl)
        if shared and nl:
            _draw(_live or "")


def live(text: str | None) -> None:
    """Show `text` as the live line at the bottom of the stderr terminal (None: remove
    it). Cut to the terminal's width: a wrapped line could not be redrawn in place.
    Does nothing unless stderr is a terminal."""
    global _live
    if not is_terminal(err=True):
        return
    with _LOCK:
        if text is None:
            if _live is not None:
                _erase()
            _live = None
            return
        width = shutil.get_terminal_size().columns - 1
        _live = _REDACTOR.text(text)[: max(width, 10)]
        _draw(_live)


def _erase() -> None:
    sys.stderr.write("\r\033[K")
    sys.stderr.flush()


def _draw(text: str) -> None:
    sys.stderr.write("\r" + text + "\033[K")
    sys.stderr.flush()


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


def github_annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    title: str | None = None,
) -> str:
    """A GitHub Actions workflow command (`::error file=F,line=L,col=C::message`) that
    marks the line in the pull request. Redacted before it is escaped: escaping
    could split a URL the layer must see whole."""
    props = [
        f"{name}={_escape_property(str(value))}"
        for name, value in (("file", file), ("line", line), ("col", column), ("title", title))
        if value is not None
    ]
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(_REDACTOR.text(message))}"


def _escape_data(text: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(_REDACTOR.text(text)).replace(":", "%3A").replace(",", "%2C")


def report_error(exc: InkboxSyncError) -> None:
    """Print an error on stderr the way a user can act on it."""
    if isinstance(exc, ManifestError):
        for diagnostic in exc.diagnostics:
            say(str(diagnostic), err=True)
        say(f"error: {exc}", err=True)
        return
    if isinstance(exc, ApplyError):
        # The lists first, then every failure together, then what it means: the
        # last lines on the screen are the ones to act on.
        if exc.summary:
            say(exc.summary, err=True)
        _listing("done", exc.done)
        _listing("in flight when abandoned: may or may not have been made", exc.uncertain)
        _listing("not done", exc.not_done)
        if exc.failed:
            say(f"failed ({len(exc.failed)}):", fg="red", bold=True, err=True)
            for line in exc.failed:
                say(f"  {line}", fg="red", err=True)
    say(f"error: {exc}", fg="red", err=True)


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
