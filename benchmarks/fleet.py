"""Fleet benchmark: plan, apply and export of 1,000 numbers x 100 rules against the sandbox.

    python benchmarks/fleet.py [--api-version both|2026-10|2026-06] [--runs 1]
                               [--numbers 1000] [--rules 100] [--latency-ms 20]
                               [--concurrency 8] [--rate-limit 300] [--repeat 3]
                               [--json fleet.json] [--no-micro]

The README's Benchmarks section shows one run and how to read it. The report
(tables, breakdown, verdicts) is benchmarks/fleet_report.py's, computed from the
JSON figures alone: `python benchmarks/fleet_report.py fleet.json` prints it again.

It first byte-compiles inkbox_sync (`byte_compile`), as pip does for an installed
package. One run (repeated `--runs` times, one after the other) does, for each API version
in turn (both by default, 2026-10 first; `--api-version V` for one):
1. Starts `inkbox-sync sandbox serve --api-version V --latency-ms L` in its own
   process, state in memory (no --state: persistence is not part of what is
   measured), so the sandbox's CPU is never counted as the client's; each
   version has a sandbox process of its own, stopped before the next starts.
   The CLI detects V, as against the real API, and the live state is seeded in
   V's own shapes (in 2026-10 every number's policy is its agent identity's).
2. Checks that the sandbox is not the bottleneck: trivial clients (httpx, and
   raw asyncio sockets) with `concurrency` requests in flight, in a fresh
   process, must reach about concurrency / latency requests a second (GET one
   number, GET a 200-rule page, POST a rule: benchmarks/fleet_probe.py).
3. With the manifests (benchmarks/load_manifest.py's generator: 1,000 numbers
   over 10 files, two shared policies, a third of the mapping rules paused;
   written once per invocation), seeds live state to match through
   PUT /_sandbox/state, then runs each command as a subprocess of the real CLI:
   plan with no change, plan with 10% of the rules changed (action flipped),
   apply of 10% missing rules (10,000 creations at the defaults), apply with no
   change, export. Short commands run `--repeat` times (the median by wall time
   is shown); after the apply a second plan must be empty; it is printed.
4. Repeats plan and apply against a rate-limited sandbox (`--rate-limit N`
   requests a second), counting the 429s.
Then it runs the pure-planning and manifest-loading micro-benchmarks (no I/O, so
once per run, not per version), prints the run's report and writes the JSON.

Figures per command: wall seconds of the whole process (start to exit), the
API phase as the command's own `-v` line reports it, requests by method (from
the sandbox's request log), the floor (fewest requests the contract allows x
latency / concurrency) and the ratios to it, CPU seconds (user + system) and
peak RSS of the inkbox-sync process (from os.wait4, in a small launcher process
so the child's max RSS is its own), the sandbox's CPU seconds over the same
run, the 1-minute load average before each repetition, the CPUs other processes
used meanwhile (/proc/stat), and the phases of the CLI's `-v` `phases:` line,
from which the no-change plan's and the creating apply's whole-process time is
broken down (start-up + exit, each phase, reads overlapping manifests).

Each run's report: a side-by-side table of both versions' wall and API-phase
ratios, each version's detailed table, the breakdown, and design section 5's
verdicts per version, with a warning when the machine was not idle: the load
average above 0.5 when the benchmark started, or other processes using more
than 0.25 CPUs during a plan run. The last line says whether every target was
met, for every version, in all the runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
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
import fleet_report  # noqa: E402  (sibling scripts, not a package)
from load_manifest import generate  # noqa: E402

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

    kind: str  # fleet_report's key for what the command is (fleet_report.PLAN, ...)
    name: str
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    sandbox_cpu_s: float
    others_cpu: float | None  # CPUs other processes used meanwhile, on average
    requests: dict[str, int]
    rate_limited: int  # 429s in the sandbox's log
    api_s: float | None  # the span the command's -v line reports
    phases: list[dict[str, Any]] | None  # the -v `phases:` line, if it printed one
    load_before: float | None  # 1-minute load average when it started: is the machine quiet?
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    floor_requests: int = 0
    floor_s: float = 0.0
    api_floor_s: float = 0.0
    all_wall_s: list[float] = field(default_factory=list)  # every repetition, sorted
    # every repetition's load average before it and others' CPUs, in the order run
    all_load_before: list[float | None] = field(default_factory=list)
    all_others_cpu: list[float | None] = field(default_factory=list)

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
            "name": self.name,
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
            "others_cpu": None if self.others_cpu is None else round(self.others_cpu, 2),
            "loadavg_before": self.load_before,
            "all_loadavg_before": self.all_load_before,
            "all_others_cpu": [None if x is None else round(x, 2) for x in self.all_others_cpu],
            "phases": self.phases,
            "breakdown": fleet_report.breakdown(self.wall_s, self.cpu_s, self.phases),
        }


def run_cli(
    kind: str, name: str, box: Sandbox, launcher: Launcher, args: list[str], concurrency: int
) -> Run:
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
    busy_before = _busy_cpu_s()
    done = launcher.run(command, env)
    busy_after = _busy_cpu_s()
    sandbox_cpu = box.cpu_seconds() - sandbox_cpu
    log = box.log()
    by_method: dict[str, int] = {}
    for entry in log:
        by_method[entry["method"]] = by_method.get(entry["method"], 0) + 1
    stats = _STATS.search(done.stderr)
    others = None
    if busy_before is not None and busy_after is not None and done.wall_s > 0:
        busy = busy_after - busy_before - done.cpu_s - sandbox_cpu
        others = max(0.0, busy) / done.wall_s
    return Run(
        kind=kind,
        name=name,
        exit_code=done.exit_code,
        wall_s=done.wall_s,
        cpu_s=done.cpu_s,
        peak_mb=done.peak_mb,
        sandbox_cpu_s=sandbox_cpu,
        others_cpu=others,
        requests=dict(sorted(by_method.items())),
        rate_limited=sum(1 for entry in log if entry["status"] == 429),
        api_s=float(stats.group(3)) if stats else None,
        phases=fleet_report.parse_phases(done.stderr),
        load_before=load,
        stdout=done.stdout,
        stderr=done.stderr,
    )


def expect(run: Run, codes: tuple[int, ...]) -> None:
    if run.exit_code not in codes:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit(f"{run.name}: exit {run.exit_code}, expected {codes}")


# -- micro-benchmarks -------------------------------------------------------------------


def micro(launcher: Launcher, manifests: Path, numbers: int, rules: int) -> dict[str, Any]:
    """benchmarks/plan_pure.py and benchmarks/load_manifest.py, run by the launcher,
    three times each: the best run is judged."""
    env = dict(os.environ)
    # Three processes each, the best kept (every figure is in the JSON): noise on a
    # shared host only ever adds time, as timeit's documentation says of its minimum.
    plans = []
    for _ in range(3):
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
            plans.append(json.loads(Path(tmp.name).read_text()))
    plan = dict(min(plans, key=lambda f: f["all_changed"]["cpu_s"]))
    plan["all_changed_cpu_s"] = [f["all_changed"]["cpu_s"] for f in plans]
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


# -- one API version, measured ----------------------------------------------------------


def measure_version(
    args: argparse.Namespace, launcher: Launcher, version: str, root: Path, desired: DesiredState
) -> dict[str, Any]:
    """Every command against a sandbox of `version` of its own, started and stopped here."""
    latency = args.latency_ms / 1000
    conc = args.concurrency
    missing = args.rules // 10  # 10% of the rules: created by apply
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

    figures: dict[str, Any] = {"loadavg_at_start": _loadavg()}
    runs: list[Run] = []
    box = Sandbox(args.latency_ms, version)
    try:
        box.put_state(same)
        figures["sandbox_probe"] = probe(args, launcher, box, same)
        ceiling = figures["sandbox_probe"]["ceiling_requests_per_s"]
        for line in fleet_report.probe_lines(version, figures["sandbox_probe"]):
            print(line, flush=True)
        if not ceiling:
            print(f"[{version}] no latency: no ceiling to compare with", flush=True)

        def measured(
            kind: str,
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
                tries.append(run_cli(kind, name, box, launcher, cli, conc))
                expect(tries[-1], codes)
            loads = [t.load_before for t in tries]
            others = [t.others_cpu for t in tries]
            tries.sort(key=lambda r: r.wall_s)
            run = tries[len(tries) // 2]
            run.all_wall_s = [t.wall_s for t in tries]
            run.all_load_before = loads
            run.all_others_cpu = others
            run.floor_requests = floor_requests
            run.floor_s = floor_requests * latency / conc
            run.api_floor_s = api_floor_requests * latency / conc
            runs.append(run)
            walls = ", ".join(f"{w:.2f}" for w in run.all_wall_s)
            print(
                f"  [{version}] {name}: {run.wall_s:.2f} s"
                + (f" (median of {walls})" if repeat > 1 else "")
                + f"; load average before: {_listed(loads)}; others' CPUs: {_listed(others)}",
                flush=True,
            )
            return run

        plan_args = ["plan", str(root), "--detailed-exitcode"]
        apply_args = ["apply", str(root), "--auto-approve"]
        floor = reads(same)
        measured(fleet_report.PLAN, "plan (no change)", same, plan_args, (0,), floor, floor)
        run = measured(
            fleet_report.PLAN_CHANGED, "plan (10% changed)", changed, plan_args, (2,), floor, floor
        )
        figures["plan_changed_summary"] = _summary(run.stdout)
        run = measured(
            fleet_report.APPLY,
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
            raise SystemExit(f"{version}: apply made {writes} writes; its plan listed {creations}")
        figures["apply_output_lines"] = run.stdout.count("\n")
        again = run_cli("plan-after-apply", "plan after apply", box, launcher, plan_args, conc)
        expect(again, (0,))
        figures["plan_after_apply"] = " / ".join(again.stdout.strip().splitlines())
        run = measured(
            fleet_report.APPLY_SAME, "apply (no change)", same, apply_args, (0,), floor, 0
        )
        if run.total_requests != run.requests.get("GET", 0):
            raise SystemExit(f"{version}: a no-change apply wrote")
        with tempfile.TemporaryDirectory(prefix="inkbox-fleet-export-") as tmp:
            out = Path(tmp) / "export.yaml"
            export_floor = reads(same, identities=True)
            cli = ["export", "--output", str(out), "--force"]  # repeated runs, one file
            measured(fleet_report.EXPORT, "export", same, cli, (0,), export_floor, export_floor)
        if args.rate_limit:
            box.faults(rate_limit=args.rate_limit)
            limited = f"@{args.rate_limit} req/s"
            measured(
                fleet_report.PLAN_LIMITED,
                f"plan (no change) {limited}",
                same,
                plan_args,
                (0,),
                floor,
                floor,
            )
            measured(
                fleet_report.APPLY_LIMITED,
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
    figures["commands"] = {r.kind: r.as_json() for r in runs}
    return figures


def probe(
    args: argparse.Namespace, launcher: Launcher, box: Sandbox, same: dict[str, Any]
) -> dict[str, Any]:
    """benchmarks/fleet_probe.py against `box`, in a fresh process: this one's heap
    (the fleet's documents) would make the probe's own garbage collections part of
    the figure."""
    conc, latency = args.concurrency, args.latency_ms / 1000
    where = [box.base_url, API_KEY, same["numbers"][0]["id"], rules_path(same)]
    child = [
        sys.executable,
        str(HERE / "fleet_probe.py"),
        json.dumps([*where, conc, args.probe_requests]),
    ]
    done = launcher.run(child, dict(os.environ))
    if done.exit_code:
        raise SystemExit(f"sandbox probe failed: {done.stderr}")
    rates = json.loads(done.stdout)
    return {
        "requests_per_s": {
            client: {k: round(v, 1) for k, v in kinds.items()} for client, kinds in rates.items()
        },
        "ceiling_requests_per_s": round(conc / latency, 1) if latency else 0.0,
    }


def rules_path(doc: dict[str, Any]) -> str:
    """Where a rule of the fleet's first number is created, in `doc`'s API version."""
    number = doc["numbers"][0]
    if doc.get("api_version") == "2026-10":
        handle = next(
            i["agent_handle"] for i in doc["identities"] if i["id"] == number["agent_identity_id"]
        )
        return f"/api/v1/identities/{handle}/phone-contact-rules"
    return f"/api/v1/phone/numbers/{number['id']}/contact-rules"


def _listed(figures: list[float | None]) -> str:
    return ", ".join("-" if x is None else f"{x:.2f}" for x in figures)


def _summary(plan_text: str) -> str:
    """The plan's summary line ("Plan: ... API writes.")."""
    lines = [line for line in plan_text.splitlines() if line.startswith("Plan:")]
    return lines[-1] if lines else ""


# -- the machine -------------------------------------------------------------------------


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


def _loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _busy_cpu_s() -> float | None:
    """CPU seconds all processes have used so far (Linux's /proc/stat, idle, iowait and
    steal left out): with the CLI's and the sandbox's own, what others used meanwhile."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=100, help="rules per number")
    parser.add_argument("--files", type=int, default=10, help="manifest files for the numbers")
    parser.add_argument(
        "--api-version",
        choices=("both", *API_VERSIONS),
        default="both",
        help="the API version the sandbox speaks (the CLI detects it); both: one sandbox "
        "per version, one after the other",
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
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="whole measurements, one after the other (the targets must hold in all of them)",
    )
    parser.add_argument("--json", default="fleet.json", help="where to write the figures")
    parser.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    args = parser.parse_args()
    if args.repeat < 1 or args.runs < 1:
        parser.error("--repeat and --runs are at least 1")
    launcher = Launcher()  # first, while this process is small
    print(byte_compile(), flush=True)
    try:
        results = run_all(args, launcher)
    finally:
        launcher.stop()
    print(fleet_report.final_report(results))
    print(f"figures written to {args.json}")


def byte_compile() -> str:
    """Byte-compile the inkbox_sync the CLI imports, as pip does when it installs a
    package. An editable install writes each module's .pyc on its first import,
    except where PYTHONDONTWRITEBYTECODE is set (as on some CI and sandbox
    machines): there every module of the package was compiled again at every
    start, ~0.1 s of a 1.8 s plan, which no installed copy ever pays."""
    import compileall

    import inkbox_sync

    where = Path(inkbox_sync.__file__).parent
    if compileall.compile_dir(where, quiet=1):
        return f"byte-compiled {where} (up-to-date modules are left as they are)"
    return f"could not byte-compile {where}: each start may compile what has no .pyc"


def run_all(args: argparse.Namespace, launcher: Launcher) -> dict[str, Any]:
    """`--runs` whole measurements: each version in turn, then the micro-benchmarks;
    each run's report is printed, and the figures written, as soon as it is done."""
    versions = list(API_VERSIONS) if args.api_version == "both" else [args.api_version]
    total_rules = args.numbers * args.rules
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["python", "benchmarks/fleet.py", *sys.argv[1:]]),
        "fleet": {"numbers": args.numbers, "rules_per_number": args.rules, "rules": total_rules},
        "api_versions": versions,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "page_limit": PAGE_LIMIT,
        "idle_load": fleet_report.IDLE_LOAD,
        "idle_others_cpu": fleet_report.IDLE_OTHERS_CPU,
        "runs_asked": args.runs,
        "runs": [],
    }
    print(fleet_report.header(results), flush=True)
    with tempfile.TemporaryDirectory(prefix="inkbox-fleet-") as tmp:
        root = Path(tmp) / "manifests"
        root.mkdir()
        generate(root, args.numbers, args.rules, args.files)
        desired = load_manifest_set([root]).state
        for number in range(1, args.runs + 1):
            print(f"\n== run {number} of {args.runs}", flush=True)
            run: dict[str, Any] = {"run": number, "versions": {}}
            for version in versions:
                run["versions"][version] = measure_version(args, launcher, version, root, desired)
            if not args.no_micro:
                run["micro"] = micro(launcher, root, args.numbers, args.rules)
            run["verdicts"] = {
                version: fleet_report.verdicts(figures, run.get("micro"))
                for version, figures in run["versions"].items()
            }
            run["not_idle"] = fleet_report.not_idle(run["versions"])
            results["runs"].append(run)
            print()
            print(fleet_report.run_report(results, run), flush=True)
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
