"""Decoding answers straight from their bytes: rule pages of both versions, as the real
client reads them from a canned server (httpx.MockTransport).

A page whose rows are all well formed is decoded as typed rows that need no
checks; any other page as raw rows, checked one by one. The property tests
show the two agree: a page read with and without one more row that forces the
raw decoding (a row nothing reads) gives the same rules, or the same error.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkbox_sync.client import Adapter2026_06, Adapter2026_10
from inkbox_sync.client.api import by_target
from inkbox_sync.errors import InkboxSyncError, PermanentApiError, PlanError
from inkbox_sync.live import read_live_state
from inkbox_sync.model import LiveRule
from tests.client.fakes import BASE, KEY, canned_org

NOT_A_LIST = "unexpected answer from the API: expected a list or {'items': [...]}"
R1 = {"id": "r1", "phone_number_id": "n1", "action": "allow", "match_type": "exact_number",
      "match_target": "+14155550001", "status": "active"}  # fmt: skip
R2 = {**R1, "id": "r2", "action": "block", "match_target": "+14155550002", "status": "paused"}


def page(body: bytes) -> httpx.MockTransport:
    """`body` for the first page of any listing; an empty last page after it."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("offset", "0") != "0":
            return httpx.Response(200, json={"items": [], "has_more": False})
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(answer)


def number_rules(body: bytes) -> list[tuple[str, str, str, str]]:
    async def go() -> list[LiveRule]:
        async with Adapter2026_06(BASE, KEY, transport=page(body)) as client:
            return await client.list_number_rules("n1")

    return [(r.id, r.target, r.action, r.status) for r in asyncio.run(go())]


def rows(*items: dict[str, Any], **envelope: Any) -> bytes:
    return json.dumps({"items": list(items), **envelope} if envelope else list(items)).encode()


WELL = [("r1", "+14155550001", "allow", "active"), ("r2", "+14155550002", "block", "paused")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(rows(R1, R2, limit=200, has_more=False), WELL, id="envelope"),
        pytest.param(rows(R1, R2), WELL, id="bare list"),
        pytest.param(rows(R1, R2, has_more=False), WELL, id="envelope without limit"),
        pytest.param(rows(R1, R2, limit=True, has_more="no"), WELL, id="odd paging values"),
        pytest.param(b'{"items": []}', [], id="no rules"),
        pytest.param(b"\xef\xbb\xbf" + rows(R1, R2), WELL, id="UTF-8 BOM"),
        pytest.param(json.dumps([R1, R2]).encode("utf-16"), WELL, id="UTF-16"),
        pytest.param(
            b'{"items": ' + rows(R1, R2) + b', "limit": NaN, "has_more": false}', WELL, id="NaN"
        ),
        pytest.param(rows({**R1, "contact": 1e400}, R2), WELL, id="float out of range"),
        pytest.param(rows(R1, {**R2, "extra": {"nested": [1]}}), WELL, id="unknown fields"),
    ],
)
def test_pages_the_stdlib_would_read_read_the_same(
    body: bytes, expected: list[tuple[str, str, str, str]]
) -> None:
    assert number_rules(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", NOT_A_LIST),
        (b"null", NOT_A_LIST),
        (b'"rules"', NOT_A_LIST),
        (b"{}", NOT_A_LIST),
        (b'{"items": null}', NOT_A_LIST),
        (b'{"items": {"r1": {}}}', NOT_A_LIST),
        (b"[1]", "expected an object, got int"),
        (b'{"items": [' + json.dumps(R1).encode() + b', "r2"]}', "expected an object, got str"),
        (b'{"items": [', "answer is not JSON"),
        (b"\xff\xfe\xfa", "answer is not JSON"),
    ],
)
def test_malformed_pages_are_permanent_errors_naming_the_path(body: bytes, message: str) -> None:
    with pytest.raises(PermanentApiError) as info:
        number_rules(body)
    text = str(info.value)
    assert text.startswith("GET /api/v1/phone/numbers/n1/contact-rules: ")
    assert message in text
    assert KEY not in text and "inkbox.test" not in text


