"""The one redaction layer: what people read never shows the API key or a URL's secrets.

Two operations, used by everything that prints (the CLI's output functions, the
client's error messages):

- `Redactor.scrub(text)`: every registered secret (the API key) replaced by
  `***`. Applied to *everything*, data included: the key never reaches any
  output, file, log line or traceback.
- `Redactor.text(text)`: `scrub`, then every URL shown without its userinfo,
  and with the values of its query and its fragment masked:
  `https://u:p@hooks.example.com/inkbox?token=abc` reads
  `https://***@hooks.example.com/inkbox?token=***`. Applied to text people
  read (plans, `-v` lines, apply output, errors, annotations).

Only data that must round-trip (the JSON plan and saved plan, exported
manifests) is scrubbed without `text`: apply needs the real URL values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit, urlunsplit

MASK: Final = "***"

#: A URL in running text: a scheme, `://`, then anything up to whitespace, a quote,
#: an angle bracket, a backtick or an escape character (so the ANSI colour codes
#: around a URL in a coloured plan are not taken as part of it). SIP URIs
#: (`sip:`/`sips:`, the forwarding targets) have no `//` but carry userinfo
#: (`sip:user:password@host`) and headers (`?X-Token=...`) all the same.
_URL_RE: Final = re.compile(
    r"(?:\b[a-zA-Z][a-zA-Z0-9+.-]*://|\bsips?:(?=[^\s'\"<>`\x1b]*[@?]))[^\s'\"<>`\x1b]+",
    re.IGNORECASE,
)
#: Punctuation that ends a sentence rather than the URL: kept outside it.
_TRAILING: Final = ".,;:!?)]}"


def redact_url(url: str) -> str:
    """A URL fit for output: userinfo replaced by `***`, query and fragment values masked."""
    if url[:4].lower() == "sip:" or url[:5].lower() == "sips:":
        return _redact_sip(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    return urlunsplit(
        (parts.scheme, netloc, parts.path, _mask_pairs(parts.query), _mask_pairs(parts.fragment))
    )


def _redact_sip(uri: str) -> str:
    """`sip:bob:pw@host;transport=tls?X-Token=abc` -> `sip:bob:***@host;transport=tls?X-Token=***`.

    RFC 3261: userinfo before `@`, headers after `?`. Unlike an https URL's, a SIP
    URI's user part is the address being called (an extension, a trunk user), which
    a reviewer must see to judge a forwarding change; only its password is secret.
    The parameters (`;transport=tls`) are not secret either."""
    scheme, _, rest = uri.partition(":")
    rest, q, headers = rest.partition("?")
    if "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        rest = f"{user}:{MASK}@{host}" if colon else f"{user}@{host}"
    return f"{scheme}:{rest}" + (f"?{_mask_pairs(headers)}" if q else "")


def _mask_pairs(text: str) -> str:
    """`a=1&b` -> `a=***&***`: names stay (they say what is hidden), values never do."""
    if not text:
        return ""
    masked = []
    for pair in text.split("&"):
        name, eq, _ = pair.partition("=")
        masked.append(f"{name}={MASK}" if eq else MASK)
    return "&".join(masked)


def redact_urls(text: str) -> str:
    """`text` with every URL in it passed through `redact_url`."""
    if "://" not in text and "sip" not in text.lower():
        return text  # the fast path: almost every line
    return _URL_RE.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_TRAILING)
    return redact_url(stripped) + url[len(stripped) :]


class Redactor:
    """Knows the secrets of this run (the API key); scrubs them and URLs from text.

    Its repr names how many secrets it holds, never one of them.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"

    def add(self, secret: str | None) -> None:
        """Scrub `secret` from now on (empty and None are ignored)."""
        if not secret or secret in self._secrets:
            return
        # Longest first: a secret that contains another is replaced whole.
        self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by `***`; URLs untouched (for data)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def text(self, text: str) -> str:
        """`text` fit for a person: secrets scrubbed and every URL redacted."""
        return redact_urls(self.scrub(text))

    def detail(self, value: object) -> object:
        """`text` applied to every string of a decoded JSON value."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.detail(v) for v in value]
        if isinstance(value, dict):
            return {k: self.detail(v) for k, v in value.items()}
        return value
