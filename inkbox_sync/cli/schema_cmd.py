"""`inkbox-sync schema`: the manifest JSON Schema, for editors and other tools."""

from __future__ import annotations

import click

from inkbox_sync.cli.output import data
from inkbox_sync.manifest import schema_text


@click.command("schema")
@click.option(
    "--plan", "plan", is_flag=True, help="Print the schema of plan JSON documents instead."
)
def command(plan: bool) -> None:
    """Print the manifest JSON Schema (schemas/manifest.schema.json is this output).

    \b
    Point your editor's YAML plugin at it, e.g. with a first line
      # yaml-language-server: $schema=../schemas/manifest.schema.json
    """
    if plan:
        from inkbox_sync.plan_file import schema_text as plan_schema_text

        data(plan_schema_text(), nl=False)
        return
    data(schema_text(), nl=False)
