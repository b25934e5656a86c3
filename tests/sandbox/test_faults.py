"""The fault knobs do what they say: --fail-rate (seeded), --rate-limit, --latency-ms."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from inkbox_sync.sandbox import SandboxOptions, SandboxServer, empty
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.httpd import _WRITE_BUFFER
from tests.sandbox.throughput import fleet
from tests.support.sandbox import get_requests, sandbox_process, set_faults

SCHEDULER = demo_id("number", "+14155550003")


def api(box: SandboxServer, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=f"{box.base_url}/api/v1",
        headers={"X-API-Key": key or box.api_key},
        trust_env=False,
    )


def statuses(options: SandboxOptions, count: int) -> list[int]:
    with SandboxServer(options) as box, api(box) as client:
        return [client.get("/phone/numbers").status_code for _ in range(count)]


def test_fail_rate_is_within_tolerance_and_reproducible_for_a_seed() -> None:
    seeded = SandboxOptions(api_version="2026-06", fail_rate=0.2, seed=1234)
    first = statuses(seeded, 400)
    assert set(first) == {200, 500}
    failures = first.count(500)
    # Binomial(400, 0.2): mean 80, sd 8; this seed's count must be within 4 sd.
    assert 48 <= failures <= 112
    assert statuses(seeded, 400) == first  # same seed, same requests: same answers
    assert statuses(SandboxOptions(api_version="2026-06", fail_rate=0.2, seed=4321), 400) != first


@pytest.mark.parametrize(
    ("version", "rules_url", "owner"),
    [
        ("2026-06", f"/phone/numbers/{SCHEDULER}/contact-rules", SCHEDULER),
        (
            "2026-10",
            "/identities/scheduler-bot/phone-contact-rules",
            demo_id("identity", "scheduler-bot"),
        ),
    ],
)
def test_half_the_failed_writes_were_committed_and_the_log_says_which(
    version: str, rules_url: str, owner: str
) -> None:
    with (
        SandboxServer(SandboxOptions(api_version=version, fail_rate=1.0, seed=99)) as box,
        api(box) as client,
    ):
        targets = [f"+1555700{i:04d}" for i in range(60)]
        for target in targets:
            answer = client.post(
                rules_url,
                json={"action": "allow", "match_type": "exact_number", "match_target": target},
            )
            assert answer.status_code == 500  # the client cannot tell which ones happened
        log = get_requests(box.base_url)
        committed = {e["body"]["match_target"] for e in log if e["fault"] == "after_commit"}
        not_committed = {e["body"]["match_target"] for e in log if e["fault"] == "before_commit"}
        assert committed | not_committed == set(targets)
        assert 15 <= len(committed) <= 45
        stored = {r["match_target"] for r in box.store.document()["rules"]}
        assert committed <= stored
        assert not (not_committed & stored)

        # A retry of a committed create finds its slot taken, by the rule it made.
        set_faults(box.base_url, fail_rate=0)
        retry = client.post(
            rules_url,
            json={"action": "allow", "match_type": "exact_number", "match_target": min(committed)},
        )
        assert retry.status_code == 409
        existing = retry.json()["detail"]["existing_rule_id"]
        assert box.store.rule(owner, existing)["match_target"] == min(committed)


@pytest.mark.parametrize("version", ["2026-06", "2026-10"])
def test_rate_limit_answers_429_with_a_parseable_retry_after(version: str) -> None:
    agent_key = "agent-key"
    with (
        SandboxServer(
            SandboxOptions(api_version=version, rate_limit=5, agent_key=agent_key)
        ) as box,
        api(box) as client,
        api(box, agent_key) as agent,
    ):
        answers = [client.get("/phone/numbers") for _ in range(20)]
        codes = [a.status_code for a in answers]
        assert codes.count(200) <= 10  # 5 a second; 20 quick requests span at most 2 windows
        limited = [a for a in answers if a.status_code == 429]
        assert limited
        for answer in limited:
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.headers["X-RateLimit-Remaining"] == "0"
            assert answer.headers["X-RateLimit-Limit"] == "5"
        assert agent.get("/phone/numbers").status_code == 200  # each key has its own budget
        time.sleep(float(limited[-1].headers["Retry-After"]))
        assert client.get("/phone/numbers").status_code == 200  # the window has moved on


def test_latency_is_applied_to_each_api_request() -> None:
    """No byte of an answer leaves before the latency, even the head of one larger
    than the write buffer (whose body goes out without being buffered)."""
    many = fleet(4000, 0)  # a numbers listing of over 1 MB (asserted below)
    with (
        SandboxServer(
            SandboxOptions(api_version="2026-06", latency_ms=120, initial_state=many)
        ) as box,
        api(box) as client,
    ):
        for path in ("/phone/numbers", "/identities/", "/no/such/route"):
            started = time.perf_counter()
            with client.stream("GET", path) as answer:
                assert time.perf_counter() - started >= 0.12  # the head is in
                body = answer.read()
            if path == "/phone/numbers":
                assert answer.status_code == 200 and len(body) > _WRITE_BUFFER


def test_latency_counts_from_the_request_line() -> None:
    """A head that trickles in is the sandbox's to wait for, inside the latency: the
    answer leaves `latency_ms` after the request line, not after the last header."""
    latency, trickle = 0.5, 0.7
    options = SandboxOptions(api_version="2026-06", latency_ms=latency * 1000)
    with (
        SandboxServer(options) as box,
        socket.create_connection(("127.0.0.1", box.port), timeout=10) as sock,
    ):
        sock.sendall(b"GET /api/v1/phone/numbers HTTP/1.1\r\n")
        line_sent = time.perf_counter()
        time.sleep(trickle)
        sock.sendall(b"Host: x\r\nX-API-Key: sandbox-key\r\nConnection: close\r\n\r\n")
        head_sent = time.perf_counter()
        first = sock.recv(65536)
        answered = time.perf_counter()
    assert first.startswith(b"HTTP/1.1 200 ")
    assert answered - line_sent >= latency
    # Counted from the end of the head, it would still wait `latency` here.
    assert answered - head_sent < latency - 0.1


def test_knobs_can_change_while_running() -> None:
    with (
        SandboxServer(SandboxOptions(api_version="2026-06", initial_state=empty())) as box,
        api(box) as client,
    ):
        assert client.get("/phone/numbers").status_code == 200
        knobs = set_faults(box.base_url, fail_rate=1.0, seed=1)
        assert knobs == {
            "latency_ms": 0.0,
            "fail_rate": 1.0,
            "seed": 1,
            "rate_limit": 10_000,
            "hold_writes_after": None,
            "refuse_writes_after": None,
            "held": 0,
        }
        assert client.get("/phone/numbers").status_code == 500
        set_faults(box.base_url, fail_rate=0.0)
        assert client.get("/phone/numbers").status_code == 200
        bad = httpx.patch(f"{box.base_url}/_sandbox/faults", json={"fail_rate": 2}, trust_env=False)
        assert bad.status_code == 422


def test_refuse_writes_after_k_answers_later_writes_403_uncommitted() -> None:
    with SandboxServer(SandboxOptions(api_version="2026-06")) as box, api(box) as client:
        path = f"/phone/numbers/{demo_id('number', '+14155550003')}/contact-rules"  # no rules
        set_faults(box.base_url, refuse_writes_after=2)
        answers = [
            client.post(
                path,
                json={"action": "allow", "match_type": "exact_number", "match_target": target},
            ).status_code
            for target in ("+14155550100", "+14155550101", "+14155550102", "+14155550103")
        ]
        assert answers == [201, 201, 403, 403]
        assert client.get("/phone/numbers").status_code == 200  # reads are never refused
        assert len(client.get(path).json()["items"]) == 2  # the refused ones never committed
        knobs = set_faults(box.base_url, refuse_writes_after=None)
        assert (knobs["refuse_writes_after"], knobs["hold_writes_after"]) == (None, None)
        bad = httpx.patch(
            f"{box.base_url}/_sandbox/faults",
            json={"hold_writes_after": 1, "refuse_writes_after": 1},
            trust_env=False,
        )
        assert bad.status_code == 422


@pytest.fixture(scope="module")
def faulty_process() -> Iterator[str]:
    with sandbox_process(latency_ms=30, fail_rate=0.5, seed=7, rate_limit=1000, page_size=7) as box:
        yield box.base_url


def test_serve_options_reach_the_server(faulty_process: str) -> None:
    knobs = httpx.get(f"{faulty_process}/_sandbox/faults", trust_env=False).json()
    assert knobs == {
        "latency_ms": 30.0,
        "fail_rate": 0.5,
        "seed": 7,
        "rate_limit": 1000,
        "hold_writes_after": None,
        "refuse_writes_after": None,
        "held": 0,
    }
    with httpx.Client(headers={"X-API-Key": "sandbox-key"}, trust_env=False) as client:
        started = time.perf_counter()
        answers = [
            client.get(f"{faulty_process}/api/v1/phone/contact-rules?limit=50") for _ in range(20)
        ]
        assert time.perf_counter() - started >= 20 * 0.03
    assert {a.status_code for a in answers} == {200, 500}
    assert all(a.json()["limit"] == 7 for a in answers if a.status_code == 200)
