"""Which proxy a request goes through, from the environment as curl and pip read it.

`HTTPS_PROXY` for https URLs and `HTTP_PROXY` for http ones, else `ALL_PROXY`
(lower-case names first, as urllib does); `NO_PROXY` lists hosts, domain
suffixes (`.example.com` or `example.com`), `host:port`, or `*`. Loopback
hosts (`localhost`, `127.0.0.0/8`, `::1`) never go through a proxy, as in Go's
net/http: the embedded sandbox must work behind a company proxy.

Only `http://` proxies are spoken (https URLs tunnel through them with
CONNECT; TLS runs end to end inside the tunnel). Any other scheme, such as
`socks5://` or `https://`, is a ConfigError naming the variable.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from inkbox_sync.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http:// proxy: where it is, and the Proxy-Authorization its userinfo makes."""

    host: str
    port: int
    authorization: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Proxy({self.host}:{self.port})"


def proxy_from_environment(
    scheme: str, host: str, port: int, environ: Mapping[str, str] | None = None
) -> Proxy | None:
    """The proxy for scheme://host:port, or None to connect directly."""
    env = os.environ if environ is None else environ
    if _is_loopback(host):
        return None
    proxies = _proxies(env)
    value = proxies.get(scheme) or proxies.get("all")
    if not value:
        return None
    no_proxy = proxies.get("no", "")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
    if no_proxy and bypass(f"{host}:{port}", {"no": no_proxy}):
        return None
    return _parse(value, _variable(env, scheme if proxies.get(scheme) else "all"))


def _proxies(env: Mapping[str, str]) -> dict[str, str]:
    """{'http': ..., 'https': ..., 'all': ..., 'no': ...}; lower-case names win."""
    out: dict[str, str] = {}
    for name, value in env.items():
        if value and name.lower().endswith("_proxy"):
            key = name[:-6].lower()
            if key not in out or name.islower():
                out[key] = value
    return out


def _variable(env: Mapping[str, str], key: str) -> str:
    lower = f"{key}_proxy"
    return lower if env.get(lower) else lower.upper()


def _parse(value: str, variable: str) -> Proxy:
    text = value if "://" in value else f"http://{value}"  # curl's reading of a bare host:port
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError(
            f"{variable} is not a proxy URL like http://proxy.example.com:3128"
        ) from None
    scheme = parts.scheme.lower()
    if scheme != "http":
        raise ConfigError(
            f"{variable} names a {scheme}:// proxy; inkbox-sync speaks only to http:// proxies "
            "(https URLs tunnel through them). Unset it or point it at an http:// proxy."
        )
    if not host:
        raise ConfigError(f"{variable} is not a proxy URL like http://proxy.example.com:3128")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = b"Basic " + base64.b64encode(credentials.encode("utf-8"))
    return Proxy(host, port or 80, authorization)


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
