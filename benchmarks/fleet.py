"""Fleet benchmark: plan, apply and export of 1,000 numbers x 100 rules against the sandbox.

    python benchmarks/fleet.py [--api-version 2026-10] [--numbers 1000] [--rules 100]
                               [--latency-ms 20] [--concurrency 8] [--rate-limit 300]
                               [--repeat 3] [--json fleet.json] [--no-micro]

The README's Benchmarks section shows one run and how to read it.

What it does (design section 5):
1. Starts `inkbox-sync sandbox serve --api-version V --latency-ms L` in its own
   process, state in memory (no --state: persistence is not part of what is
   measured), so the sandbox's CPU is never counted as the client's. V is
   2026-10 unless `--api-version 2026-06`; the CLI detects it, as against the
   real API, and the live state is seeded in V's own shapes (in 2026-10 every
   number's policy is its agent identity's).
2. Checks that the sandbox is not the bottleneck: trivial clients (httpx, and
   raw asyncio sockets) with `concurrency` requests in flight, in a fresh
   process, must reach about concurrency / latency requests a second (GET one
   number, GET a 200-rule page, POST a rule).
3. Writes the manifests (benchmarks/load_manifest.py's generator: 1,000 numbers
   over 10 files, two shared policies, a third of the mapping rules paused),
   seeds live state to match through PUT /_sandbox/state, then runs each
   command as a subprocess of the real CLI: plan with no change, plan with 10%
   of the rules changed (action flipped), apply of 10% missing rules (10,000
   creations at the defaults), apply with no change, export. Short commands run
   `--repeat` times (the median by wall time is shown); after the apply a
   second plan must be empty; it is printed.
4. Repeats plan and apply against a rate-limited sandbox (`--rate-limit N`
   requests a second), counting the 429s.
5. Runs the pure-planning and manifest-loading micro-benchmarks.

Figures per command: wall seconds of the whole process (start to exit), the
API phase as the command's own `-v` line reports it, requests by method (from
the sandbox's request log), the floor (fewest requests the contract allows x
latency / concurrency) and the ratios to it, CPU seconds (user + system) and
peak RSS of the inkbox-sync process (from os.wait4, in a small launcher process
so the child's max RSS is its own), and the sandbox's CPU seconds over the same
run. It prints a table and the verdict on each target, and writes the figures
as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from inkbox_sync.cli.sandbox_cmd import parse_banner
from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.model import DesiredState

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load_manifest import generate  # noqa: E402  (a sibling script, not a package)

API_KEY = "bench-key"
API_VERSIONS = ("2026-10", "2026-06")
PAGE_LIMIT = 200  # the contract's largest page of rules
_ENTRY = "from inkbox_sync.cli.main import main; main()"
_STATS = re.compile(
    r"(\d+) requests \((.*?)\) in ([\d.]+)s; (\d+) retries, (\d+) answered 429, "
    r"(\d+) answered 5xx, (\d+) transport errors"
)
_NS = uuid.UUID("7b0c4d0e-1f6a-4c55-9a55-f1ee70000000")


def cli_command() -> list[str]:
    """How a user runs inkbox-sync: the console script next to this Python, if any."""
    script = Path(sys.executable).parent / "inkbox-sync"
    if script.exists():
        return [str(script)]
    found = shutil.which("inkbox-sync")
    return [found] if found else [sys.executable, "-c", _ENTRY]


# -- the sandbox process ------------------------------------------------------------


class Sandbox:
    """`inkbox-sync sandbox serve` in a subprocess, state in memory."""

    def __init__(self, latency_ms: float, api_version: str) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [
                *cli_command(),
                "sandbox",
                "serve",
                "--api-version",
                api_version,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--api-key",
                API_KEY,
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        env = parse_banner(line)  # INKBOX_BASE_URL=... INKBOX_API_KEY=...
        if not env:
            self.process.kill()
            self._log.seek(0)
            raise RuntimeError(f"sandbox did not start: {line!r} {self._log.read()!r}")
        self.base_url = env["INKBOX_BASE_URL"]
        self.http = httpx.Client(base_url=self.base_url, timeout=120, trust_env=False)

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(15)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._log.close()

    def cpu_seconds(self) -> float:
        """User + system CPU the sandbox process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def put_state(self, document: dict[str, list[dict[str, Any]]]) -> None:
        self.http.put("/_sandbox/state", json=document).raise_for_status()
        self.clear_log()

    def clear_log(self) -> None:
        self.http.delete("/_sandbox/requests").raise_for_status()

    def log(self) -> list[dict[str, Any]]:
        response = self.http.get("/_sandbox/requests")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    def faults(self, **knobs: object) -> None:
        self.http.patch("/_sandbox/faults", json=knobs).raise_for_status()


