"""Reaching the API: TLS trust, names, refusals, Happy Eyeballs, proxies, deadlines, the key.

Real sockets on loopback only, servers started by the tests. Names that must
not resolve, or must resolve to chosen loopback addresses, go through a patched
`socket.getaddrinfo`: nothing is sent to a resolver, and no traffic leaves
127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from inkbox_sync.client import Adapter2026_06, InkboxClient, RequestEvent, RetryPolicy
from inkbox_sync.client.pool import ConnectionPool
from inkbox_sync.client.proxy import Proxy, proxy_from_environment
from inkbox_sync.errors import ConfigError, ConnectionFailedError, UnreachableError
from tests.client.fakes import KEY, number

NUMBERS = json.dumps([number(0), number(1)]).encode()
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(NUMBERS), NUMBERS)
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01, max_attempts=3)
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
PROXY_VARIABLES = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No trust or proxy settings of the machine leak into these tests."""
    for name in [*TRUST_VARIABLES, *PROXY_VARIABLES, *(v.upper() for v in PROXY_VARIABLES)]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "inkbox.test").configure_cert(context)
    return context


async def answer_numbers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request with two numbers, on one keep-alive connection."""
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


def list_numbers(base_url: str, events: list[RequestEvent] | None = None, **kw: Any) -> int:
    async def go() -> int:
        on_request = events.append if events is not None else None
        kw.setdefault("retry", FAST)
        async with Adapter2026_06(base_url, KEY, on_request=on_request, **kw) as c:
            return len(await c.list_numbers())

    return asyncio.run(go())


def with_server(tls: ssl.SSLContext | None, run: Any) -> Any:
    """Start `answer_numbers` on 127.0.0.1 (TLS if given) and call `run(port)` in a thread."""

    async def go() -> Any:
        server = await asyncio.start_server(answer_numbers, "127.0.0.1", 0, ssl=tls)
        async with server:
            return await asyncio.to_thread(run, server.sockets[0].getsockname()[1])

    return asyncio.run(go())


# -- TLS -------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_https_with_a_throwaway_ca_named_by_the_environment(
    ca: trustme.CA, ca_file: Path, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, str(ca_file))
    assert with_server(server_tls(ca), lambda port: list_numbers(f"https://127.0.0.1:{port}")) == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to hash the CA")
def test_https_with_the_ca_in_ssl_cert_dir(
    ca: trustme.CA, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenSSL looks a CA up in a directory by its subject hash: <hash>.0
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(ca_file)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (tmp_path / f"{subject_hash}.0").write_bytes(ca_file.read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert with_server(server_tls(ca), lambda port: list_numbers(f"https://127.0.0.1:{port}")) == 2


def test_a_certificate_nobody_trusts_fails_at_once_saying_why(ca: trustme.CA) -> None:
    events: list[RequestEvent] = []
    with pytest.raises(ConnectionFailedError) as info:
        with_server(server_tls(ca), lambda port: list_numbers(f"https://127.0.0.1:{port}", events))
    message = str(info.value)
    assert message.startswith("GET /api/v1/phone/numbers: 127.0.0.1: certificate verify failed: ")
    assert "not retried" in message
    assert info.value.host == "127.0.0.1"
    assert len(events) == 1  # a certificate does not get better on retry
    assert events[0].error is not None and "certificate verify failed" in events[0].error


def test_a_named_trust_file_that_does_not_exist_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=r"SSL_CERT_FILE/SSL_CERT_DIR names .*missing\.pem"):
        list_numbers("https://127.0.0.1:9")


# -- names, refusals, Happy Eyeballs ----------------------------------------------------


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names -> loopback addresses, in order; other *.test / *.invalid names do not exist."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in table:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, int(port)))
                for addr in table[name]
            ]
        if name.endswith((".test", ".invalid")):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return table


def test_an_unknown_host_fails_at_once_saying_so(resolver: dict[str, list[str]]) -> None:
    events: list[RequestEvent] = []
    with pytest.raises(ConnectionFailedError) as info:
        list_numbers("https://inkbox.invalid", events)
    assert str(info.value) == (
        "GET /api/v1/phone/numbers: inkbox.invalid: name not resolved "
        "(Name or service not known) (not retried)"
    )
    assert len(events) == 1


def test_a_refused_connection_is_retried_and_then_named() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    events: list[RequestEvent] = []
    with pytest.raises(UnreachableError) as info:
        list_numbers(f"http://127.0.0.1:{port}", events)
    cause = f"127.0.0.1:{port}: connection refused"
    assert str(info.value) == f"GET /api/v1/phone/numbers: {cause} (gave up after 3 attempts)"
    assert [(e.attempt, e.error) for e in events] == [(1, cause), (2, cause), (3, cause)]


def test_refused_on_every_address_is_still_connection_refused(
    resolver: dict[str, list[str]],
) -> None:
    # asyncio alone would merge the two refusals into one errno-less OSError;
    # aiohappyeyeballs keeps the errno they share, so the cause can be named.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resolver["two.test"] = ["127.0.0.2", "127.0.0.1"]

    async def go() -> None:
        async with httpx.AsyncClient(transport=ConnectionPool(), trust_env=False) as client:
            await client.get(f"http://two.test:{port}/")

    with pytest.raises(httpx.ConnectError, match=rf"^two.test:{port}: connection refused$"):
        asyncio.run(go())


@pytest.fixture
def blackhole() -> Iterator[tuple[str, int]]:
    """127.0.0.2:PORT, where connections hang: a listener whose backlog is full, so the
    kernel drops every further SYN. PORT is free on 127.0.0.1 for the real server."""
    real = socket.socket()
    real.bind(("127.0.0.1", 0))
    port = real.getsockname()[1]
    real.close()
    hole = socket.socket()
    fill = [socket.socket() for _ in range(3)]
    try:
        hole.bind(("127.0.0.2", port))
        hole.listen(0)
        for s in fill:
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.2", port))
        try:
            socket.create_connection(("127.0.0.2", port), timeout=0.3).close()
            pytest.skip("this kernel accepts past a full backlog: no blackhole to test with")
        except TimeoutError:
            pass
        yield "127.0.0.2", port
    finally:
        for s in [hole, *fill]:
            s.close()


def test_happy_eyeballs_connects_past_a_blackholed_first_address(
    resolver: dict[str, list[str]], blackhole: tuple[str, int]
) -> None:
    # Without Happy Eyeballs the first address eats the whole connect timeout and the
    # request fails; with it the second address is tried 250 ms in, and answers.
    hole, port = blackhole
    resolver["dual.test"] = [hole, "127.0.0.1"]

    async def go() -> int:
        server = await asyncio.start_server(answer_numbers, "127.0.0.1", port)
        async with (
            server,
            httpx.AsyncClient(
                transport=ConnectionPool(), timeout=httpx.Timeout(5.0), trust_env=False
            ) as client,
        ):
            response = await client.get(f"http://dual.test:{port}/")
            return len(response.json())

    assert asyncio.run(go()) == 2


def test_connect_timeout_names_the_host(
    resolver: dict[str, list[str]], blackhole: tuple[str, int]
) -> None:
    hole, port = blackhole
    resolver["hole.test"] = [hole]

    async def go() -> None:
        async with httpx.AsyncClient(
            transport=ConnectionPool(), timeout=httpx.Timeout(5.0, connect=0.3), trust_env=False
        ) as client:
            await client.get(f"http://hole.test:{port}/")

    with pytest.raises(
        httpx.ConnectTimeout, match=rf"hole.test:{port}: connect timed out after 0.3 s"
    ):
        asyncio.run(go())


# -- deadlines, junk -------------------------------------------------------------------


def test_a_trickle_slower_than_the_deadline_is_cut_off_and_retried() -> None:
    # Each byte comes well within the read timeout; the attempt's deadline ends it.
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
            for _ in range(1000):
                await asyncio.sleep(0.02)
                writer.write(b" ")
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def go() -> None:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await asyncio.to_thread(
                list_numbers, f"http://127.0.0.1:{port}", events, deadline=0.2,
                retry=RetryPolicy(base_delay=0.001, max_attempts=2),
            )  # fmt: skip

    events: list[RequestEvent] = []
    with pytest.raises(UnreachableError, match=r"127.0.0.1: timed out after 0.2 s \(the deadline"):
        asyncio.run(go())
    assert len(events) == 2


def test_junk_is_a_malformed_answer_retried_then_named() -> None:
    async def junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(junk, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await asyncio.to_thread(list_numbers, f"http://127.0.0.1:{port}")

    with pytest.raises(UnreachableError, match=r"127.0.0.1: malformed answer: .*3 attempts"):
        asyncio.run(go())


# -- proxies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "proxy"),
    [
        ({}, "https://inkbox.ai", None),
        ({"HTTPS_PROXY": "http://proxy.corp:3128"}, "https://inkbox.ai", "proxy.corp:3128"),
        (
            {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"},
            "https://inkbox.ai",
            "low:1",
        ),
        ({"HTTPS_PROXY": "proxy.corp:8080"}, "https://inkbox.ai", "proxy.corp:8080"),
        ({"HTTPS_PROXY": "http://proxy.corp"}, "https://inkbox.ai", "proxy.corp:80"),
        ({"HTTP_PROXY": "http://p:1"}, "https://inkbox.ai", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://inkbox.ai", "p:1"),
        ({"ALL_PROXY": "http://all:1"}, "https://inkbox.ai", "all:1"),
        ({"ALL_PROXY": "http://all:1", "HTTPS_PROXY": "http://s:2"}, "https://inkbox.ai", "s:2"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "inkbox.ai"}, "https://inkbox.ai", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".inkbox.ai"}, "https://api.inkbox.ai", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://inkbox.ai", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.ai, inkbox.ai:443"},
            "https://inkbox.ai",
            None,
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "inkbox.ai.evil"}, "https://inkbox.ai", "p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://127.0.0.1:8080", None),
        ({"HTTPS_PROXY": "http://p:1"}, "https://localhost:8443", None),
        ({"HTTPS_PROXY": "http://p:1"}, "https://[::1]:8443", None),
    ],
)
def test_proxy_from_environment(env: dict[str, str], url: str, proxy: str | None) -> None:
    u = httpx.URL(url)
    found = proxy_from_environment(u.scheme, u.host, u.port or 443, env)
    assert (f"{found.host}:{found.port}" if found else None) == proxy


def test_proxy_credentials_become_basic_auth_and_never_show() -> None:
    found = proxy_from_environment(
        "https", "inkbox.ai", 443, {"HTTPS_PROXY": "http://me:s%40cret@p:1"}
    )
    assert found == Proxy("p", 1, b"Basic bWU6c0BjcmV0")
    assert "cret" not in repr(found) and "bWU6" not in repr(found)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALL_PROXY", "socks5://127.0.0.1:1080"),
        ("HTTPS_PROXY", "socks5h://user:pw@proxy:1080"),
        ("HTTPS_PROXY", "https://proxy.corp:443"),
    ],
)
def test_unsupported_proxy_schemes_are_config_errors(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        InkboxClient("https://inkbox.ai", KEY)
    scheme = value.split(":")[0]
    assert str(info.value).startswith(f"{variable} names a {scheme}:// proxy;")
    assert "pw" not in str(info.value)


async def connect_proxy(
    seen: list[bytes], status: bytes = b"200 Connection established"
) -> asyncio.Server:
    """A CONNECT proxy that sends every tunnel to 127.0.0.1, whatever name it was given."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        if not status.startswith(b"200"):
            writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
            writer.close()
            return
        port = int(head.split(b" ")[1].rsplit(b":", 1)[1])
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HTTP/1.1 " + status + b"\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_https_through_a_connect_proxy(
    ca: trustme.CA, ca_file: Path, resolver: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # inkbox.test resolves nowhere (see `resolver`): only the proxy can reach it.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    seen: list[bytes] = []

    async def go() -> int:
        proxy = await connect_proxy(seen)
        server = await asyncio.start_server(answer_numbers, "127.0.0.1", 0, ssl=server_tls(ca))
        proxy_port = proxy.sockets[0].getsockname()[1]
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTPS_PROXY", f"http://me:pw@127.0.0.1:{proxy_port}")
        async with proxy, server:
            return await asyncio.to_thread(list_numbers, f"https://inkbox.test:{port}")

    assert asyncio.run(go()) == 2
    assert seen[0].startswith(b"CONNECT inkbox.test:")
    assert b"\r\nProxy-Authorization: Basic bWU6cHc=\r\n" in seen[0]
    assert KEY.encode() not in seen[0]  # the key travels only inside the TLS tunnel


def test_a_proxy_that_refuses_the_tunnel_is_named_and_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bytes] = []

    async def go() -> None:
        proxy = await connect_proxy(seen, b"407 Proxy Authentication Required")
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}")
        async with proxy:
            await asyncio.to_thread(list_numbers, "https://inkbox.test")

    with pytest.raises(ConnectionFailedError, match=r"refused a tunnel to inkbox.test:443: 407"):
        asyncio.run(go())
    assert len(seen) == 1


# -- the key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("sk-caf\u00e9", "non-ASCII"),
        ("sk-\u201cquoted\u201d", "non-ASCII"),
        ("sk-abc\r\nX-Injected: 1", "line break"),
        ("sk-abc\n", "line break"),
        ("sk-abc\t", "control character"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_a_config_error(key: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        InkboxClient("https://inkbox.ai", key)
    assert key.strip() not in str(info.value)


def test_no_repr_on_the_request_path_shows_the_key() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.extend([repr(request), repr(request.headers)])
        return httpx.Response(200, json=[])

    async def go() -> None:
        client = Adapter2026_06("https://inkbox.ai", KEY, transport=httpx.MockTransport(handler))
        transport = client._t
        seen.extend([repr(client), repr(transport), repr(transport._http)])
        seen.append(repr(transport._http.headers))
        seen.append(repr(ConnectionPool()))
        async with client:
            await client.list_numbers()

    asyncio.run(go())
    assert all(KEY not in text for text in seen), [t for t in seen if KEY in t]
    assert any("[secure]" in text for text in seen)
