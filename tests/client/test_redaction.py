"""The API key never appears in an error, a repr or a log event; URLs are shown redacted."""

from __future__ import annotations

import asyncio
import re
import traceback

import httpx
import pytest

from inkbox_sync.client import RequestEvent, RetryPolicy, redact_url
from inkbox_sync.errors import ApiError, ConfigError
from tests.client.fakes import KEY, FakeApi, FakeTime, make_client


def echo_key(status: int):  # type: ignore[no-untyped-def]
    """A careless server that quotes the key (and a URL with a token) back."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={"detail": f"key {KEY} rejected, see https://u:{KEY}@x.test/?k={KEY}"},
        )

    return answer


def transport_failure(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach https://x.test/?api_key={KEY}", request=request)


def transport_bug(request: httpx.Request) -> httpx.Response:
    raise httpx.UnsupportedProtocol(f"weird {KEY}", request=request)


@pytest.mark.parametrize(
    "answer",
    [echo_key(s) for s in (400, 401, 403, 404, 409, 422, 500, 429)]
    + [transport_failure, transport_bug],
)
def test_key_never_leaks_into_errors_or_events(answer) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi.fleet(1, 0)
    api.faults.append(answer)
    events: list[RequestEvent] = []

    async def go() -> None:
        client = make_client(
            api,
            FakeTime(),
            on_request=events.append,
            retry=RetryPolicy(max_attempts=2, max_rate_limited=2),
        )
        assert KEY not in repr(client)
        async with client:
            await client.list_number_rules("num-0000")

    with pytest.raises(ApiError) as info:
        asyncio.run(go())
    err = info.value
    rendered = [
        str(err),
        repr(err),
        repr(err.detail),
        "".join(traceback.format_exception(err)),
        *map(repr, events),
    ]
    for text in rendered:
        assert KEY not in text
        # A query's names may show; its values never do.
        assert re.search(r"[?&][\w-]+=(?!\*\*\*)", text) is None, text
    assert events and all(e.path == "/api/v1/phone/numbers/num-0000/contact-rules" for e in events)
    assert events[0].params == {"limit": "200", "offset": "0"}


def test_base_url_secrets_are_redacted_in_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        make_client(FakeApi(), base_url=f"http://user:{KEY}@inkbox.example.com/")
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://inkbox.ai/api/v1/x", "https://inkbox.ai/api/v1/x"),
        ("https://user:pw@inkbox.ai/p?token=s#frag", "https://***@inkbox.ai/p?token=***#***"),
        (
            "wss://agent.example.com/ws?auth=abc&x=1&flag",
            "wss://agent.example.com/ws?auth=***&x=***&***",
        ),
        ("https://hooks.example.com/inkbox?token=", "https://hooks.example.com/inkbox?token=***"),
        ("http://[::1", "<invalid URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_events_report_each_attempt() -> None:
    api = FakeApi.fleet(1, 0)
    api.faults.append(
        lambda r, n=[0]: (  # type: ignore[misc]
            httpx.Response(503) if (n.__setitem__(0, n[0] + 1) or n[0] == 1) else None
        )
    )
    events: list[RequestEvent] = []

    async def go() -> None:
        async with make_client(api, FakeTime(), on_request=events.append) as client:
            await client.list_numbers()
            assert client.stats.requests["GET"] == 2
            assert client.stats.retries == 1
            assert client.stats.server_errors == 1
            assert client.stats.bytes_received > 0

    asyncio.run(go())
    assert [(e.method, e.status, e.attempt) for e in events] == [("GET", 503, 1), ("GET", 200, 2)]
    assert all(e.elapsed >= 0 for e in events)


def test_a_non_json_error_body_is_scrubbed_before_it_is_cut() -> None:
    """Finding 8: the body was cut at 500 characters first, so a key straddling the
    cut was left half there, where no scrubbing could find it."""
    api = FakeApi.fleet(1, 0)
    body = "<html>" + "x" * (500 - len("<html>") - 6) + KEY + "</html>"
    api.faults.append(lambda request: httpx.Response(400, text=body))

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.list_numbers()

    with pytest.raises(ApiError) as info:
        asyncio.run(go())
    shown = f"{info.value} {info.value.detail!r}"
    assert KEY[:6] not in shown and "***" in shown
