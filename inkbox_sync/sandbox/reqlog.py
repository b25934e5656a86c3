"""The request log behind `GET /_sandbox/requests`: what clients asked, and what they got.

Entries are `{"method", "path", "query", "body", "status", "fault", "result_id",
"api_status"}`:
`query` is an object of the query string's parameters (the last value of a
repeated one), `body` the parsed JSON body or null, `fault` null or the injected
failure (`"before_commit"`, `"after_commit"`), `result_id` the id of what a
POST created or a PATCH answered (also when an injected failure hid the
answer; after a 2026-10 `apply_to` split, the new rule), else null, and
`api_status` what the API itself answered before any injected failure (null
when the request never reached it): an `after_commit` fault on a request the
API refused (409, 422) committed nothing. Headers are never recorded, so
no API key can end up in the log. The log keeps the newest `limit` entries.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final

from inkbox_sync.sandbox.validation import JsonObj

DEFAULT_LIMIT: Final = 200_000


class RequestLog:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JsonObj] = deque(maxlen=limit)

    def add(self, entry: JsonObj) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[JsonObj]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
