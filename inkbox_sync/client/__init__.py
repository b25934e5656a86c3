"""The Inkbox API client: the one place that knows URLs and field names.

One adapter per API version (`v2026_06`, `v2026_10`) behind one interface
(`ApiAdapter`); `connect` opens the one `--api-version` names, or detects it.
The transport below them does retries, pacing, errors and redaction.
"""

from inkbox_sync.client.adapter import (
    ADAPTERS,
    API_VERSIONS,
    AUTO,
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
from inkbox_sync.redact import redact_url

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
