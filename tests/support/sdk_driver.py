"""Drive the official `inkbox` SDK on behalf of a test, from inside the SDK's own venv.

Run by `tests.support.sdk` as `python -I sdk_driver.py` with the SDK's
interpreter; it imports nothing of inkbox-sync or of the tests (only the
standard library and the SDK). One JSON request per line on stdin, one JSON
answer per line on stdout:

    {"client": {"api_key", "base_url"}, "call": ["phone_numbers", "list"],
     "args": [...], "kwargs": {...}, "notices": false}
    -> {"ok": <the SDK's return value as JSON>}
     | {"error": {"type", "message", "status_code"?, "detail"?, "existing_rule_id"?}}

`call` is an attribute path on an `inkbox.Inkbox` client (one per key and
base URL, kept for the session); the SDK parses every answer, and its
dataclasses come back as JSON objects (UUIDs and datetimes as strings, enums
as their values). With `"notices": true` the call runs through
`Inkbox.with_response_metadata` and answers `{"data", "notices"}`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import uuid
from datetime import datetime
from typing import Any

import inkbox
from inkbox.exceptions import InkboxAPIError

_clients: dict[tuple[str, str], Any] = {}


def to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if hasattr(value, "_data"):  # inkbox.AgentIdentity wraps the parsed identity
        return to_json(value._data)
    return repr(value)


def client(spec: dict[str, str]) -> Any:
    key = (spec["api_key"], spec["base_url"])
    if key not in _clients:
        _clients[key] = inkbox.Inkbox(api_key=spec["api_key"], base_url=spec["base_url"])
    return _clients[key]


def run(request: dict[str, Any]) -> Any:
    def call(root: Any) -> Any:
        target = root
        for name in request["call"]:
            target = getattr(target, name)
        return target(*request.get("args", []), **request.get("kwargs", {}))

    sdk = client(request["client"])
    if request.get("notices"):
        result = sdk.with_response_metadata(call)
        notices = [dataclasses.asdict(n) for n in result.notices or []]
        return {"data": to_json(result.data), "notices": notices}
    return to_json(call(sdk))


def answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": run(request)}
    except InkboxAPIError as exc:
        existing = getattr(exc, "existing_rule_id", None)
        return {
            "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "status_code": exc.status_code,
                "detail": to_json(exc.detail),
                "existing_rule_id": str(existing) if existing is not None else None,
            }
        }
    except Exception as exc:  # the SDK's own checks (ValueError, ...), reported, not fatal
        return {"error": {"type": type(exc).__name__, "message": str(exc)}}


def main() -> None:
    for line in sys.stdin:
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
