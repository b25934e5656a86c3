"""`GET /api/whoami` and what apply makes of it before the first write."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inkbox_sync.client import Adapter2026_06, Adapter2026_10, KeyScope
from inkbox_sync.errors import RefusedError
from inkbox_sync.plan import Step
from inkbox_sync.workflow import scope_verdict
from tests.client.fakes import FakeApi, make_client

ADMIN = KeyScope("api_key", "api_key.admin_scoped", "org_1", "key_1")
AGENT = KeyScope("api_key", "api_key.agent_scoped.claimed", "org_1", "key_2")
UNCLAIMED = KeyScope("api_key", "api_key.agent_scoped.unclaimed", "org_1", None)
STRANGE = KeyScope("api_key", "api_key.something_new", "org_1", None)

ROUTING = Step("+1", "n1", "update_routing", fields={"incoming_call_action": "auto_reject"})
FLIP = Step(
    "+1", "n1", "set_modes", phase=1, modes={"inbound": "whitelist", "outbound": "whitelist"}
)
CREATE = Step("+1", "n1", "create_rule", target="+2", action="allow")
PAUSE = Step("+1", "n1", "update_rule", target="+2", rule_id="r", status="paused")
DELETE = Step("+1", "n1", "delete_rule", target="+3", rule_id="r3")


@pytest.mark.parametrize(
    ("step", "admin_only"),
    [(ROUTING, False), (FLIP, True), (CREATE, False), (PAUSE, True), (DELETE, True)],
)
def test_which_writes_need_an_admin_key(step: Step, admin_only: bool) -> None:
    """The 2026-06 contract: filter_mode, rule PATCH and DELETE are admin-only;
    2026-10: every rule write and mode write, routing alone is open to an agent key."""
    assert Adapter2026_06.needs_admin(step) is admin_only
    assert Adapter2026_10.needs_admin(step) is (step.kind != "update_routing")


@pytest.mark.parametrize(
    ("scope", "steps", "outcome"),
    [
        (ADMIN, [ROUTING, FLIP, CREATE, PAUSE, DELETE], None),
        (AGENT, [ROUTING, CREATE], None),
        (AGENT, [ROUTING, CREATE, DELETE], "refused"),
        (UNCLAIMED, [FLIP], "refused"),
        (STRANGE, [DELETE], "warning"),
        (None, [DELETE], "warning"),  # the server does not answer whoami (404)
    ],
)
def test_scope_verdict(scope: KeyScope | None, steps: list[Step], outcome: str | None) -> None:
    if outcome == "refused":
        with pytest.raises(RefusedError) as info:
            scope_verdict(scope, steps, Adapter2026_06.needs_admin)
        assert "agent-scoped" in str(info.value) and "Nothing was written" in str(info.value)
        assert "delete rule +3" in str(info.value) or "filter_mode=whitelist" in str(info.value)
        return
    verdict = scope_verdict(scope, steps, Adapter2026_06.needs_admin)
    assert (verdict is not None) == (outcome == "warning")


def test_whoami_parses_the_answer_and_a_404_means_unknown() -> None:
    api = FakeApi.fleet(1, 0)
    answers = [
        httpx.Response(200, json={"auth_type": "api_key", "auth_subtype": "api_key.admin_scoped"}),
        httpx.Response(404, json={"detail": "Not Found"}),
    ]
    api.faults.append(lambda request: answers.pop(0) if request.url.path == "/api/whoami" else None)

    async def go() -> tuple[KeyScope | None, KeyScope | None]:
        async with make_client(api) as client:
            return await client.whoami(), await client.whoami()

    first, second = asyncio.run(go())
    assert first is not None and first.admin is True and first.organization_id is None
    assert second is None
    assert [f"{r.method} {r.url.path}" for r in api.log] == ["GET /api/whoami"] * 2
