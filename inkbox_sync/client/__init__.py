"""The Inkbox API client: the one place that knows URLs and field names.

One adapter per API version (`v2026_06`, `v2026_10`) behind one interface
(`ApiAdapter`); `connect` opens the one `--api-version` names, or detects it.
The transport below them does retries, pacing, errors and redaction.

Each name is imported from its module on first use (`inkbox_sync.lazy`):
`client.versions` (what `--api-version` offers) costs nothing, the rest brings
in httpx, h11 and asyncio, and nothing here imports pydantic or the manifests.
"""

from typing import TYPE_CHECKING

from inkbox_sync.lazy import exports

if TYPE_CHECKING:
    from inkbox_sync.client.adapter import (
        ADAPTERS,
        ApiAdapter,
        VersionChoice,
        capabilities_of,
        connect,
        detect,
    )
    from inkbox_sync.client.api import PAGE_LIMIT, InkboxClient, KeyScope, Listings
    from inkbox_sync.client.demand import Demand, Settled
    from inkbox_sync.client.notices import Notice, NoticeBoard
    from inkbox_sync.client.transport import (
        ClientStats,
        RequestEvent,
        RetryPolicy,
        check_base_url,
    )
    from inkbox_sync.client.v2026_06 import Adapter2026_06
    from inkbox_sync.client.v2026_10 import Adapter2026_10
    from inkbox_sync.client.versions import API_VERSIONS, AUTO
    from inkbox_sync.redact import redact_url
else:
    __getattr__ = exports(
        __name__,
        {
            ".adapter": (
                "ADAPTERS",
                "ApiAdapter",
                "VersionChoice",
                "capabilities_of",
                "connect",
                "detect",
            ),
            ".api": ("PAGE_LIMIT", "InkboxClient", "KeyScope", "Listings"),
            ".demand": ("Demand", "Settled"),
            ".notices": ("Notice", "NoticeBoard"),
            ".transport": ("ClientStats", "RequestEvent", "RetryPolicy", "check_base_url"),
            ".v2026_06": ("Adapter2026_06",),
            ".v2026_10": ("Adapter2026_10",),
            ".versions": ("API_VERSIONS", "AUTO"),
            "inkbox_sync.redact": ("redact_url",),
        },
    )

__all__ = [
    "ADAPTERS",
    "API_VERSIONS",
    "AUTO",
    "PAGE_LIMIT",
    "Adapter2026_06",
    "Adapter2026_10",
    "ApiAdapter",
    "ClientStats",
    "Demand",
    "InkboxClient",
    "KeyScope",
    "Listings",
    "Notice",
    "NoticeBoard",
    "RequestEvent",
    "RetryPolicy",
    "Settled",
    "VersionChoice",
    "capabilities_of",
    "check_base_url",
    "connect",
    "detect",
    "redact_url",
]
