"""API version 2026-06 (`inkbox-phone-api.md`): rules and `filter_mode` belong to the number.

`api` (routes and request bodies), `state` (the state document), `store`
(state in memory), `demo` (the demo organisation).
"""

from inkbox_sync.sandbox.v2026_06.api import App
from inkbox_sync.sandbox.v2026_06.demo import demo_document
from inkbox_sync.sandbox.v2026_06.state import VERSION, normalize
from inkbox_sync.sandbox.v2026_06.store import NumberRuleStore

__all__ = ["VERSION", "App", "NumberRuleStore", "demo_document", "normalize"]
