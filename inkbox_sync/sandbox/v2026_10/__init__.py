"""API version 2026-10 (`inkbox-phone-api-2026-10.md`): rules and modes belong to the identity.

`api` (routes, agent scoping, notices, sunset routes), `bodies` (request
bodies), `state` (the state document, derived fields, the migration from
2026-06), `store` (state in memory: coverage, consolidation, splits,
aliases), `demo` (the demo organisation).
"""

from inkbox_sync.sandbox.v2026_10.api import App
from inkbox_sync.sandbox.v2026_10.demo import demo_document
from inkbox_sync.sandbox.v2026_10.state import VERSION, from_2026_06, normalize
from inkbox_sync.sandbox.v2026_10.store import IdentityRuleStore

__all__ = ["VERSION", "App", "IdentityRuleStore", "demo_document", "from_2026_06", "normalize"]
