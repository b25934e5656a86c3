"""What both versions' demo organisations share: stable ids and timestamps.

Ids are uuid5 of fixed names and timestamps are fixed, so every fresh demo is
byte-for-byte the same document, and a number has the same id in the 2026-06
demo (`v2026_06.demo`) and the 2026-10 one (`v2026_10.demo`).
"""

from __future__ import annotations

import uuid
from typing import Final

from inkbox_sync.sandbox.document import ORGANIZATION_ID
from inkbox_sync.sandbox.validation import JsonObj

NAMESPACE: Final = uuid.UUID("5a1d4c3e-8b0f-4f5e-9c1a-6d2b7e4f0a91")
CREATED: Final = "2025-01-06T09:00:00+00:00"


def demo_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def demo_identity(handle: str) -> JsonObj:
    """An identity as both demos have it (2026-10 adds its phone modes)."""
    return {
        "id": demo_id("identity", handle),
        "organization_id": ORGANIZATION_ID,
        "agent_handle": handle,
        "display_name": handle.replace("-", " ").title(),
        "description": None,
        "email_address": f"{handle}@inkboxmail.com",
        "imessage_enabled": False,
        "imessage_filter_mode": "blacklist",
        "created_at": CREATED,
        "updated_at": CREATED,
    }
