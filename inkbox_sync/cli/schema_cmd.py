"""`inkbox-sync schema` (placeholder until its issue lands)."""

import click


@click.command("schema")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("'schema' is not built yet")
