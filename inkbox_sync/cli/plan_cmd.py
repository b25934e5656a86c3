"""`inkbox-sync plan` (placeholder until its issue lands)."""

import click


@click.command("plan")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("'plan' is not built yet")
