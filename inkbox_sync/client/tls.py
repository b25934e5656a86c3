"""The TLS context every https connection uses: which certificates are trusted.

In order, the first that applies:

1. `SSL_CERT_FILE` and/or `SSL_CERT_DIR` (OpenSSL's own variables): exactly
   those, and nothing else;
2. `REQUESTS_CA_BUNDLE` (the variable of `requests` and pip, often set for a
   company's TLS-inspecting proxy): exactly that bundle;
3. the system's trust store (OpenSSL's default paths on Linux and macOS, the
   certificate store on Windows), or certifi's Mozilla bundle when the system
   store has no certificate at all (minimal containers, python.org builds on
   macOS).

Verification is always on (hostname and chain); a path that is named but
missing or unreadable is a ConfigError, never a silent fallback.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

import certifi

from inkbox_sync.errors import ConfigError


def ssl_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying client context for the trust store the environment chooses."""
    env = os.environ if environ is None else environ
    cafile = env.get("SSL_CERT_FILE") or None
    capath = env.get("SSL_CERT_DIR") or None
    source = "SSL_CERT_FILE/SSL_CERT_DIR"
    if cafile is None and capath is None and env.get("REQUESTS_CA_BUNDLE"):
        cafile, source = env["REQUESTS_CA_BUNDLE"], "REQUESTS_CA_BUNDLE"
    if cafile is None and capath is None:
        context = ssl.create_default_context()
        if not context.cert_store_stats()["x509_ca"] and not _has_files(
            ssl.get_default_verify_paths().capath
        ):
            context.load_verify_locations(certifi.where())
    else:
        for path, is_dir in ((cafile, False), (capath, True)):
            if path is not None and not (os.path.isdir(path) if is_dir else os.path.isfile(path)):
                kind = "directory" if is_dir else "file"
                raise ConfigError(f"{source} names {path!r}, which is not a readable {kind}")
        try:
            context = ssl.create_default_context(cafile=cafile, capath=capath)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{source}: cannot load certificates from {cafile or capath!r}: {exc}"
            ) from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def _has_files(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path) and any(os.scandir(path))  # type: ignore[arg-type]