# -- the fleet: manifests and matching live state -----------------------------------


def live_document(
    desired: DesiredState, api_version: str, *, flip_every: int = 0, missing: int = 0
) -> dict[str, Any]:
    """A sandbox state of `api_version` in which the manifests' numbers are live as
    declared, except: `flip_every` k > 0 flips the action of every k-th rule of each
    number (a plan updates them), `missing` m leaves out each number's first m
    active rules (a plan creates them: one write each, as they are active).
    In 2026-10 modes and rules are the number's identity's (every number has one)."""
    per_identity = api_version == "2026-10"
    doc: dict[str, Any] = {"identities": [], "numbers": [], "rules": []}
    if per_identity:
        doc["api_version"] = api_version
    for n, (number, want) in enumerate(sorted(desired.numbers.items())):
        number_id = str(uuid.uuid5(_NS, number))
        identity_id = None
        mode = _given(want.filter_mode, "blacklist")
        handle = want.agent if want.agent is not None else (f"bot-{n}" if per_identity else None)
        if handle is not None:
            identity_id = str(uuid.uuid5(_NS, "agent:" + handle))
            identity = {"id": identity_id, "agent_handle": handle}
            if per_identity:
                identity["phone_inbound_filter_mode"] = identity["phone_outbound_filter_mode"] = (
                    mode
                )
            doc["identities"].append(identity)
        live_number = {
            "id": number_id,
            "number": number,
            "incoming_call_action": _given(want.incoming_call_action, "auto_reject"),
            "client_websocket_url": _given(want.client_websocket_url, None),
            "incoming_call_webhook_url": _given(want.incoming_call_webhook_url, None),
            "agent_identity_id": identity_id,
        }
        if not per_identity:
            live_number["filter_mode"] = mode
        doc["numbers"].append(live_number)
        left_out = 0
        for r, rule in enumerate((want.rules or {}).values()):
            if left_out < missing and rule.status == "active":
                left_out += 1
                continue
            action = rule.action
            if flip_every and r % flip_every == 0:
                action = "block" if action == "allow" else "allow"
            owner = (
                {"agent_identity_id": identity_id, "direction": "both"}
                if per_identity
                else {"phone_number_id": number_id}
            )
            doc["rules"].append(
                {
                    "id": f"{n:08x}-0000-4000-8000-{r:012x}",
                    **owner,
                    "action": action,
                    "match_type": "exact_number",
                    "match_target": rule.target,
                    "status": rule.status,
                }
            )
    return doc


def _given(value: object, default: object) -> object:
    from inkbox_sync.model import UNSET

    return default if value is UNSET else value


# -- running the CLI ------------------------------------------------------------------

