"""JSON shapes every API version shares: objects, lists or `{"items": [...]}`, typed fields.

The version adapters (`v2026_06`, `v2026_10`) know which fields mean what;
these helpers only check that a value has the shape they ask for, and say
where it did not (the path, never the key or the host).

Answers are read from their bytes: `json_body` into Python objects, a `Shape`
straight into msgspec Structs (rule pages: 100,000s of rows). msgspec reads
strict UTF-8 JSON only; what it refuses and the standard library accepts (a
BOM, UTF-16, NaN, a lone surrogate, a number out of float range) is read by
the standard library, so every answer means what `json.loads` says it means.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import msgspec

from inkbox_sync.errors import PermanentApiError

JsonObject = dict[str, object]
_S = TypeVar("_S", bound=str)
T = TypeVar("T")
_ANY: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def json_body(body: bytes) -> object:
    """An answer's JSON as Python objects; None for an empty body. ValueError if not JSON."""
    if not body:
        return None
    try:
        return _ANY.decode(body)
    except msgspec.DecodeError:
        return json.loads(body)  # what msgspec refuses (see above), or not JSON at all


class Shape(Generic[T]):
    """An answer decoded straight from its bytes into msgspec Structs (a `T`).

    `typed` is the well-formed answer, whose fields need no more checks; `raw`
    is the same answer with any JSON value in its fields (missing ones as
    `dict.get` gives them), which the adapter checks field by field, as it
    would a dict. When neither fits, the answer is not the shape at all:
    `check` (given the answer as Python objects) raises the malformed error
    that says why, naming the path. `T` covers both: `raw`'s type.
    """

    def __init__(self, typed: object, raw: object, check: Callable[[object, str], object]) -> None:
        self._decoders: tuple[msgspec.json.Decoder[Any], ...] = (
            msgspec.json.Decoder(typed),
            msgspec.json.Decoder(raw),
        )
        self._raw = raw
        self._check = check

    def at(self, path: str) -> Callable[[bytes], T]:
        """The decoder of an answer from `path` (for `Transport.request(decode=...)`)."""
        return lambda body: self.decode(body, path)

    def decode(self, body: bytes, path: str) -> T:
        for decoder in self._decoders:
            try:
                return cast(T, decoder.decode(body))
            except msgspec.DecodeError:  # ValidationError too: not this form
                continue
        data = json_body(body)
        self._check(data, path)  # raises for any answer that is not the shape...
        try:  # ...so this is JSON only the standard library reads (see above)
            return cast(T, msgspec.convert(data, self._raw))
        except msgspec.ValidationError as exc:
            raise malformed(path, str(exc)) from None


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