DELETED_JUNK = {"id": "r9", "status": "deleted", "action": 7, "match_target": None}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({**R1, "status": "deleted"}, [], id="deleted"),
        pytest.param(DELETED_JUNK, [], id="deleted, nothing else well formed"),
        pytest.param({**R1, "match_type": "prefix"}, [], id="other match type"),
        pytest.param({**R1, "match_type": None, "action": "mute"}, [], id="null match type"),
        pytest.param({**R1, "match_type": 5}, [], id="match type not a string"),
        pytest.param({k: v for k, v in R1.items() if k != "match_type"}, WELL[:1], id="no type"),
        pytest.param({**R1, "phone_number_id": None}, WELL[:1], id="null phone_number_id"),
    ],
)
def test_2026_06_rows_never_managed_are_skipped_and_the_rest_read(
    row: dict[str, Any], expected: list[tuple[str, str, str, str]]
) -> None:
    assert number_rules(rows(row)) == expected
    # ...and the same beside well-formed rows, which the page then reads one by one.
    assert number_rules(rows(row, R2)) == expected + WELL[1:]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**R1, "action": "mute"}, "field 'action' is 'mute', expected one of ('allow', 'block')"),
        ({**R1, "action": None}, "field 'action' is None, expected one of ('allow', 'block')"),
        ({**R1, "status": "archived"}, "field 'status' is 'archived', expected one of"),
        ({k: v for k, v in R1.items() if k != "status"}, "field 'status' is None, expected one"),
        ({**R1, "id": 7}, "field 'id' is int, expected a string"),
        ({**R1, "match_target": None}, "field 'match_target' is NoneType, expected a string"),
        ({**R1, "phone_number_id": 5}, "field 'phone_number_id' is int, expected a string"),
    ],
)
def test_2026_06_malformed_rows_are_errors_naming_the_field(
    row: dict[str, Any], message: str
) -> None:
    with pytest.raises(PermanentApiError, match=re.escape(f"from the API: {message}")):
        number_rules(rows(R2, row))


# -- 2026-10: unknown values matter only for managed identities --------------------------

SUPPORT, SALES = "+18335794607", "+14155550001"
IDENTITIES = [
    {"id": "i-sup", "agent_handle": "support-bot", "phone_filter_mode": "blacklist"},
    {"id": "i-sal", "agent_handle": "sales-bot", "phone_filter_mode": "blacklist"},
    {"id": "i-else", "agent_handle": "else-bot", "phone_filter_mode": "blacklist"},
]
NUMBERS = [
    {"id": f"n-{i}", "number": e164, "agent_identity_id": i, "incoming_call_action": "auto_reject",
     "inbound_filter_mode": "blacklist", "outbound_filter_mode": "blacklist"}
    for i, e164 in (("i-sup", SUPPORT), ("i-sal", SALES), ("i-else", "+13125550199"))
]  # fmt: skip


