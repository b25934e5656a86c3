"""Read-phase CPU: reading a 1,000-number x 100-rule fleet's live state, network replayed.

    python benchmarks/read_cpu.py [--api-version 2026-10,2026-06] [--numbers 1000]
                                  [--rules 100] [--repeat 7]

For each API version it seeds an embedded sandbox with the fleet of
`benchmarks/fleet.py` (the same manifests and matching live state), records
every answer of one read of it (whoami-free: the listings and the org-wide rule
pages, as a plan reads them), stops the sandbox, then replays those answers from
memory (httpx.MockTransport) to fresh clients `--repeat` times and reports the
CPU of each read: `read_live_state` from the first request to the LiveState,
through the real client (retry loop, pacing, paging, decoding, the model's
types), minus sockets, the connection pool and the server. That is the part of
a plan's CPU the decoding work owns, without the noise of a server sharing the
CPUs. Figures: best and median of the repeats, and per rule page.

Runs against whichever inkbox_sync is first on the path (PYTHONPATH=other/checkout
compares another one the same way).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from inkbox_sync.client import VersionChoice, connect
from inkbox_sync.live import read_live_state, run_sync
from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.planner import rules_wanted
from inkbox_sync.sandbox.server import SandboxOptions, SandboxServer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fleet import live_document  # noqa: E402  (sibling scripts, not a package)
from load_manifest import generate  # noqa: E402

KEY = "bench-key"
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on to `inner` and keeps every answer by its URL."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.answers: dict[str, Answer] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.answers[str(request.url)] = (response.status_code, response.headers.raw, body)
        return httpx.Response(response.status_code, headers=response.headers.raw, content=body)


def replay(answers: dict[str, Answer]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        found = answers.get(str(request.url))
        if found is None:  # a page past the end the recording did not ask for
            limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
            return httpx.Response(
                200, json={"items": [], "limit": limit, "offset": offset, "has_more": False}
            )
        status, headers, body = found
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(answer)


def read_once(
    base_url: str, version: str, wanted: dict[str, bool], transport: httpx.AsyncBaseTransport
) -> tuple[float, int]:
    """(CPU seconds of one read, rules read)."""

    async def go() -> int:
        async with connect(
            base_url, KEY, version=VersionChoice(version), transport=transport
        ) as client:
            live = await read_live_state(client, wanted)
        return sum(len(n.rules or {}) for n in live.numbers.values())

    started = time.process_time()
    rules = run_sync(go())
    return time.process_time() - started, rules


def measure(version: str, numbers: int, rules: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, numbers, rules, 10)
        desired = load_manifest_set([root]).state
    wanted = {n: rules_wanted(w) for n, w in desired.numbers.items()}
    with SandboxServer(SandboxOptions(api_version=version, api_key=KEY)) as box:
        with httpx.Client(base_url=box.base_url, headers={"X-API-Key": KEY}) as http:
            http.put("/_sandbox/state", json=live_document(desired, version)).raise_for_status()
        recorder = Recorder(httpx.AsyncHTTPTransport())
        _, count = read_once(box.base_url, version, wanted, recorder)
        base_url = box.base_url
    pages = sum("contact-rules" in url for url in recorder.answers)
    size = sum(len(body) for _, _, body in recorder.answers.values())
    cpu = [read_once(base_url, version, wanted, replay(recorder.answers))[0] for _ in range(repeat)]
    best, median = min(cpu), statistics.median(cpu)
    print(
        f"{version}: {count:,} rules, {len(recorder.answers)} answers ({pages} rule pages, "
        f"{size / 1e6:.1f} MB); read CPU best {best:.3f} s, median {median:.3f} s "
        f"({best / max(pages, 1) * 1000:.3f} ms per rule page at best); all: "
        + " ".join(f"{c:.3f}" for c in cpu)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-version", default="2026-10,2026-06")
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import inkbox_sync

    print(f"inkbox_sync from {Path(inkbox_sync.__file__).parent.parent}")
    for version in args.api_version.split(","):
        measure(version, args.numbers, args.rules, args.repeat)


if __name__ == "__main__":
    main()
