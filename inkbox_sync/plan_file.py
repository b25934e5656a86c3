"""The plan as a JSON document: what `plan --format json` prints and `--out` saves.

One set of types (the frozen dataclasses of `plan.py`) is serialised, validated
and described by pydantic, so the JSON, the loader of saved plans and
`schemas/plan.schema.json` cannot drift apart. pydantic is imported, and the
document's validator built (a tenth of a second together), at the first dump or
load: `plan` prints text by default and never needs them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from inkbox_sync import __version__
from inkbox_sync.errors import ConfigError
from inkbox_sync.model import Capabilities
from inkbox_sync.plan import (
    NumberBasis,
    NumberChange,
    Plan,
    PlanWarning,
    SafetyReport,
    Staging,
    Step,
    Summary,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

#: 2: policy with sides (per-side modes, rule directions, abstract steps),
#: the API version and its capabilities.
FORMAT_VERSION: Literal[2] = 2


@dataclass(frozen=True, slots=True)
class PlanDocument:
    """A plan on the wire. `basis` records, per changed number, what the plan was
    computed from, so `apply --plan` can refuse it once live state has moved, and
    the API version it was made against, so it never applies against another."""

    format_version: Literal[2]
    tool_version: str
    created_at: str
    source: str
    api_version: str
    capabilities: Capabilities
    staging: Staging
    summary: Summary
    changes: tuple[NumberChange, ...]
    steps: tuple[Step, ...]
    warnings: tuple[PlanWarning, ...]
    safety: SafetyReport
    basis: Mapping[str, NumberBasis]
    numbers_checked: int
    notes: tuple[PlanWarning, ...] = ()

    def to_plan(self) -> Plan:
        return Plan(
            changes=self.changes,
            steps=self.steps,
            warnings=self.warnings,
            notes=self.notes,
            safety=self.safety,
            basis=self.basis,
            numbers_checked=self.numbers_checked,
            api_version=self.api_version,
            capabilities=self.capabilities,
        )


@functools.cache
def _adapter() -> TypeAdapter[PlanDocument]:
    from pydantic import TypeAdapter

    return TypeAdapter(PlanDocument)


def to_document(plan: Plan, *, source: str) -> PlanDocument:
    """`source` says where live state was read from; pass a redacted URL, never a key."""
    return PlanDocument(
        format_version=FORMAT_VERSION,
        tool_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source=source,
        api_version=plan.api_version,
        capabilities=plan.capabilities,
        staging=plan.staging,
        summary=plan.summary,
        changes=plan.changes,
        steps=plan.steps,
        warnings=plan.warnings,
        safety=plan.safety,
        basis=plan.basis,
        numbers_checked=plan.numbers_checked,
        notes=plan.notes,
    )


def dump_json(document: PlanDocument) -> str:
    return _adapter().dump_json(document, indent=2).decode() + "\n"


def load_json(text: str | bytes, *, origin: str) -> PlanDocument:
    """Parse and validate a saved plan; a clear ConfigError names what is wrong."""
    from pydantic import ValidationError

    try:
        return _adapter().validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{origin} is not an inkbox-sync plan (format_version {FORMAT_VERSION}): "
            f"{where}: {first['msg']}"
        ) from None


def plan_json_schema() -> dict[str, Any]:
    schema = _adapter().json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "inkbox-sync plan"
    return schema


def schema_text() -> str:
    return json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