#: Runs commands for the benchmark and reports each one's rusage. On Linux a
#: child's max RSS starts from its parent's RSS at spawn (the address space it
#: execs from is counted), so the commands must come from a small process, not
#: from this one, which holds the fleet's documents.
_LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(job["command"], stdout=out, stderr=err, env=job["env"])
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps([child.returncode, wall, cpu, usage.ru_maxrss]), flush=True)
"""


@dataclass
class Done:
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    stdout: str
    stderr: str


class Launcher:
    """A small process that runs each command to exit and measures it with os.wait4."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, command: list[str], env: dict[str, str]) -> Done:
        assert self.process.stdin is not None and self.process.stdout is not None
        with tempfile.TemporaryDirectory(prefix="inkbox-fleet-run-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            job = {"command": command, "env": env, "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
            code, wall, cpu, maxrss_kb = json.loads(self.process.stdout.readline())
            return Done(
                exit_code=code,
                wall_s=wall,
                cpu_s=cpu,
                peak_mb=maxrss_kb / 1024,
                stdout=out.read_text(errors="replace"),
                stderr=err.read_text(errors="replace"),
            )

    def stop(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(15)
        self.process.stdout.close()


@dataclass
class Run:
    """One inkbox-sync command, measured."""

    name: str
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    sandbox_cpu_s: float
    requests: dict[str, int]
    rate_limited: int  # 429s in the sandbox's log
    api_s: float | None  # the span the command's -v line reports
    load_before: float | None  # 1-minute load average when it started: is the machine quiet?
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    floor_requests: int = 0
    floor_s: float = 0.0
    api_floor_s: float = 0.0
    all_wall_s: list[float] = field(default_factory=list)  # every repetition, sorted

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def ratio(self) -> float:
        return self.wall_s / self.floor_s if self.floor_s else math.nan

    @property
    def api_ratio(self) -> float:
        if self.api_s is None or not self.api_floor_s:
            return math.nan
        return self.api_s / self.api_floor_s

    def as_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "wall_s": round(self.wall_s, 3),
            "all_wall_s": [round(w, 3) for w in self.all_wall_s],
            "api_s": self.api_s,
            "requests": self.requests,
            "total_requests": self.total_requests,
            "rate_limited_429": self.rate_limited,
            "floor_requests": self.floor_requests,
            "floor_s": round(self.floor_s, 3),
            "ratio_to_floor": round(self.ratio, 3),
            "api_floor_s": round(self.api_floor_s, 3),
            "api_ratio_to_floor": round(self.api_ratio, 3),
            "cpu_s": round(self.cpu_s, 3),
            "peak_rss_mb": round(self.peak_mb, 1),
            "sandbox_cpu_s": round(self.sandbox_cpu_s, 3),
            "loadavg_before": self.load_before,
        }


def run_cli(name: str, box: Sandbox, launcher: Launcher, args: list[str], concurrency: int) -> Run:
    """Run `inkbox-sync -v --concurrency C ARGS` to exit; CPU and max RSS from wait4."""
    env = {
        **os.environ,
        "INKBOX_BASE_URL": box.base_url,
        "INKBOX_API_KEY": API_KEY,
        "NO_COLOR": "1",
    }
    command = [*cli_command(), "-v", "--concurrency", str(concurrency), *args]
    box.clear_log()
    load = _loadavg()
    sandbox_cpu = box.cpu_seconds()
    done = launcher.run(command, env)
    sandbox_cpu = box.cpu_seconds() - sandbox_cpu
    log = box.log()
    by_method: dict[str, int] = {}
    for entry in log:
        by_method[entry["method"]] = by_method.get(entry["method"], 0) + 1
    stats = _STATS.search(done.stderr)
    return Run(
        name=name,
        exit_code=done.exit_code,
        wall_s=done.wall_s,
        cpu_s=done.cpu_s,
        peak_mb=done.peak_mb,
        sandbox_cpu_s=sandbox_cpu,
        requests=dict(sorted(by_method.items())),
        rate_limited=sum(1 for entry in log if entry["status"] == 429),
        api_s=float(stats.group(3)) if stats else None,
        load_before=load,
        stdout=done.stdout,
        stderr=done.stderr,
    )


def expect(run: Run, codes: tuple[int, ...]) -> None:
    if run.exit_code not in codes:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit(f"{run.name}: exit {run.exit_code}, expected {codes}")


# -- is the sandbox the bottleneck? ---------------------------------------------------


def probe_sandbox(
    base_url: str, number_id: str, rules: str, concurrency: int, per_kind: int
) -> dict[str, Any]:
    """Requests a second that trivial clients reach with `concurrency` requests in flight:
    httpx (as inkbox-sync uses it), and raw asyncio sockets (no client overhead to
    speak of), so a shortfall can be told apart: the sandbox's, or the client's.
    `rules` is where a rule is created (the number's, or in 2026-10 its identity's)."""
    targets = itertools.count()  # a new target for every POST, across both clients
    create = '{"action": "allow", "match_type": "exact_number", "match_target": "+1999%07d"}'
    kinds: dict[str, tuple[str, Any, Any]] = {
        "GET number": ("GET", lambda i: f"/api/v1/phone/numbers/{number_id}", None),
        "GET 200-rule page": (
            "GET",
            lambda i: f"/api/v1/phone/contact-rules?limit=200&offset={(i * 200) % 90000}",
            None,
        ),
        "POST rule": ("POST", lambda i: rules, lambda i: create % next(targets)),
    }
    out: dict[str, Any] = {}
    for client in ("httpx", "raw"):
        for kind, (method, path, body) in kinds.items():
            drive = _drive_httpx if client == "httpx" else _drive_raw
            rate = asyncio.run(drive(base_url, concurrency, per_kind, method, path, body))
            out.setdefault(client, {})[kind] = rate
    return out


async def _workers(concurrency: int, total: int, one: Any) -> float:
    sent = 0

    async def worker(slot: int) -> None:
        nonlocal sent
        while sent < total:
            i = sent
            sent += 1
            await one(slot, i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return total / (time.perf_counter() - started)


async def _drive_httpx(
    base: str, concurrency: int, total: int, method: str, path: Any, body: Any
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, headers=headers, trust_env=False, timeout=60
    ) as client:
        await asyncio.gather(*(client.get("/") for _ in range(concurrency)))  # connect

        async def one(slot: int, i: int) -> None:
            content = body(i).encode() if body else None
            response = await client.request(method, path(i), content=content)
            response.raise_for_status()

        return await _workers(concurrency, total, one)


async def _drive_raw(
    base: str, concurrency: int, total: int, method: str, path: Any, body: Any
) -> float:
    """HTTP/1.1 keep-alive over asyncio streams, Content-Length framing only."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]

    async def one(slot: int, i: int) -> None:
        reader, writer = conns[slot]
        payload = body(i).encode() if body else b""
        head = (
            f"{method} {path(i)} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        if status >= 400:
            raise RuntimeError(f"probe: {method} answered {status}")

    try:
        return await _workers(concurrency, total, one)
    finally:
        for _, writer in conns:
            writer.close()


# -- micro-benchmarks -------------------------------------------------------------------


def micro(launcher: Launcher, manifests: Path, numbers: int, rules: int) -> dict[str, Any]:
    """benchmarks/plan_pure.py and benchmarks/load_manifest.py, run by the launcher."""
    env = dict(os.environ)
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        done = launcher.run(
            [
                sys.executable,
                str(HERE / "plan_pure.py"),
                "--numbers",
                str(numbers),
                "--rules",
                str(rules),
                "--json",
                tmp.name,
            ],
            env,
        )
        if done.exit_code:
            raise SystemExit(f"plan_pure.py failed: {done.stderr}")
        plan = json.loads(Path(tmp.name).read_text())
    loads = []
    for _ in range(3):
        command = [sys.executable, str(HERE / "load_manifest.py"), "--measure", str(manifests)]
        done = launcher.run(command, env)
        if done.exit_code:
            raise SystemExit(f"load_manifest.py failed: {done.stderr}")
        figures = json.loads(done.stdout)
        figures["process_cpu_s"] = done.cpu_s
        figures["process_wall_s"] = done.wall_s
        loads.append(figures)
    best = min(loads, key=lambda f: f["seconds"])
    return {
        "plan_pure": plan,
        "load_manifest": {
            "seconds": round(best["seconds"], 3),
            "all_seconds": [round(f["seconds"], 3) for f in loads],
            "process_cpu_s": round(best["process_cpu_s"], 3),
            "process_wall_s": round(best["process_wall_s"], 3),
            "peak_rss_mb": round(max(f["peak_mb"] for f in loads), 1),
            "rules": best["rules"],
        },
    }


# -- report ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg_at_start": _loadavg(),
        "platform": platform.platform(),
    }


def table(runs: list[Run]) -> str:
    head = (
        f"{'command':<30} {'requests':>8} {'floor':>6} {'floor s':>8} {'wall s':>7} {'x floor':>7} "
        f"{'api s':>7} {'x floor':>7} {'CPU s':>6} {'peak MB':>7} {'429s':>5} {'sbx CPU':>7} {'exit':>4}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        api = f"{r.api_s:7.2f}" if r.api_s is not None else f"{'-':>7}"
        api_ratio = f"{r.api_ratio:7.2f}" if not math.isnan(r.api_ratio) else f"{'-':>7}"
        lines.append(
            f"{r.name:<30} {r.total_requests:>8} {r.floor_requests:>6} {r.floor_s:>8.2f} "
            f"{r.wall_s:>7.2f} {r.ratio:>7.2f} {api} {api_ratio} {r.cpu_s:>6.2f} "
            f"{r.peak_mb:>7.0f} {r.rate_limited:>5} {r.sandbox_cpu_s:>7.2f} {r.exit_code:>4}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=100, help="rules per number")
    parser.add_argument("--files", type=int, default=10, help="manifest files for the numbers")
    parser.add_argument(
        "--api-version",
        choices=API_VERSIONS,
        default=API_VERSIONS[0],
        help="the API version the sandbox speaks (the CLI detects it)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rate-limit", type=int, default=300, help="requests/s for the rate-limited runs (0: skip)"
    )
    parser.add_argument("--probe-requests", type=int, default=800, help="per kind of probe")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each short command (the median is shown); the creating applies run once",
    )
    parser.add_argument("--json", default="fleet.json", help="where to write the figures")
    parser.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    parser.add_argument("--probe-child", help=argparse.SUPPRESS)  # child mode: the probe
    args = parser.parse_args()
    if args.probe_child:
        base_url, number_id, rules, concurrency, total = json.loads(args.probe_child)
        print(json.dumps(probe_sandbox(base_url, number_id, rules, concurrency, total)))
        return
    launcher = Launcher()  # first, while this process is small
    try:
        results, runs = run_all(args, launcher)
    finally:
        launcher.stop()
    report(results, runs)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {args.json}")


def run_all(args: argparse.Namespace, launcher: Launcher) -> tuple[dict[str, Any], list[Run]]:
    latency = args.latency_ms / 1000
    conc = args.concurrency
    total_rules = args.numbers * args.rules
    missing = args.rules // 10  # 10% of the rules: created by apply
    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; "
        "the sandbox runs in its own process on the same CPUs",
        flush=True,
    )
    print(
        f"fleet: {args.numbers:,} numbers x {args.rules} rules = {total_rules:,} rules; "
        f"API version {args.api_version}; latency {args.latency_ms:g} ms, concurrency {conc}, "
        f"page {PAGE_LIMIT}",
        flush=True,
    )
    results: dict[str, Any] = {
        "machine": info,
        "command": " ".join(["python", "benchmarks/fleet.py", *sys.argv[1:]]),
        "fleet": {"numbers": args.numbers, "rules_per_number": args.rules, "rules": total_rules},
        "api_version": args.api_version,
        "latency_ms": args.latency_ms,
        "concurrency": conc,
        "page_limit": PAGE_LIMIT,
    }
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="inkbox-fleet-") as tmp:
        root = Path(tmp) / "manifests"
        root.mkdir()
        generate(root, args.numbers, args.rules, args.files)
        desired = load_manifest_set([root]).state
        version = args.api_version
        # In 2026-10 policy belongs to identities: their listing is always needed.
        asserts_agent = version == "2026-10" or any(
            n.agent is not None for n in desired.numbers.values()
        )
        same = live_document(desired, version)
        changed = live_document(desired, version, flip_every=10)  # 10% of the rules
        short = live_document(desired, version, missing=missing)
        creations = sum(len(n.rules or {}) for n in desired.numbers.values()) - len(short["rules"])

        def reads(doc: dict[str, Any], identities: bool = asserts_agent) -> int:
            """Fewest reads of `doc` under the contract: the numbers list (not paged),
            the identities when a manifest asserts `agent:` (export names agents
            too), and the org-wide rule listing at its largest page."""
            return 1 + int(identities) + math.ceil(len(doc["rules"]) / PAGE_LIMIT)

        box = Sandbox(args.latency_ms, version)
        try:
            box.put_state(same)
            # In a fresh process: this one's heap (the fleet's documents) would make
            # the probe's own garbage collections part of the figure.
            child = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--probe-child",
                json.dumps(
                    [
                        box.base_url,
                        same["numbers"][0]["id"],
                        rules_path(same),
                        conc,
                        args.probe_requests,
                    ]
                ),
            ]
            done = launcher.run(child, dict(os.environ))
            if done.exit_code:
                raise SystemExit(f"sandbox probe failed: {done.stderr}")
            probe = json.loads(done.stdout)
            ceiling = conc / latency if latency else math.inf
            results["sandbox_probe"] = {
                "requests_per_s": {
                    client: {k: round(v, 1) for k, v in kinds.items()}
                    for client, kinds in probe.items()
                },
                "ceiling_requests_per_s": round(ceiling, 1),
            }
            print(
                f"sandbox probe, {conc} in flight, ceiling {conc} / {args.latency_ms:g} ms = "
                f"{ceiling:.0f} req/s:",
                flush=True,
            )
            for client, kinds in probe.items():
                what = "httpx client" if client == "httpx" else "raw asyncio sockets"
                print(
                    f"  {what:<20} "
                    + ", ".join(f"{k} {v:.0f} req/s ({v / ceiling:.0%})" for k, v in kinds.items()),
                    flush=True,
                )

            def measured(
                name: str,
                state: dict[str, Any],
                cli: list[str],
                codes: tuple[int, ...],
                floor_requests: int,
                api_floor_requests: int,
                repeat: int = args.repeat,
            ) -> Run:
                """The median of `repeat` runs by wall time, each from `state`."""
                tries = []
                for _ in range(repeat):
                    box.put_state(state)
                    tries.append(run_cli(name, box, launcher, cli, conc))
                    expect(tries[-1], codes)
                tries.sort(key=lambda r: r.wall_s)
                run = tries[len(tries) // 2]
                run.all_wall_s = [t.wall_s for t in tries]
                run.floor_requests = floor_requests
                run.floor_s = floor_requests * latency / conc
                run.api_floor_s = api_floor_requests * latency / conc
                runs.append(run)
                print(
                    f"  {name}: {run.wall_s:.2f} s"
                    + (
                        f" (median of {', '.join(f'{w:.2f}' for w in run.all_wall_s)})"
                        if repeat > 1
                        else ""
                    ),
                    flush=True,
                )
                return run

            plan_args = ["plan", str(root), "--detailed-exitcode"]
            apply_args = ["apply", str(root), "--auto-approve"]
            measured("plan (no change)", same, plan_args, (0,), reads(same), reads(same))
            run = measured("plan (10% changed)", changed, plan_args, (2,), reads(same), reads(same))
            results["plan_changed_summary"] = _summary(run.stdout)
            run = measured(
                f"apply ({creations:,} creations)",
                short,
                apply_args,
                (0,),
                reads(short) + creations,
                creations,  # -v times apply's write phase
                repeat=1,
            )
            writes = run.total_requests - run.requests.get("GET", 0)
            if writes != creations:
                raise SystemExit(f"apply made {writes} writes; its plan listed {creations}")
            results["apply_output_lines"] = run.stdout.count("\n")
            again = run_cli("plan after apply", box, launcher, plan_args, conc)
            expect(again, (0,))
            results["plan_after_apply"] = again.stdout.strip()
            run = measured("apply (no change)", same, apply_args, (0,), reads(same), 0)
            if run.total_requests != run.requests.get("GET", 0):
                raise SystemExit("a no-change apply wrote")
            out = Path(tmp) / "export.yaml"
            export_floor = reads(same, identities=True)
            cli = ["export", "--output", str(out), "--force"]  # repeated runs, one file
            measured("export", same, cli, (0,), export_floor, export_floor)
            if args.rate_limit:
                box.faults(rate_limit=args.rate_limit)
                limited = f"@{args.rate_limit} req/s"
                measured(
                    f"plan (no change) {limited}", same, plan_args, (0,), reads(same), reads(same)
                )
                measured(
                    f"apply ({creations:,}) {limited}",
                    short,
                    apply_args,
                    (0,),
                    reads(short) + creations,
                    creations,
                    repeat=1,
                )
        finally:
            box.stop()
        results["commands"] = {r.name: r.as_json() for r in runs}
        if not args.no_micro:
            results["micro"] = micro(launcher, root, args.numbers, args.rules)
    return results, runs


def report(results: dict[str, Any], runs: list[Run]) -> None:
    info = results["machine"]
    print()
    print(
        f"{results['command']}\n"
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"load average at start {info['loadavg_at_start']}\n"
        f"fleet: {results['fleet']['numbers']:,} numbers x {results['fleet']['rules_per_number']} "
        f"rules; API version {results['api_version']}; latency {results['latency_ms']:g} ms; concurrency {results['concurrency']}; "
        f"page {results['page_limit']}"
    )
    probe = results["sandbox_probe"]
    ceiling = probe["ceiling_requests_per_s"]
    print(f"sandbox probe (trivial clients, ceiling concurrency / latency = {ceiling:.0f} req/s):")
    for client, kinds in probe["requests_per_s"].items():
        what = "httpx client" if client == "httpx" else "raw asyncio sockets"
        print(
            f"  {what:<20} "
            + ", ".join(f"{k} {v:.0f} req/s ({v / ceiling:.0%})" for k, v in kinds.items())
        )
    print()
    print(table(runs))
    print()
    print(
        "floor: the fewest requests the contract allows x latency / concurrency. wall: the whole\n"
        "inkbox-sync process, start to exit. api: the span its -v line reports (plan: reads and\n"
        "planning; apply: the writes, against a floor of the writes alone; export: the reads).\n"
        "CPU, peak MB: the inkbox-sync process (os.wait4). sbx CPU: the sandbox over the same run."
    )
    print(f"plan (10% changed): {results.get('plan_changed_summary')}")
    print(f"apply (creations) printed {results.get('apply_output_lines')} lines")
    print(f"plan after apply: {results['plan_after_apply']}")
    if "micro" in results:
        m = results["micro"]
        p, load = m["plan_pure"], m["load_manifest"]
        print(
            f"pure planning of {p['rules']:,} rules (no I/O): no change {p['no_change']['cpu_s']:.3f} s "
            f"CPU, all changed {p['all_changed']['cpu_s']:.3f} s CPU "
            f"({p['all_changed']['steps']:,} steps); peak {p['peak_rss_mb']:.0f} MB"
        )
        print(
            f"loading and validating {load['rules']:,} rules: {load['seconds']:.2f} s "
            f"(best of 3), peak {load['peak_rss_mb']:.0f} MB"
        )
    print()
    print("targets (design section 5):")
    for target, figure, met in verdicts(results):
        print(f"  {'met   ' if met else 'MISSED'}  {target}: {figure}")


def rules_path(doc: dict[str, Any]) -> str:
    """Where a rule of the fleet's first number is created, in `doc`'s API version."""
    number = doc["numbers"][0]
    if doc.get("api_version") == "2026-10":
        handle = next(
            i["agent_handle"] for i in doc["identities"] if i["id"] == number["agent_identity_id"]
        )
        return f"/api/v1/identities/{handle}/phone-contact-rules"
    return f"/api/v1/phone/numbers/{number['id']}/contact-rules"


def _summary(plan_text: str) -> str:
    """The plan's summary line ("Plan: ... API writes.")."""
    lines = [line for line in plan_text.splitlines() if line.startswith("Plan:")]
    return lines[-1] if lines else ""


def _loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, the figure, met?) for design section 5's targets."""
    cmds = results["commands"]
    out: list[tuple[str, str, bool | None]] = []
    plan = cmds.get("plan (no change)")
    if plan:
        out.append(
            (
                "no-change plan's API phase within 1.3x of its floor",
                f"{plan['api_ratio_to_floor']:.2f}x",
                plan["api_ratio_to_floor"] <= 1.3,
            )
        )
        out.append(
            (
                "no-change plan's whole process within 1.5x of its floor",
                f"{plan['ratio_to_floor']:.2f}x",
                plan["ratio_to_floor"] <= 1.5,
            )
        )
    apply = next((v for k, v in cmds.items() if k.endswith("creations)")), None)
    if apply:
        out.append(
            (
                "creating apply within 1.3x of writes x latency / concurrency",
                f"{apply['api_ratio_to_floor']:.2f}x (whole process, reads + writes: "
                f"{apply['ratio_to_floor']:.2f}x)",
                apply["api_ratio_to_floor"] <= 1.3,
            )
        )
    same = cmds.get("apply (no change)")
    if same:
        writes = same["total_requests"] - same["requests"].get("GET", 0)
        out.append(("no-change apply makes zero writes", f"{writes} writes", writes == 0))
    micro = results.get("micro")
    if micro:
        cpu = micro["plan_pure"]["all_changed"]["cpu_s"]
        rules = f"{micro['plan_pure']['rules']:,}"
        out.append((f"planning {rules} rules under 1 s of CPU", f"{cpu:.2f} s", cpu < 1))
        load = micro["load_manifest"]["seconds"]
        rules = f"{micro['load_manifest']['rules']:,}"
        out.append((f"loading {rules} rules under 3 s", f"{load:.2f} s", load < 3))
    peaks = [c["peak_rss_mb"] for c in cmds.values()]
    if micro:
        peaks += [micro["plan_pure"]["peak_rss_mb"], micro["load_manifest"]["peak_rss_mb"]]
    out.append(("peak memory under 500 MB", f"{max(peaks):.0f} MB", max(peaks) < 500))
    limited = {k: v for k, v in cmds.items() if "req/s" in k}
    if limited:
        shown = ", ".join(
            f"{k}: {v['rate_limited_429']} 429s, exit {v['exit_code']}" for k, v in limited.items()
        )
        ok = all(v["exit_code"] == 0 for v in limited.values())
        out.append(("rate-limited plan and apply finish, few 429s", shown, ok))
    return out


if __name__ == "__main__":
    main()
