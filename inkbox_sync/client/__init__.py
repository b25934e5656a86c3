"""The Inkbox API client (the one place that knows URLs and field names) and its transport."""

from inkbox_sync.client.api import PAGE_LIMIT, InkboxClient, KeyScope
from inkbox_sync.client.transport import (
    ClientStats,
    RequestEvent,
    RetryPolicy,
    check_base_url,
)
from inkbox_sync.redact import redact_url

__all__ = [
    "PAGE_LIMIT",
    "ClientStats",
    "InkboxClient",
    "KeyScope",
    "RequestEvent",
    "RetryPolicy",
    "check_base_url",
    "redact_url",
]
