"""`inkbox-sync export` (placeholder until its issue lands)."""

import click


@click.command("export")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("'export' is not built yet")
