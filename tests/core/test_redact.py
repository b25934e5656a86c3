"""The one redaction layer (`inkbox_sync.redact`) and the reprs of everything holding the key."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from inkbox_sync.cli.context import Endpoint, GlobalOptions
from inkbox_sync.client import InkboxClient
from inkbox_sync.redact import Redactor, redact_url, redact_urls
from inkbox_sync.sandbox import SandboxOptions
from inkbox_sync.workflow import Connection

KEY = "sk-CANARY-0c4e9a71"
TOKEN = "tok-CANARY-d2b8"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/inkbox", "https://hooks.example.com/inkbox"),
        (
            f"https://hooks.example.com/inkbox?token={TOKEN}",
            "https://hooks.example.com/inkbox?token=***",
        ),
        (f"https://bot:{TOKEN}@hooks.example.com/x", "https://***@hooks.example.com/x"),
        (
            f"wss://agent.example.com/ws?a=1&sig={TOKEN}&flag",
            "wss://agent.example.com/ws?a=***&sig=***&***",
        ),
        (
            f"https://h.example.com/cb#access_token={TOKEN}",
            "https://h.example.com/cb#access_token=***",
        ),
        ("http://[::1", "<invalid URL>"),
        # SIP forwarding targets: the user part is the address called, the password is not
        (
            f"sips:bob:{TOKEN}@pbx.example.com;transport=tls?X-Token={TOKEN}",
            "sips:bob:***@pbx.example.com;transport=tls?X-Token=***",
        ),
        ("sip:alice@pbx.example.com", "sip:alice@pbx.example.com"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("no url here", "no url here"),
        (
            f"incoming_call_webhook_url: (empty) -> https://h.example.com/i?token={TOKEN}",
            "incoming_call_webhook_url: (empty) -> https://h.example.com/i?token=***",
        ),
        # sentence punctuation stays outside the URL, quotes end it
        (f"see (https://h.example.com/?t={TOKEN}).", "see (https://h.example.com/?t=***)."),
        (f"'https://h.example.com/?t={TOKEN}' is bad", "'https://h.example.com/?t=***' is bad"),
        # a coloured line: the colour codes are not part of the URL
        (
            click.style(f"~ url: https://h.example.com/?t={TOKEN}", fg="yellow"),
            click.style("~ url: https://h.example.com/?t=***", fg="yellow"),
        ),
        (f"`wss://a.example.com/?k={TOKEN}`", "`wss://a.example.com/?k=***`"),
        (
            f"forwarding_sip_uri: (empty) -> sip:op:{TOKEN}@pbx.example.com?h={TOKEN}",
            "forwarding_sip_uri: (empty) -> sip:op:***@pbx.example.com?h=***",
        ),
        ("gossip: nothing to hide", "gossip: nothing to hide"),
    ],
)
def test_redact_urls_in_text(text: str, shown: str) -> None:
    assert redact_urls(text) == shown


def test_the_key_is_scrubbed_everywhere_urls_only_from_text() -> None:
    redactor = Redactor([KEY, None, ""])
    line = f"key {KEY} in https://h.example.com/?t={TOKEN}&k={KEY}"
    assert redactor.scrub(line) == f"key *** in https://h.example.com/?t={TOKEN}&k=***"
    assert redactor.text(line) == "key *** in https://h.example.com/?t=***&k=***"
    assert redactor.detail({"detail": [f"x {KEY}", 3]}) == {"detail": ["x ***", 3]}
    assert KEY not in repr(redactor) and repr(redactor) == "Redactor(1 secret(s))"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    redactor = Redactor(["abc", "xxabcxx"])
    assert redactor.scrub("xxabcxx and abc") == "*** and ***"


def test_every_repr_holding_the_key_is_safe() -> None:
    """Finding 8: GlobalOptions' repr showed the key."""
    base = f"https://bot:{TOKEN}@inkbox.example.com"
    holders = [
        GlobalOptions(
            api_key=KEY,
            base_url=base,
            sandbox=Path("s.json"),
            concurrency=8,
            no_color=True,
            verbose=2,
        ),
        Endpoint(base_url=base, api_key=KEY),
        Connection(base, KEY),
        InkboxClient("https://inkbox.example.com", KEY),
        SandboxOptions(api_key=KEY, agent_key=KEY),
    ]
    for holder in holders:
        text = repr(holder)
        assert KEY not in text and TOKEN not in text, text
    assert "***" in repr(holders[0])
