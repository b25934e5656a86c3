"""The sandbox's HTTP layer on the wire, with raw sockets: what `http.server` and
`httpd` answer to well-formed and malformed requests, and that none of it
reaches a traceback."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id

SCHEDULER = demo_id("number", "+14155550003")
RULES = f"/api/v1/phone/numbers/{SCHEDULER}/contact-rules"
KEY = "X-API-Key: sandbox-key\r\n"


@pytest.fixture(scope="module")
def box() -> Iterator[SandboxServer]:
    # The HTTP layer is the same for every API version; 2026-06 has the simplest create.
    with SandboxServer(SandboxOptions(api_version="2026-06")) as server:
        yield server


def connect(box: SandboxServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", box.port), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(box: SandboxServer, data: bytes) -> bytes:
    with connect(box) as sock:
        sock.sendall(data)
        return read_all(sock)


def rule_body(target: str) -> bytes:
    return json.dumps(
        {"action": "allow", "match_type": "exact_number", "match_target": target}
    ).encode()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"NONSENSE\r\n\r\n", b"400", id="request line of one word"),
        pytest.param(b"GET / HTTP/1.1 extra\r\n\r\n", b"400", id="request line of four words"),
        pytest.param(b"GET / HTTP/one\r\n\r\n", b"400", id="bad version"),
        pytest.param(b"GET / HTTP/2.0\r\n\r\n", b"505", id="HTTP/2 over HTTP/1 framing"),
        pytest.param(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414", id="long target"),
        pytest.param(b"BREW / HTTP/1.1\r\n\r\n", b"501", id="unknown method"),
        pytest.param(
            f"GET /api/v1/phone/numbers HTTP/1.1\r\nHost: x\r\nnot a header\r\n{KEY}\r\n".encode(),
            b"400",
            id="junk header line",
        ),
        pytest.param(b"GET / HTTP/1.1\r\n: no name\r\n\r\n", b"400", id="header without a name"),
        pytest.param(
            b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", b"431", id="long header"
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", b"431", id="101 headers"
        ),
        pytest.param(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: abc\r\n\r\n".encode(),
            b"400",
            id="Content-Length not a number",
        ),
        pytest.param(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: -1\r\n\r\n".encode(),
            b"400",
            id="Content-Length negative",
        ),
        pytest.param(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}".encode(),
            b"400",
            id="two Content-Lengths",
        ),
        pytest.param(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: 99999999999\r\n\r\n".encode(),
            b"413",
            id="body too large",
        ),
        pytest.param(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Transfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n".encode(),
            b"411",
            id="chunked body",
        ),
    ],
)
def test_malformed_requests_get_a_json_4xx_and_the_connection_closes(
    box: SandboxServer, request_bytes: bytes, status: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = exchange(box, request_bytes)  # returns only once the server has closed
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert b"\r\nConnection: close" in head
    assert b"\r\nContent-Type: application/json" in head
    assert json.loads(body)["detail"]
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_that_is_not_json_is_the_apis_422(box: SandboxServer) -> None:
    answer = exchange(
        box,
        f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: 8\r\nConnection: close\r\n\r\nnot json".encode(),
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422 ")
    assert "JSON" in json.dumps(json.loads(body)["detail"])


def test_expect_100_continue_is_answered_before_the_body_is_sent(box: SandboxServer) -> None:
    body = rule_body("+15558880000")
    with connect(box) as sock:
        sock.sendall(
            f"POST {RULES} HTTP/1.1\r\nHost: x\r\n{KEY}Content-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode()
        )
        interim = sock.recv(65536)  # would block (and time out) if the 100 sat in a buffer
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"\r\nConnection: close\r\n" in answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["match_target"] == "+15558880000"


def test_a_chunked_body_with_expect_is_refused_before_it_is_sent(box: SandboxServer) -> None:
    with connect(box) as sock:
        sock.sendall(
            f"POST {RULES} HTTP/1.1\r\n{KEY}Transfer-Encoding: chunked\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 411 ")  # no 100 Continue first


def test_keep_alive_http_1_0_and_pipelining(box: SandboxServer) -> None:
    get = f"GET /api/v1/phone/numbers HTTP/1.1\r\nHost: x\r\n{KEY}\r\n".encode()
    body = rule_body("+15558880001")
    post = f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: {len(body)}\r\n\r\n".encode() + body
    last = f"GET /api/v1/phone/numbers HTTP/1.1\r\n{KEY}Connection: close\r\n\r\n".encode()
    # Three requests in one send on one connection: three answers, in order.
    answer = exchange(box, get + post + last)
    assert re.findall(rb"HTTP/1.1 (\d+) ", answer) == [b"200", b"201", b"200"]
    # HTTP/1.0 without keep-alive: one answer, then the server closes.
    answer = exchange(box, f"GET /api/v1/identities/ HTTP/1.0\r\n{KEY}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.count(b"HTTP/1.1") == 1


def test_a_client_that_leaves_mid_request_harms_nothing(
    box: SandboxServer, capfd: pytest.CaptureFixture[str]
) -> None:
    for partial in [
        f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: 100\r\n\r\n{{".encode(),  # short body
        b"GET /api/v1/phone/numbers HTTP/1.1\r\nHost:",  # half a header
        b"GET /api/v1/pho",  # half a request line
    ]:
        with connect(box) as sock:
            sock.sendall(partial)
    answer = exchange(
        box, f"GET /api/v1/phone/numbers HTTP/1.1\r\n{KEY}Connection: close\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert "Traceback" not in capfd.readouterr().err


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = SandboxServer(SandboxOptions(host="::1")).start()
    except ConfigError as exc:  # e.g. IPv6 disabled in the kernel
        pytest.skip(f"cannot listen on ::1: {exc}")
    try:
        assert server.base_url == f"http://[::1]:{server.port}"
        with socket.create_connection(("::1", server.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        server.stop()


def test_a_lone_surrogate_a_client_sent_is_answered_and_logged(box: SandboxServer) -> None:
    """JSON may carry a string UTF-8 cannot ("\\ud800"); what echoes it (the request
    log, here) answers it escaped, not with a dropped connection."""
    body = b'{"action": "allow", "match_type": "exact_number", "match_target": "\\ud800"}'
    answer = exchange(
        box,
        f"POST {RULES} HTTP/1.1\r\n{KEY}Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body,
    )
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422 ")  # not a phone number
    assert json.loads(rest)["detail"]
    log = exchange(
        box, f"GET /_sandbox/requests HTTP/1.1\r\n{KEY}Connection: close\r\n\r\n".encode()
    )
    head, _, rest = log.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(rest)[-1]["body"]["match_target"] == "\ud800"
