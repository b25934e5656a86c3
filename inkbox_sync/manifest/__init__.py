"""Manifests: YAML files -> one validated `model.DesiredState`.

Public surface (the rest of the package is implementation):

- `load_manifests(paths, env=None, *, on_named=None) -> DesiredState`, raising
  `ManifestError`; `on_named` (an `OnNamed`) hears each file's holders that manage
  their policy as soon as it validates
- `load_manifest_set(paths, env=None, *, on_named=None) -> ManifestSet` (state +
  files + policy names)
- `manifest_json_schema() -> dict`, `schema_text() -> str`
- `check_expectations(holder, mode, kept=None, ...)` for `expect:` policy tests
- `version_problems(state, capabilities, api_version)`: the keys an API cannot
  express, as diagnostics (plan and apply refuse them)
- `routing_problem(number, live=None)`, `final_routing(number, live)`: routing
  coherence, offline and against a live number
- `normalize_e164`, `is_e164`, `websocket_url_problem`, `webhook_url_problem`,
  `sip_uri_problem`: pure checks shared with the CLI and the planner

Each name is imported from its module on first use (`inkbox_sync.lazy`): the
workflow's `version_problems` or the CLI's `normalize_e164` do not bring in
PyYAML and pydantic, and `load_manifests` / `load_manifest_set` import the
loader only when called, so plan and apply can import them at the top and
still start reading the API before the loader is imported.
"""

from typing import TYPE_CHECKING

from inkbox_sync.lazy import exports, on_call

if TYPE_CHECKING:
    from inkbox_sync.manifest.expectations import BrokenExpectation, check_expectations
    from inkbox_sync.manifest.files import OnNamed
    from inkbox_sync.manifest.loader import ManifestSet, load_manifest_set, load_manifests
    from inkbox_sync.manifest.normalize import (
        is_e164,
        normalize_e164,
        sip_uri_problem,
        webhook_url_problem,
        websocket_url_problem,
    )
    from inkbox_sync.manifest.routing import RoutingProblem, final_routing, routing_problem
    from inkbox_sync.manifest.schema import manifest_json_schema, schema_text
    from inkbox_sync.manifest.versions import version_problems
else:
    __getattr__ = exports(
        __name__,
        {
            ".expectations": ("BrokenExpectation", "check_expectations"),
            ".files": ("OnNamed",),
            ".loader": ("ManifestSet",),
            ".normalize": (
                "is_e164",
                "normalize_e164",
                "sip_uri_problem",
                "webhook_url_problem",
                "websocket_url_problem",
            ),
            ".routing": ("RoutingProblem", "final_routing", "routing_problem"),
            ".schema": ("manifest_json_schema", "schema_text"),
            ".versions": ("version_problems",),
        },
    )
    load_manifests = on_call("inkbox_sync.manifest.loader", "load_manifests")
    load_manifest_set = on_call("inkbox_sync.manifest.loader", "load_manifest_set")

__all__ = [
    "BrokenExpectation",
    "ManifestSet",
    "OnNamed",
    "RoutingProblem",
    "check_expectations",
    "final_routing",
    "is_e164",
    "load_manifest_set",
    "load_manifests",
    "manifest_json_schema",
    "normalize_e164",
    "routing_problem",
    "schema_text",
    "sip_uri_problem",
    "version_problems",
    "webhook_url_problem",
    "websocket_url_problem",
]
