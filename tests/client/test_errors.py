"""Error mapping, base-URL checks and the shapes the client returns."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inkbox_sync.client import InkboxClient, check_base_url
from inkbox_sync.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    PermanentApiError,
    ValidationFailedError,
)
from tests.client.fakes import KEY, FakeApi, FakeTime, make_client

VALIDATION = [
    {"loc": ["body", "client_websocket_url"], "msg": "must be wss://", "type": "value_error"},
    {"loc": ["body", "incoming_call_action"], "msg": "auto_accept needs a websocket"},
]


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (401, {"detail": "unknown API key"}, AuthError, "401 unknown API key"),
        (403, {"detail": "admin only"}, AuthError, "403 admin only"),
        (404, {"detail": "number not found"}, NotFoundError, "404 number not found"),
        (409, {"detail": {"existing_rule_id": "r-9"}}, ConflictError, "409 existing_rule_id=r-9"),
        (
            422,
            {"detail": VALIDATION},
            ValidationFailedError,
            "body.client_websocket_url: must be wss://; body.incoming_call_action: auto_accept",
        ),
        (400, {"detail": "bad request"}, PermanentApiError, "400 bad request"),
        (418, None, PermanentApiError, "418 I'm a teapot"),
        (400, "plain text", PermanentApiError, "400 plain text"),
        (307, None, PermanentApiError, "unexpected redirect"),
    ],
)
def test_error_mapping(status: int, body: object, error: type[ApiError], text: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body) if body else httpx.Response(status)

    api = FakeApi.fleet(1, 0)
    api.faults.append(answer)

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.patch_number("num-0000", {"filter_mode": "whitelist"})

    with pytest.raises(error) as info:
        asyncio.run(go())
    assert type(info.value) is error
    assert str(info.value).startswith("PATCH /api/v1/phone/numbers/num-0000: ")
    assert text in str(info.value)
    assert info.value.status == status
    if error is ConflictError:
        assert isinstance(info.value, ConflictError)
        assert info.value.existing_rule_id == "r-9"
    if error is ValidationFailedError:
        assert info.value.detail == VALIDATION
    assert len(api.log) == 1


def test_create_conflict_carries_the_existing_rule() -> None:
    api = FakeApi.fleet(1, 1)

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.create_rule("num-0000", action="block", target="+14150000000")

    with pytest.raises(ConflictError) as info:
        asyncio.run(go())
    assert info.value.existing_rule_id == "num-0000-r00000"


def test_delete_of_a_missing_rule_is_done() -> None:
    api = FakeApi.fleet(1, 0)

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.delete_rule("num-0000", "no-such-rule")

    asyncio.run(go())
    assert api.log[0].method == "DELETE"


@pytest.mark.parametrize(
    "url",
    [
        "https://inkbox.ai",
        "https://inkbox.ai/",
        "https://proxy.example.com/inkbox",
        "http://localhost:8080",
        "http://127.0.0.1:9",
        "http://[::1]:9",
    ],
)
def test_accepted_base_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://inkbox.ai", "refusing plain http://"),
        ("http://10.0.0.1:8080", "refusing plain http://"),
        ("ftp://inkbox.ai", "must be https://"),
        ("inkbox.ai", "must be https://"),
        ("https://inkbox.ai/?token=SECRET", "must not have a query"),
        ("http://127.0.0.1:8765/api/v1", "use INKBOX_BASE_URL=http://127.0.0.1:8765$"),
        ("https://x.example/inkbox/api/v1/", "use INKBOX_BASE_URL=https://x.example/inkbox$"),
        # urllib only checks the port when asked: it crashed the client, with a traceback.
        ("https://inkbox.ai:99999", "invalid base URL .* port a number"),
        ("https://inkbox.ai:443x", "invalid base URL .* port a number"),
    ],
)
def test_refused_base_urls(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        InkboxClient(url, KEY)
    assert "SECRET" not in str(info.value)


def test_requests_carry_the_key_header_and_paths_under_api_v1() -> None:
    api = FakeApi.fleet(1, 0)

    async def go() -> None:
        async with make_client(api, FakeTime(), base_url="https://proxy.example.com/inkbox/") as c:
            await c.list_identities()
            await c.list_numbers()

    asyncio.run(go())
    assert [str(r.url) for r in api.log] == [
        "https://proxy.example.com/inkbox/api/v1/identities/",
        "https://proxy.example.com/inkbox/api/v1/phone/numbers",
    ]
    assert all(r.headers["x-api-key"] == KEY for r in api.log)


def test_shapes_returned() -> None:
    api = FakeApi.fleet(2, 1)
    api.numbers[1].update(
        incoming_call_action="webhook",
        incoming_call_webhook_url="https://hooks.example.com/x",
        filter_mode="whitelist",
        agent_identity_id=None,
    )

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            assert await client.list_identities() == {"ident-0000": "bot-0", "ident-0001": "bot-1"}
            numbers = await client.list_numbers()
            assert numbers[1].incoming_call_action == "webhook"
            assert numbers[1].filter_mode == "whitelist"
            assert numbers[1].agent_identity_id is None
            assert numbers[0].agent_identity_id == "ident-0000"
            assert numbers[0].rules is None
            patched = await client.patch_number(
                "num-0001",
                {"incoming_call_webhook_url": None, "incoming_call_action": "auto_reject"},
            )
            assert patched.incoming_call_webhook_url is None
            assert json_of(api.log[-1]) == {
                "incoming_call_webhook_url": None,
                "incoming_call_action": "auto_reject",
            }
            created = await client.create_rule("num-0001", action="block", target="+14155550199")
            assert (created.target, created.action, created.status) == (
                "+14155550199",
                "block",
                "active",
            )
            assert json_of(api.log[-1]) == {
                "action": "block",
                "match_type": "exact_number",
                "match_target": "+14155550199",
            }
            updated = await client.update_rule("num-0001", created.id, action="allow")
            assert json_of(api.log[-1]) == {"action": "allow"}
            assert updated.action == "allow"
            with pytest.raises(ValueError):
                await client.patch_number("num-0001", {"number": "+1"})

    asyncio.run(go())


def test_malformed_answers_are_permanent_errors() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": "n", "number": "+1", "filter_mode": 7}])

    async def go() -> None:
        async with make_client(handler, FakeTime()) as client:
            await client.list_numbers()

    with pytest.raises(PermanentApiError, match="filter_mode"):
        asyncio.run(go())


def test_values_this_tool_does_not_know_are_carried_as_they_are() -> None:
    """A newer API's mode or call action is no reader error: only a plan that
    manages that setting refuses it (the planner's table tests show that)."""
    item = {"id": "n", "number": "+1", "filter_mode": "greylist", "incoming_call_action": "ivr"}

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[item])

    async def go() -> None:
        async with make_client(handler, FakeTime()) as client:
            (number,) = await client.list_numbers()
            assert (number.inbound_filter_mode, number.outbound_filter_mode) == ("greylist",) * 2
            assert number.incoming_call_action == "ivr"

    asyncio.run(go())


def json_of(request: httpx.Request) -> object:
    import json

    return json.loads(request.content)


def test_org_wide_rule_without_its_number_is_malformed() -> None:
    api = FakeApi.fleet(1, 2)

    def strip(request: httpx.Request) -> httpx.Response:
        page = api.page(request, api.rules)
        body = page.json()
        del body["items"][1]["phone_number_id"]
        return httpx.Response(200, json=body)

    api.faults.append(strip)

    async def go() -> None:
        async with make_client(api, FakeTime()) as client:
            await client.list_org_rules()

    with pytest.raises(PermanentApiError, match="has no phone_number_id"):
        asyncio.run(go())
