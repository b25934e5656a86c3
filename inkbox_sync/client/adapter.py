"""One adapter per API version behind one interface, and which one a run speaks.

`ApiAdapter` is everything the core and the CLI ask of the API: read live
state for what the manifests manage, the writes of `executor.WriteClient`,
the key's scope, and the version's name and capabilities. They never ask
which adapter they have. A new version is one more module beside
`v2026_06` and `v2026_10`, one entry in `ADAPTERS` and its name in
`versions.API_VERSIONS`.

`--api-version auto` (the default) detects the version from what the API
answers, at no cost: every read starts with the identities and numbers
listings, whose fields tell 2026-10 (per-direction mode mirrors, forwarding,
identity phone modes) from 2026-06, and the adapter's first read reuses
them. Only an organisation with no number and no identity phone mode asks one
more read (an identity's rule listing, which only 2026-10 has). Nothing is
ever written to find out. `VersionChoice` remembers the answer for the rest
of the run, so apply's later connections do not ask again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from inkbox_sync.client.api import InkboxClient, KeyScope, Listings, OnProgress
from inkbox_sync.client.demand import Demand
from inkbox_sync.client.transport import ClientStats
from inkbox_sync.client.v2026_06 import Adapter2026_06
from inkbox_sync.client.v2026_10 import Adapter2026_10
from inkbox_sync.client.versions import API_VERSIONS, AUTO
from inkbox_sync.errors import ConfigError
from inkbox_sync.executor import WriteClient
from inkbox_sync.model import Capabilities, LiveState
from inkbox_sync.plan import Step

#: Every version this client speaks, newest first (the order detection asks in), as
#: `versions.API_VERSIONS` names them.
ADAPTERS: Final[Mapping[str, type[Adapter2026_10] | type[Adapter2026_06]]] = {
    "2026-10": Adapter2026_10,
    "2026-06": Adapter2026_06,
}


def capabilities_of(version: str) -> Capabilities:
    """What API version `version` can express, known before any API answers (validate)."""
    return ADAPTERS[version].CAPABILITIES


class ApiAdapter(WriteClient, Protocol):
    """What a version adapter offers (`InkboxClient` subclasses satisfy it)."""

    @property
    def api_version(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def stats(self) -> ClientStats: ...

    async def read_live(self, demand: Demand, *, progress: OnProgress | None = None) -> LiveState:
        """The holders `demand` names, with their rules where its maps say True
        (numbers None: the whole organisation, for export). The read may start
        before the demand is settled (see `inkbox_sync.client.demand`)."""
        ...

    async def whoami(self) -> KeyScope | None: ...

    def needs_admin(self, step: Step) -> bool:
        """Whether only an admin-scoped key may make this write in this version."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class VersionChoice:
    """What `--api-version` asked for and, once known, what the API speaks and how
    that was found (for `-v`). One per run, shared by its connections."""

    requested: str = AUTO
    found: str | None = None
    how: str = ""

    def __post_init__(self) -> None:
        if self.requested != AUTO and self.requested not in ADAPTERS:
            raise ConfigError(
                f"API version {self.requested!r} is not one inkbox-sync speaks "
                f"({', '.join(API_VERSIONS)} or {AUTO})"
            )

    def describe(self) -> str:
        if self.found is None:
            return f"API version not known yet ({self.requested})"
        return f"API version {self.found} ({self.how})"


@contextlib.asynccontextmanager
async def connect(
    base_url: str, api_key: str, *, version: VersionChoice, **options: Any
) -> AsyncIterator[ApiAdapter]:
    """The adapter for the API at `base_url`, closed on exit. `options` are
    `InkboxClient`'s (concurrency, stats, transport, notices, ...)."""
    chosen = version.found or (version.requested if version.requested != AUTO else None)
    if chosen is not None:
        adapter: ApiAdapter = ADAPTERS[chosen](base_url, api_key, **options)
        if version.found is None:
            version.found, version.how = chosen, "as --api-version says"
    else:
        probe = InkboxClient(base_url, api_key, **options)
        try:
            found, how, listings = await detect(probe)
        except BaseException:
            await probe.aclose()
            raise
        version.found, version.how = found, how
        adapter = ADAPTERS[found].sharing(probe, listings)
    try:
        yield adapter
    finally:
        await adapter.aclose()


async def detect(client: InkboxClient) -> tuple[str, str, Listings]:
    """(version, how it was found, the listings read to find it), from reads only."""
    listings = await client.listings()
    for name, cls in ADAPTERS.items():
        why = cls.recognise(listings)
        if why is not None:
            return name, f"detected: {why}", listings
    for name, cls in ADAPTERS.items():
        why = await cls.probe(client, listings)
        if why is not None:
            return name, f"detected: {why}", listings
    if listings.identities:
        oldest = API_VERSIONS[-1]
        return oldest, "detected: no newer version's routes answer", listings
    newest = API_VERSIONS[0]
    return newest, "assumed: the organisation has no number or identity to tell by", listings
