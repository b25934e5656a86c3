"""`Inkbox-Notices`: what the API advises, shown once each per run, never an error.

Any answer may carry `Inkbox-Notices: [{"code", "level", "message"}, ...]`
(a JSON array; all three open strings). The transport hands every header
value it sees to a `NoticeBoard`, which passes each notice on the first time
it appears: the same notice on every page of a listing is one notice. A header
that is not the documented shape is ignored, since notices are advisory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

HEADER: Final = "inkbox-notices"


@dataclass(frozen=True, slots=True)
class Notice:
    code: str
    level: str
    message: str


class NoticeBoard:
    """Remembers the notices seen in this run and calls `show` once for each new one."""

    def __init__(self, show: Callable[[Notice], None] | None = None) -> None:
        self._show = show
        self._headers: set[str] = set()  # raw header values already read: the cheap path
        self._seen: set[Notice] = set()
        self._lock = threading.Lock()  # several clients of one run may share a board

    @property
    def seen(self) -> tuple[Notice, ...]:
        with self._lock:
            return tuple(self._seen)

    def saw(self, header: str) -> None:
        """One `Inkbox-Notices` header value, as an answer carried it."""
        with self._lock:
            if header in self._headers:
                return
            self._headers.add(header)
            fresh = [n for n in parse(header) if n not in self._seen]
            self._seen.update(fresh)
        if self._show is not None:
            for notice in fresh:
                self._show(notice)


def parse(header: str) -> list[Notice]:
    """The notices of one header value; what is not the documented shape is skipped."""
    try:
        data = json.loads(header)
    except ValueError:
        return []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return []
    out = []
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            code = item.get("code")
            level = item.get("level")
            out.append(
                Notice(
                    code if isinstance(code, str) else "",
                    level if isinstance(level, str) else "info",
                    item["message"],
                )
            )
    return out
