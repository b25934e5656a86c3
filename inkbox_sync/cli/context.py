"""Global options shared by every command, resolved once per invocation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from inkbox_sync.cli.output import protect
from inkbox_sync.errors import ConfigError
from inkbox_sync.redact import redact_url

DEFAULT_BASE_URL = "https://inkbox.ai"
DEFAULT_CONCURRENCY = 8
CONFIG_PATH = Path.home() / ".inkbox" / "config"


@dataclass(frozen=True)
class Endpoint:
    """Where the API is and the key to speak to it with. Never print `api_key`."""

    base_url: str
    api_key: str
    #: How outputs name where live state came from; never holds a secret.
    label: str = ""

    def __repr__(self) -> str:  # the key must never reach a log line or traceback
        return f"Endpoint(base_url={redact_url(self.base_url)!r}, api_key='***')"

    @property
    def source(self) -> str:
        return self.label or redact_url(self.base_url)


@dataclass(frozen=True)
class GlobalOptions:
    api_key: str | None
    base_url: str | None
    sandbox: Path | None
    concurrency: int
    color: bool
    verbose: int
    api_version: str = "auto"  # 2026-10 | 2026-06 | auto

    def __repr__(self) -> str:  # the key never reaches a repr, traceback or log line
        return (
            f"GlobalOptions(api_key={'***' if self.api_key else None}, "
            f"base_url={redact_url(self.base_url) if self.base_url else None!r}, "
            f"sandbox={self.sandbox!r}, concurrency={self.concurrency}, "
            f"color={self.color}, verbose={self.verbose}, api_version={self.api_version!r})"
        )

    @contextmanager
    def endpoint(self) -> Iterator[Endpoint]:
        """The API to talk to: an embedded sandbox for `--sandbox FILE`, else the real one.

        Resolution order, as the official SDK: option, environment
        (INKBOX_API_KEY / INKBOX_BASE_URL, already folded into the options by
        click), then ~/.inkbox/config.
        """
        if self.sandbox is not None:
            from inkbox_sync.sandbox.embedded import EmbeddedSandbox

            # design section 2: the embedded sandbox speaks 2026-10 unless told 2026-06.
            version = "2026-06" if self.api_version == "2026-06" else "2026-10"
            with EmbeddedSandbox(self.sandbox, api_version=version) as box:
                protect(box.api_key)
                label = f"the embedded sandbox ({self.sandbox})"
                yield Endpoint(base_url=box.base_url, api_key=box.api_key, label=label)
            return
        file_cfg = read_config_file(CONFIG_PATH)
        api_key = self.api_key or file_cfg.get("api_key")
        base_url = self.base_url or file_cfg.get("base_url") or DEFAULT_BASE_URL
        if not api_key:
            raise ConfigError(
                "no API key: pass --api-key, set INKBOX_API_KEY, or add 'api_key = ...' "
                f"to {CONFIG_PATH} (or use --sandbox FILE to try inkbox-sync locally)"
            )
        protect(api_key)
        yield Endpoint(base_url=base_url, api_key=api_key)


def read_config_file(path: Path) -> dict[str, str]:
    """`key = value` lines, '#' comments, quotes stripped: the SDK's format."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip("\"'")
    return out


def get_options(ctx: click.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    assert isinstance(obj, GlobalOptions)
    return obj