def org(pages: list[bytes]) -> httpx.MockTransport:
    """The org-wide rule listing answers `pages` in turn (one per offset asked, in order)."""
    offsets: list[str] = []

    def rules(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset", "0")
        if offset not in offsets:
            offsets.append(offset)
        index = offsets.index(offset)
        if index < len(pages):
            return httpx.Response(200, content=pages[index])
        return httpx.Response(200, json={"items": [], "has_more": False})

    return canned_org(IDENTITIES, NUMBERS, rules)


def read_2026_10(pages: list[bytes]) -> dict[str, dict[str, LiveRule] | None]:
    async def go() -> dict[str, dict[str, LiveRule] | None]:
        async with Adapter2026_10(BASE, KEY, transport=org(pages)) as client:
            live = await read_live_state(client, {SUPPORT: True, SALES: True})
        return {n: dict(v.rules) if v.rules is not None else None for n, v in live.numbers.items()}

    return asyncio.run(go())


def row10(owner: str, j: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"{owner}-{j}", "agent_identity_id": owner, "action": "allow",
            "match_type": "exact_number", "match_target": f"+1555000{j:04d}", **fields}  # fmt: skip


def test_2026_10_missing_and_null_status_and_direction_read_as_active_and_both() -> None:
    got = read_2026_10(
        [
            rows(
                row10("i-sup", 1),
                row10("i-sup", 2, status=None, direction=None),
                row10("i-sal", 3, status="paused", direction="inbound"),
            )
        ]
    )
    assert got[SUPPORT] == {
        "+15550000001": LiveRule("i-sup-1", "+15550000001", "allow", "active", "both"),
        "+15550000002": LiveRule("i-sup-2", "+15550000002", "allow", "active", "both"),
    }
    assert got[SALES] == {
        "+15550000003": LiveRule("i-sal-3", "+15550000003", "allow", "paused", "inbound")
    }


def test_2026_10_rows_of_other_identities_may_hold_values_this_tool_does_not_know() -> None:
    junk = [
        row10("i-else", 1, action="mute", direction=[], status={}),  # named, not managed
        row10("i-else", 3, direction="sideways"),
        row10("i-unknown", 2, id=7, match_target=None, status="archived"),  # not even named
    ]
    page1 = rows(row10("i-sup", 1), *junk, limit=3, has_more=True)
    page2 = rows(row10("i-sal", 2, action="block"), has_more=False)
    got = read_2026_10([page1, page2])
    assert list(got[SUPPORT] or {}) == ["+15550000001"]
    assert list(got[SALES] or {}) == ["+15550000002"]


def test_2026_10_deleted_rows_and_other_match_types_of_managed_identities_are_skipped() -> None:
    got = read_2026_10(
        [
            rows(
                row10("i-sup", 1, status="deleted", action="mute"),
                row10("i-sup", 2, match_type="prefix", direction="sideways"),
                row10("i-sup", 3),
            )
        ]
    )
    assert list(got[SUPPORT] or {}) == ["+15550000003"]


@pytest.mark.parametrize(
    ("row", "error", "message"),
    [
        (row10("i-sal", 1, id=7), PermanentApiError, "a rule's id or match_target is not a str"),
        (row10("i-sal", 1, match_target=None), PermanentApiError, "id or match_target"),
        (row10("i-sal", 1, agent_identity_id=None), PermanentApiError, "has no agent_identity_id"),
        (row10("i-else", 1, agent_identity_id=5), PermanentApiError, "has no agent_identity_id"),
        (row10("i-sal", 1, action="mute"), PlanError, "sales-bot: live rule i-sal-1 for "),
        (row10("i-sal", 1, status="archived"), PlanError, "has status 'archived', which"),
        (row10("i-sal", 1, direction=None, action=None), PlanError, "has action None"),
        (row10("i-sal", 1, status={"archived": True}), PlanError, "has status {'archived': True}"),
    ],
)
def test_2026_10_managed_rows_with_malformed_or_unknown_values_are_errors(
    row: dict[str, Any], error: type[Exception], message: str
) -> None:
    for body in (rows(row), rows(row10("i-sup", 9), row, limit=200, has_more=False)):
        with pytest.raises(error, match=re.escape(message)):
            read_2026_10([body])


# -- typed and raw decoding agree ---------------------------------------------------------


def _values(*good: object) -> st.SearchStrategy[object]:
    """A field's value: one of `good`, a value no contract allows, or null."""
    return st.sampled_from([*good, "unknown", None, 7, True])


MISSING = object()
FIELDS = {
    "action": _values("allow", "block"),
    "status": _values("active", "paused", "deleted"),
    "direction": _values("both", "inbound", "outbound"),
    "match_type": _values("exact_number", "prefix"),
    "match_target": _values("+15550000001", "+15550000002", "+15550000003"),
}


@st.composite
def rule_rows(draw: st.DrawFn, owner_field: str, owners: list[object]) -> list[dict[str, Any]]:
    """Rows mostly well formed (so whole pages decode typed), some fields odd or missing."""
    out = []
    for j in range(draw(st.integers(0, 6))):
        row: dict[str, Any] = {"id": draw(st.sampled_from([f"r{j}", f"r{j}", "r0", 7]))}
        row[owner_field] = draw(st.sampled_from(owners))
        for name, values in FIELDS.items():
            if draw(st.integers(0, 4)) == 0:  # an odd value or missing, one field in five
                value = draw(st.one_of(values, st.just(MISSING)))
            else:
                value = draw(values.filter(lambda v: isinstance(v, str) and v != "unknown"))
            if value is not MISSING:
                row[name] = value
        out.append(row)
    return out


def outcome(read: Any, *args: Any) -> object:
    try:
        return read(*args)
    except InkboxSyncError as exc:
        return type(exc), str(exc)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(rule_rows("phone_number_id", ["n1", "n1", None, 5]))
def test_2026_06_typed_and_checked_decoding_agree(items: list[dict[str, Any]]) -> None:
    poison = {"id": "poison", "status": "deleted", "action": 0}  # never read, forces raw rows
    assert outcome(number_rules, rows(*items)) == outcome(number_rules, rows(*items, poison))


@PROPERTY
@given(rule_rows("agent_identity_id", ["i-sup", "i-sal", "i-else", "i-sal"]))
def test_2026_10_typed_and_checked_decoding_agree(items: list[dict[str, Any]]) -> None:
    poison = {"id": "poison", "agent_identity_id": "i-unknown", "action": 0}  # nobody's
    assert outcome(read_2026_10, [rows(*items)]) == outcome(read_2026_10, [rows(*items, poison)])


# -- rows by target -----------------------------------------------------------------------


def live(rule_id: str, target: str, direction: str = "both", status: str = "active") -> LiveRule:
    return LiveRule(rule_id, target, "allow", status, direction)  # type: ignore[arg-type]


A, B = "+15550000001", "+15550000002"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], {}),
        ([live("1", A), live("2", B)], {A: live("1", A), B: live("2", B)}),
        ([live("2", A), live("1", A)], {A: live("1", A)}),  # two for one target: the smaller id
        ([live("1", A, status="paused"), live("2", A)], {A: live("2", A)}),  # ...or the active
        ([live("1", A, "inbound"), live("2", B)], {A: live("1", A, "inbound"), B: live("2", B)}),
        (
            [live("1", A, "inbound"), live("2", A, "outbound")],
            {A: (live("1", A, "inbound"), live("2", A, "outbound"))},
        ),
        ([live("1", A), live("0", A, "outbound")], {A: (live("1", A), live("0", A, "outbound"))}),
    ],
)
def test_by_target(rules: list[LiveRule], expected: dict[str, object]) -> None:
    assert by_target(rules) == expected
    assert by_target(iter(rules)) == expected
