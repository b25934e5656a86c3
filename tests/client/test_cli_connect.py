"""The CLI reaching the API as a user would: an HTTPS sandbox, refusals, proxies, bad keys.

The HTTPS sandbox is the real sandbox subprocess behind a TLS relay on
127.0.0.1 whose certificate comes from a throwaway CA (trustme).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.cli import EXAMPLES, run_cli
from tests.support.sandbox import SandboxProcess, sandbox_process

#: Emptied for every run: the machine's trust and proxy settings must not leak in.
CLEAN = {
    name: ""
    for name in (
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    )
}


@contextlib.contextmanager
def tls_relay(upstream_port: int, context: ssl.SSLContext) -> Iterator[int]:
    """TLS on 127.0.0.1:PORT, relayed in clear to 127.0.0.1:upstream_port; yields PORT."""
    loop = asyncio.new_event_loop()
    ready: list[int] = []
    started = threading.Event()
    stop = asyncio.Event()

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            dst.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        ready.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture
def https_box(tmp_path: Path) -> Iterator[tuple[SandboxProcess, str, Path]]:
    """(sandbox, its https:// base URL, the CA file that trusts it)."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with sandbox_process(tmp_path / "org.json") as box:
        port = int(box.base_url.rsplit(":", 1)[1])
        with tls_relay(port, context) as tls_port:
            yield box, f"https://127.0.0.1:{tls_port}", ca_file


def test_plan_against_an_https_sandbox_trusted_through_ssl_cert_file(
    https_box: tuple[SandboxProcess, str, Path],
) -> None:
    box, url, ca_file = https_box
    env = {
        **CLEAN,
        "INKBOX_BASE_URL": url,
        "INKBOX_API_KEY": box.api_key,
        "SSL_CERT_FILE": str(ca_file),
    }
    result = run_cli(["plan", EXAMPLES], env=env)
    assert result.returncode == 0, result.stderr
    assert "transition safety: verified" in result.stdout


def test_an_untrusted_https_sandbox_fails_at_once_with_the_certificate_message(
    https_box: tuple[SandboxProcess, str, Path],
) -> None:
    box, url, _ = https_box
    env = {**CLEAN, "INKBOX_BASE_URL": url, "INKBOX_API_KEY": box.api_key}
    result = run_cli(["-v", "plan", EXAMPLES], env=env)
    assert result.returncode == 1
    assert "127.0.0.1: certificate verify failed: unable to get local issuer certificate" in (
        result.stderr
    )
    assert "(not retried)" in result.stderr
    assert "(attempt 2)" not in result.stderr
    assert "Traceback" not in result.stderr
    assert box.api_key not in result.stderr + result.stdout


def test_a_refused_port_is_retried_with_each_attempt_shown_at_v() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **CLEAN,
        "INKBOX_BASE_URL": f"http://127.0.0.1:{port}",
        "INKBOX_API_KEY": "sk-test-0123456789",
    }
    result = run_cli(["-v", "plan", EXAMPLES], env=env)
    assert result.returncode == 1
    cause = f"127.0.0.1:{port}: connection refused"
    attempts = [
        line.strip()
        for line in result.stderr.splitlines()
        if line.startswith("  GET /api/v1/phone/numbers -> ")
    ]
    assert len(attempts) == 8, result.stderr
    assert all(cause in line for line in attempts)
    assert [line.rpartition("(attempt ")[2] for line in attempts[1:]] == [
        f"{n})" for n in range(2, 9)
    ]
    final = f"GET /api/v1/phone/numbers: {cause} (gave up after 8 attempts)"
    assert result.stderr.splitlines()[-1].endswith(final)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ALL_PROXY": "socks5://127.0.0.1:1080"},
            "ALL_PROXY names a socks5:// proxy; inkbox-sync speaks only to http:// proxies",
        ),
        ({"INKBOX_API_KEY": "sk-caf\u00e9"}, "the API key has a non-ASCII character"),
        ({"INKBOX_API_KEY": "sk-abc\r\nX-Evil: 1"}, "the API key has a line break"),
    ],
    ids=["socks5-proxy", "non-ascii-key", "crlf-key"],
)
def test_unusable_settings_are_config_errors_without_a_traceback(
    env: dict[str, str], message: str
) -> None:
    # https://inkbox.invalid is never reached: the settings are refused before any request.
    full = {
        **CLEAN,
        "INKBOX_BASE_URL": "https://inkbox.invalid",
        "INKBOX_API_KEY": "sk-test-0123456789",
        **env,
    }
    result = run_cli(["plan", EXAMPLES], env=full)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "caf" not in result.stderr and "X-Evil" not in result.stderr
