"""The API versions this client speaks, by name: what `--api-version` offers.

Apart from the adapters (`adapter.ADAPTERS` maps each name to its adapter,
and a test holds the two to the same names in the same order) so that the
CLI can declare its options without importing httpx and asyncio.
"""

from __future__ import annotations

from typing import Final

AUTO: Final = "auto"
#: Every version this client speaks, newest first (the order detection asks in).
API_VERSIONS: Final = ("2026-10", "2026-06")
