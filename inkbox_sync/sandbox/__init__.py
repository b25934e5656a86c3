"""A local server that speaks the Inkbox phone API (`inkbox-phone-api.md`) exactly.

For tests, demos and users' pipelines: `inkbox-sync sandbox serve`, the
embedded `--sandbox FILE`, or in-process::

    with SandboxServer(SandboxOptions(latency_ms=20)) as box:
        client = InkboxClient(box.base_url, box.api_key)

Modules, one concern each: `validation` (request shapes, 422s), `document`
(the state document), `store` (state and indexes), `persistence` (snapshot
and journal), `app` (routes), `control` (`/_sandbox/`), `faults` (failures,
rate limits), `reqlog` (request log), `server` (options, lifecycle, the path
of a request), `httpd` (the HTTP/1.1 loop), `embedded`, `demo`.
"""

from inkbox_sync.sandbox.demo import demo_document
from inkbox_sync.sandbox.document import Document, empty
from inkbox_sync.sandbox.server import DEFAULT_API_KEY, SandboxOptions, SandboxServer

__all__ = [
    "DEFAULT_API_KEY",
    "Document",
    "SandboxOptions",
    "SandboxServer",
    "demo_document",
    "empty",
]
