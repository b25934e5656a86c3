"""Printing: colour, errors, and the redaction every line passes through."""

from __future__ import annotations

import click

from inkbox_sync.errors import ApplyError, InkboxSyncError, ManifestError


def report_error(exc: InkboxSyncError) -> None:
    """Print an error on stderr the way a user can act on it."""
    if isinstance(exc, ManifestError):
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        click.echo(f"error: {exc}", err=True)
        return
    click.secho(f"error: {exc}", fg="red", err=True)
    if isinstance(exc, ApplyError):
        if exc.done:
            click.echo(f"done ({len(exc.done)}):", err=True)
            for line in exc.done:
                click.echo(f"  {line}", err=True)
        if exc.not_done:
            click.echo(f"not done ({len(exc.not_done)}):", err=True)
            for line in exc.not_done:
                click.echo(f"  {line}", err=True)
