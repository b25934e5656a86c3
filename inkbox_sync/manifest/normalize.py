"""E.164 numbers and URLs: the pure checks the loader, the CLI and the planner share.

A manifest may write a number the way people read it ("+1 (415) 555-0100"); it
is stored and compared in canonical E.164 ("+14155550100"). Only the separators
people use (space, dash, dot, parentheses) are stripped, and only between digits
after the leading "+": anything else is an error, never a guess.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from inkbox_sync.redact import redact_url

#: Canonical E.164: "+", a country code that does not start with 0, 2 to 15 digits.
E164_PATTERN: Final = r"^\+[1-9][0-9]{1,14}$"
#: What a manifest may write: canonical E.164 with separators between the digits.
E164_INPUT_PATTERN: Final = r"^\+[1-9](?:[ ().-]*[0-9]){1,14}$"
E164_HINT: Final = '"+", a country code and the number, 2 to 15 digits, e.g. "+14155550100"'

_E164 = re.compile(E164_PATTERN)
_E164_INPUT = re.compile(E164_INPUT_PATTERN)
_SEPARATORS = re.compile(r"[ ().-]")

#: Plain ws:// and http:// are accepted only for these hosts (local development).
LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})

#: Coarse scheme checks for the JSON schema (editors); `${` lets a whole URL come
#: from the environment. The full check is `websocket_url_problem` / `webhook_url_problem`.
WEBSOCKET_URL_PATTERN: Final = r"^(wss://|ws://(localhost|127\.0\.0\.1|\[::1\])([:/?#]|$)|\$\{)"
WEBHOOK_URL_PATTERN: Final = r"^(https://|http://(localhost|127\.0\.0\.1|\[::1\])([:/?#]|$)|\$\{)"
#: The same coarse check for a SIP forwarding target; the full one is `sip_uri_problem`.
SIP_URI_PATTERN: Final = r"^([Ss][Ii][Pp][Ss]?:|\$\{)"

#: `sip:` or `sips:`, an optional `user@`, the host, an optional port, then
#: `;parameters` or `?headers` (RFC 3261, section 19.1.1, as far as a check needs).
_SIP_URI = re.compile(
    r"(?i:sips?):(?:[^@\s]+@)?(?P<host>[^:;?@\s]*)(?::(?P<port>[0-9]*))?(?:[;?]\S*)?"
)
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def is_e164(value: str) -> bool:
    """True for canonical E.164 only (no separators)."""
    return _E164.match(value) is not None


def normalize_e164(value: str) -> str | None:
    """The canonical form of a number as a manifest may write it, or None if it is not one.

    >>> normalize_e164("+1 (415) 555-0100")
    '+14155550100'
    >>> normalize_e164("14155550100") is None
    True
    """
    if _E164.match(value):
        return value  # the common case: nothing to strip
    if not _E164_INPUT.match(value):
        return None
    return _SEPARATORS.sub("", value)


def e164_problem(value: str) -> str | None:
    """Why `value` is not a number a manifest may write, or None when it is."""
    if normalize_e164(value) is not None:
        return None
    if not value.startswith("+"):
        return f"{value!r} is not an E.164 number: it needs a leading '+' ({E164_HINT})"
    return f"{value!r} is not an E.164 number ({E164_HINT})"


def websocket_url_problem(url: str) -> str | None:
    """Why `url` cannot be a client_websocket_url, or None: wss://, ws:// only for localhost."""
    return _url_problem(url, secure="wss", plain="ws")


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be an incoming_call_webhook_url, or None: https://, http:// only for localhost."""
    return _url_problem(url, secure="https", plain="http")


def _url_problem(url: str, *, secure: str, plain: str) -> str | None:
    want = f"a {secure}:// URL ({plain}:// only for localhost)"
    if not url:
        return f"the URL is empty; write {want}, or null to require no URL"
    if any(ch.isspace() for ch in url):
        # Redacted here, whole: output redacts URLs in text, but a URL with a space
        # in its query would be cut at the space there and show the rest.
        return f"{redact_url(url)!r} contains whitespace; write {want}"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return f"{url!r} is not a valid URL; write {want}"
    scheme = parts.scheme.lower()
    if scheme not in (secure, plain):
        return f"{url!r} is not {want}"
    if not host:
        return f"{url!r} has no host; write {want}"
    if scheme == plain and host not in LOCAL_HOSTS:
        return f"{url!r} uses plain {plain}://, allowed only for localhost; use {secure}://"
    return None


def sip_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a forwarding_sip_uri, or None: `sip:`/`sips:` on a DNS host.

    The API forwards only to public DNS hosts, so an IP address or a one-label
    name (`sip:pbx`) is refused here rather than by the API halfway through an apply.
    """
    want = 'a sip: or sips: URI with a host, e.g. "sip:reception@pbx.example.com"'
    if any(ch.isspace() for ch in uri):
        return f"{uri!r} contains whitespace; write {want}"
    match = _SIP_URI.fullmatch(uri)
    if match is None:
        return f"{uri!r} is not {want}"
    host, port = match.group("host"), match.group("port")
    if not host:
        return f"{uri!r} has no host; write {want}"
    labels = host.rstrip(".").split(".")
    if (
        len(labels) < 2
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or not labels[-1].isalpha()
    ):
        return f"{uri!r}: the host must be a public DNS name (not an IP address or a local name)"
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return f"{uri!r} has an invalid port; write {want}"
    return None
