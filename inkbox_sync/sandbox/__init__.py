"""A local server that speaks the Inkbox phone API, both versions of it, exactly.

For tests, demos and users' pipelines: `inkbox-sync sandbox serve`, the
embedded `--sandbox FILE`, or in-process::

    with SandboxServer(SandboxOptions(api_version="2026-10", latency_ms=20)) as box:
        client = Adapter2026_10(box.base_url, box.api_key)

One package per API version, each with its routes and request bodies
(`api`), state document (`state`), store and demo organisation: `v2026_06`
(`inkbox-phone-api.md`) and `v2026_10` (`inkbox-phone-api-2026-10.md`);
`versions` lists them and migrates documents between them. Shared by both:
`validation` (422 pieces), `document` (state document basics), `store`
(locking, journaling), `persistence` (snapshot and journal), `app` (request,
response, auth and routing), `control` (`/_sandbox/`), `faults` (failures,
rate limits), `reqlog` (request log), `server` (options, lifecycle, the path
of a request), `httpd` (HTTP/1.1 on `http.server`), `embedded`, `demo`
(stable demo ids).
"""

from inkbox_sync.sandbox.document import Document, empty
from inkbox_sync.sandbox.server import DEFAULT_API_KEY, SandboxOptions, SandboxServer
from inkbox_sync.sandbox.versions import DEFAULT_API_VERSION, VERSIONS

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_VERSION",
    "VERSIONS",
    "Document",
    "SandboxOptions",
    "SandboxServer",
    "empty",
]
