"""Routing coherence: does a number's call action have the URL it needs?

Checked offline only for what the manifest itself manages. A URL the manifest
omits is whatever it is live, so `webhook` without `incoming_call_webhook_url`
is left to plan time; `webhook` with `incoming_call_webhook_url: null` ("must be
empty") can never work and is an error here.
"""

from __future__ import annotations

from inkbox_sync.model import CallAction, Unset

#: Which URL field each call action needs, and the scheme it takes.
NEEDED_URL: dict[CallAction, str] = {
    "auto_accept": "client_websocket_url",
    "webhook": "incoming_call_webhook_url",
}


def routing_problem(
    action: CallAction | Unset,
    client_websocket_url: str | Unset | None,
    incoming_call_webhook_url: str | Unset | None,
) -> str | None:
    """Why these managed fields cannot work together, or None.

    `Unset` means "not managed" (left as it is live) and is never a problem here;
    `None` means "must be empty".
    """
    if isinstance(action, Unset):
        return None
    field = NEEDED_URL.get(action)
    if field is None:
        return None
    value = client_websocket_url if field == "client_websocket_url" else incoming_call_webhook_url
    if value is None:
        return f"incoming_call_action {action} needs a {field}, but the manifest sets {field}: null"
    return None
