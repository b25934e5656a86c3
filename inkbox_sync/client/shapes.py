"""JSON shapes every API version shares: objects, lists or `{"items": [...]}`, typed fields.

The version adapters (`v2026_06`, `v2026_10`) know which fields mean what;
these helpers only check that a value has the shape they ask for, and say
where it did not (the path, never the key or the host).
"""

from __future__ import annotations

from typing import TypeVar, cast

from inkbox_sync.errors import PermanentApiError

JsonObject = dict[str, object]
_S = TypeVar("_S", bound=str)


def malformed(path: str, why: str) -> PermanentApiError:
    return PermanentApiError(f"GET {path}: unexpected answer from the API: {why}")


def obj(data: object, path: str) -> JsonObject:
    if not isinstance(data, dict):
        raise malformed(path, f"expected an object, got {type(data).__name__}")
    return cast(JsonObject, data)


def items(data: object, path: str) -> list[JsonObject]:
    """A bare list or an `{"items": [...]}` envelope, as both contracts allow."""
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise malformed(path, "expected a list or {'items': [...]}")
    if all(isinstance(item, dict) for item in data):
        return cast(list[JsonObject], data)
    return [obj(item, path) for item in data]  # raises, naming what is not an object


def string(item: JsonObject, key: str, path: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise malformed(path, f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def opt_string(item: JsonObject, key: str, path: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed(path, f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def choice(item: JsonObject, key: str, allowed: tuple[_S, ...], path: str) -> _S:
    value = item.get(key)
    for option in allowed:
        if value == option:
            return option
    raise malformed(path, f"field {key!r} is {value!r}, expected one of {allowed}")
