"""schemas/plan.schema.json is generated from the plan types and must stay identical."""

from __future__ import annotations

from pathlib import Path

from inkbox_sync.plan_file import schema_text

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


def test_plan_schema_file_matches_the_code() -> None:
    assert SCHEMA.read_text() == schema_text(), (
        "schemas/plan.schema.json is out of date: run `inkbox-sync schema --plan > schemas/plan.schema.json`"
    )
