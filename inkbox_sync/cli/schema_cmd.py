"""`inkbox-sync schema`: the manifest JSON Schema, for editors and other tools."""

from __future__ import annotations

import click

from inkbox_sync.cli.context import SubCommand, global_options
from inkbox_sync.cli.output import data
from inkbox_sync.manifest import schema_text


@click.command("schema", cls=SubCommand)
@global_options
@click.option(
    "--plan", "plan", is_flag=True, help="Print the schema of plan JSON documents instead."
)
def command(plan: bool) -> None:
    """Print the manifest JSON Schema (schemas/manifest.schema.json is this output).

    Point your editor's YAML plugin at it for completion and help on every key,
    e.g. with a first line in each manifest:

    \b
      # yaml-language-server: $schema=../schemas/manifest.schema.json

    \b
    Examples:
      inkbox-sync schema > manifest.schema.json     the manifest schema, for editors
      inkbox-sync schema --plan > plan.schema.json  the schema of `plan --format json`
      inkbox-sync schema | diff -u schemas/manifest.schema.json -   is the copy current?
    """
    if plan:
        from inkbox_sync.plan_file import schema_text as plan_schema_text

        data(plan_schema_text(), nl=False)
        return
    data(schema_text(), nl=False)
