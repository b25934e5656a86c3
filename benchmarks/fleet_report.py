"""The fleet benchmark's report, computed from the figures `benchmarks/fleet.py` keeps.

Everything here reads the JSON-shaped figures (dicts of numbers and strings), never
a process or a socket, so a saved run can be printed again:

    python benchmarks/fleet_report.py fleet.json

What it makes: the side-by-side table of ratios per command and API version, each
version's detailed table, the breakdown of where the whole process's time goes
(from the CLI's `-v` `phases:` line), the verdicts of design section 5 per version,
the warnings of a machine that was not idle, and the closing line over all runs.
Standard library only: the tests import it without starting anything.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The machine was not idle if the 1-minute load average was above IDLE_LOAD when the
#: benchmark started, or if other processes used more than IDLE_OTHERS_CPU CPUs on
#: average during a plan run. Not the load average before each plan: that counts the
#: benchmark's own previous commands (a creating apply leaves it near 1 a minute later).
IDLE_LOAD = 0.5
IDLE_OTHERS_CPU = 0.25

# What each measured command is, as `fleet.py` keys them (in the order they run).
PLAN = "plan"
PLAN_CHANGED = "plan-changed"
APPLY = "apply"
APPLY_SAME = "apply-no-change"
EXPORT = "export"
PLAN_LIMITED = "plan-limited"
APPLY_LIMITED = "apply-limited"
PLANS = (PLAN, PLAN_CHANGED, PLAN_LIMITED)
#: The commands whose whole-process time is broken down, as the breakdown heads them.
BROKEN_DOWN = {PLAN: "no-change plan", APPLY: "creating apply"}

Figures = Mapping[str, Any]
Verdict = tuple[str, str, bool]  # (target, the figure, met?)


# -- the CLI's `phases:` line ------------------------------------------------------------

_PHASES_LINE = re.compile(r"^[ \t]*phases:(.*)$", re.MULTILINE)
_PHASE = re.compile(r"([a-z][a-z0-9_-]*(?: [a-z0-9_-]+)*) (\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")


def parse_phases(stderr: str) -> list[dict[str, Any]] | None:
    """The entries of the last `phases: NAME START-END, ...` line of a command's stderr,
    as {"name", "start", "end"} in seconds since the CLI's entry module started; None
    when there is no such line or it does not parse (then the breakdown shows "-")."""
    lines = _PHASES_LINE.findall(stderr)
    if not lines:
        return None
    phases = []
    for entry in lines[-1].split(","):
        match = _PHASE.fullmatch(entry.strip())
        if match is None:
            return None
        start, end = float(match[2]), float(match[3])
        if end < start:
            return None
        phases.append({"name": match[1], "start": start, "end": end})
    return phases


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def breakdown(
    wall_s: float, cpu_s: float, phases: list[dict[str, Any]] | None
) -> dict[str, Any] | None:
    """Where a command's whole-process time went: interpreter start-up and exit (the
    wall time outside the last phase's end), each phase's span, how long the reads
    overlapped loading the manifests, the time inside the CLI in no phase, and CPU."""
    if not phases:
        return None
    last = max(p["end"] for p in phases)
    spans: dict[str, float] = {}
    by_name: dict[str, list[tuple[float, float]]] = {}
    for p in phases:
        spans[p["name"]] = spans.get(p["name"], 0.0) + p["end"] - p["start"]
        by_name.setdefault(p["name"], []).append((p["start"], p["end"]))
    covered = sum(end - start for start, end in _union((p["start"], p["end"]) for p in phases))
    reads, manifests = _union(by_name.get("reads", [])), _union(by_name.get("manifests", []))
    return {
        "startup_exit_s": round(wall_s - last, 3),
        "phases_s": {name: round(span, 3) for name, span in spans.items()},
        "reads_overlap_manifests_s": round(_overlap(reads, manifests), 3),
        "outside_phases_s": round(max(0.0, last - covered), 3),
        "cpu_s": round(cpu_s, 3),
    }


# -- tables ------------------------------------------------------------------------------


def _num(value: float | None, width: int, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.{digits}f}"


def _ratio(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def side_by_side(versions: Mapping[str, Figures]) -> str:
    """Per command: wall and API-phase seconds and their ratios to the floor, and CPU
    seconds, for each version in its own block of columns."""
    names = list(versions)
    kinds: list[str] = []
    for figures in versions.values():
        kinds += [k for k in figures["commands"] if k not in kinds]
    block = f"{'wall s':>7} {'x floor':>7} {'api s':>6} {'x floor':>7} {'CPU s':>6}"
    width = len(block)
    first = f"{'':<30}" + "".join(f" | {v:^{width}}" for v in names)
    head = f"{'command':<30}" + f" | {block}" * len(names)
    lines = [first, head, "-" * len(head)]
    for kind in kinds:
        label = next(
            f["commands"][kind]["name"] for f in versions.values() if kind in f["commands"]
        )
        row = f"{label:<30}"
        for figures in versions.values():
            c = figures["commands"].get(kind)
            if c is None:
                row += f" | {'':<{width}}"
                continue
            row += (
                f" | {_num(c['wall_s'], 7)} {_num(_ratio(c['ratio_to_floor']), 7)} "
                f"{_num(c['api_s'], 6)} {_num(_ratio(c['api_ratio_to_floor']), 7)} "
                f"{_num(c['cpu_s'], 6)}"
            )
        lines.append(row)
    return "\n".join(line.rstrip() for line in lines)


def detail(commands: Mapping[str, Figures]) -> str:
    """One version's table: requests against the floor, seconds, CPU, memory, 429s."""
    head = (
        f"{'command':<30} {'requests':>8} {'floor':>6} {'floor s':>8} {'wall s':>7} {'x floor':>7} "
        f"{'api s':>7} {'x floor':>7} {'CPU s':>6} {'peak MB':>7} {'429s':>5} {'sbx CPU':>7} "
        f"{'load':>5} {'others':>6} {'exit':>4}"
    )
    lines = [head, "-" * len(head)]
    for c in commands.values():
        lines.append(
            f"{c['name']:<30} {c['total_requests']:>8} {c['floor_requests']:>6} "
            f"{c['floor_s']:>8.2f} {c['wall_s']:>7.2f} {_num(_ratio(c['ratio_to_floor']), 7)} "
            f"{_num(c['api_s'], 7)} {_num(_ratio(c['api_ratio_to_floor']), 7)} "
            f"{c['cpu_s']:>6.2f} {c['peak_rss_mb']:>7.0f} {c['rate_limited_429']:>5} "
            f"{c['sandbox_cpu_s']:>7.2f} {_num(c['loadavg_before'], 5)} "
            f"{_num(c.get('others_cpu'), 6)} {c['exit_code']:>4}"
        )
    return "\n".join(line.rstrip() for line in lines)


def breakdown_table(versions: Mapping[str, Figures]) -> str:
    """The whole-process time of the no-change plan and the creating apply, per version."""
    columns = [
        (kind, version, figures["commands"][kind])
        for kind in BROKEN_DOWN
        for version, figures in versions.items()
        if kind in figures["commands"]
    ]
    phase_names: list[str] = []
    for _, _, c in columns:
        names = (c.get("breakdown") or {}).get("phases_s", {})
        phase_names += [n for n in names if n not in phase_names]
    width = 10 if len(versions) > 1 else 14
    first = f"{'seconds':<28}"
    for kind, label in BROKEN_DOWN.items():
        span = sum(1 for k, _, _ in columns if k == kind) * (width + 1) - 1
        if span > 0:
            first += f" | {label:^{span}}"
    head = f"{'':<28}"
    for i, (kind, version, _) in enumerate(columns):
        sep = " | " if i == 0 or columns[i - 1][0] != kind else " "
        head += f"{sep}{version:>{width}}"
    rows: list[tuple[str, Any]] = [
        ("wall (start to exit)", lambda c, b: c["wall_s"]),
        ("start-up + exit", lambda c, b: b and b["startup_exit_s"]),
    ]
    rows += [(name, lambda c, b, n=name: b and b["phases_s"].get(n)) for name in phase_names]
    rows += [
        ("reads overlapping manifests", lambda c, b: b and b["reads_overlap_manifests_s"]),
        ("in no phase", lambda c, b: b and b["outside_phases_s"]),
        ("CPU (inkbox-sync)", lambda c, b: c["cpu_s"]),
        ("CPU (sandbox)", lambda c, b: c["sandbox_cpu_s"]),
    ]
    lines = [first, head, "-" * len(head)]
    for label, value in rows:
        line = f"{label:<28}"
        for i, (kind, _, c) in enumerate(columns):
            sep = " | " if i == 0 or columns[i - 1][0] != kind else " "
            line += f"{sep}{_num(value(c, c.get('breakdown')), width)}"
        lines.append(line)
    if not any(c.get("breakdown") for _, _, c in columns):
        lines.append("(no phases: the CLI printed no `phases:` line at -v)")
    return "\n".join(line.rstrip() for line in lines)


# -- verdicts ----------------------------------------------------------------------------


def verdicts(figures: Figures, micro: Figures | None) -> list[Verdict]:
    """(target, the figure, met?) for design section 5's targets, for one API version."""
    cmds = figures["commands"]
    out: list[Verdict] = []
    plan = cmds.get(PLAN)
    if plan:
        api, wall = plan["api_ratio_to_floor"], plan["ratio_to_floor"]
        out.append(
            ("no-change plan's API phase within 1.3x of its floor", f"{api:.2f}x", api <= 1.3)
        )
        out.append(
            ("no-change plan's whole process within 1.5x of its floor", f"{wall:.2f}x", wall <= 1.5)
        )
    apply = cmds.get(APPLY)
    if apply:
        out.append(
            (
                "creating apply within 1.3x of writes x latency / concurrency",
                f"{apply['api_ratio_to_floor']:.2f}x (whole process, reads + writes: "
                f"{apply['ratio_to_floor']:.2f}x)",
                apply["api_ratio_to_floor"] <= 1.3,
            )
        )
    same = cmds.get(APPLY_SAME)
    if same:
        writes = same["total_requests"] - same["requests"].get("GET", 0)
        out.append(("no-change apply makes zero writes", f"{writes} writes", writes == 0))
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
    if peaks:
        out.append(("peak memory under 500 MB", f"{max(peaks):.0f} MB", max(peaks) < 500))
    limited = [cmds[k] for k in (PLAN_LIMITED, APPLY_LIMITED) if k in cmds]
    if limited:
        shown = ", ".join(
            f"{c['name']}: {c['rate_limited_429']} 429s, exit {c['exit_code']}" for c in limited
        )
        ok = all(c["exit_code"] == 0 for c in limited)
        out.append(("rate-limited plan and apply finish, few 429s", shown, ok))
    return out


def verdict_lines(by_version: Mapping[str, list[Verdict]]) -> list[str]:
    """One line per target and version, grouped by target."""
    targets: list[str] = []
    for verdict_list in by_version.values():
        targets += [t for t, _, _ in verdict_list if t not in targets]
    lines = []
    for target in targets:
        for version, verdict_list in by_version.items():
            for t, figure, met in verdict_list:
                if t == target:
                    lines.append(
                        f"  {'met   ' if met else 'MISSED'}  {version}  {target}: {figure}"
                    )
    return lines


def missed(by_version: Mapping[str, list[Verdict]]) -> list[str]:
    """`VERSION: target` for every target missed."""
    return [
        f"{version}: {target}"
        for version, verdict_list in by_version.items()
        for target, _, met in verdict_list
        if not met
    ]


def not_idle(versions: Mapping[str, Figures]) -> list[str]:
    """A warning for each plan run during which other processes used more than
    IDLE_OTHERS_CPU CPUs (or, where that is unknown, that started with the load
    average above IDLE_LOAD)."""
    out = []
    for version, figures in versions.items():
        for kind in PLANS:
            c = figures["commands"].get(kind)
            if c is None:
                continue
            loads = [x for x in c.get("all_loadavg_before") or [c["loadavg_before"]] if x]
            load = f"load average {max(loads):.2f} at its start" if loads else "load unknown"
            others = [x for x in c.get("all_others_cpu") or [c.get("others_cpu")] if x is not None]
            if others and max(others) > IDLE_OTHERS_CPU:
                out.append(
                    f"{version} {c['name']}: other processes used {max(others):.2f} CPUs "
                    f"during it (> {IDLE_OTHERS_CPU}); {load}"
                )
            elif not others and loads and max(loads) > IDLE_LOAD:
                out.append(f"{version} {c['name']}: {load} (> {IDLE_LOAD})")
    return out


# -- the report --------------------------------------------------------------------------


def header(results: Figures) -> str:
    info = results["machine"]
    fleet = results["fleet"]
    load = info["loadavg_at_start"]
    busy = f" (warning: not idle, > {IDLE_LOAD})" if load is not None and load > IDLE_LOAD else ""
    return (
        f"{results['command']}\n"
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"load average at start {load}{busy}\n"
        f"fleet: {fleet['numbers']:,} numbers x {fleet['rules_per_number']} rules; API versions "
        f"{', '.join(results['api_versions'])}, each against its own sandbox process; latency "
        f"{results['latency_ms']:g} ms; concurrency {results['concurrency']}; "
        f"page {results['page_limit']}"
    )


def probe_lines(version: str, probe: Figures) -> list[str]:
    ceiling = probe["ceiling_requests_per_s"]
    lines = [f"{version} sandbox probe (trivial clients, ceiling {ceiling:.0f} req/s):"]
    for client, kinds in probe["requests_per_s"].items():
        what = "httpx client" if client == "httpx" else "raw asyncio sockets"
        lines.append(
            f"  {what:<20} "
            + ", ".join(f"{k} {v:.0f} req/s ({v / ceiling:.0%})" for k, v in kinds.items())
        )
    return lines


LEGEND = (
    "floor: the fewest requests the contract allows x latency / concurrency. wall: the whole\n"
    "inkbox-sync process, start to exit. api: the span its -v line reports (plan, export:\n"
    "first request sent to last answer; apply: the writes, against a floor of the writes alone).\n"
    "CPU, peak MB: the inkbox-sync process (os.wait4). sbx CPU: the sandbox over the same run.\n"
    "load: the 1-minute load average before the command; others: CPUs that other processes\n"
    "used meanwhile, on average (/proc/stat less the CLI's and the sandbox's CPU). Breakdown:\n"
    "the phases of the CLI's -v `phases:` line (seconds since its entry module started; '-'\n"
    "when it printed none); start-up + exit is the wall time outside them."
)


def _all(plan_pure: dict[str, Any]) -> str:
    """`; best of 3: 0.70, 0.79, 1.02` from a run that kept them all (older runs
    measured once)."""
    figures = plan_pure.get("all_changed_cpu_s")
    if not figures:
        return ""
    return f"; best of {len(figures)}: " + ", ".join(f"{f:.2f}" for f in figures)


def run_report(results: Figures, run: Figures) -> str:
    """Everything measured in one run: probes, tables, breakdown, verdicts, warnings."""
    versions = run["versions"]
    out = [f"== run {run['run']} of {results['runs_asked']}: the figures", ""]
    for version, figures in versions.items():
        out += probe_lines(version, figures["sandbox_probe"])
    out += ["", side_by_side(versions), ""]
    for version, figures in versions.items():
        out += [f"{version}:", detail(figures["commands"])]
        out.append(f"  plan (10% changed): {figures.get('plan_changed_summary')}")
        out.append(f"  apply (creations) printed {figures.get('apply_output_lines')} lines")
        out.append(f"  plan after apply: {figures.get('plan_after_apply')}")
    out += ["", LEGEND, "", "where the whole process goes:", breakdown_table(versions)]
    micro = run.get("micro")
    if micro:
        p, load = micro["plan_pure"], micro["load_manifest"]
        out += [
            "",
            f"pure planning of {p['rules']:,} rules (no I/O): no change "
            f"{p['no_change']['cpu_s']:.3f} s CPU, all changed {p['all_changed']['cpu_s']:.3f} s "
            f"CPU ({p['all_changed']['steps']:,} steps{_all(p)}); peak "
            f"{p['peak_rss_mb']:.0f} MB",
            f"loading and validating {load['rules']:,} rules: {load['seconds']:.2f} s "
            f"(best of 3), peak {load['peak_rss_mb']:.0f} MB",
        ]
    out += ["", f"targets (design section 5), run {run['run']}:"]
    out += verdict_lines(run["verdicts"])
    for warning in run["not_idle"]:
        out.append(f"  warning: not idle: {warning}")
    return "\n".join(out)


def closing_line(results: Figures) -> str:
    """Whether every target was met, for every version, in every one of the runs."""
    runs = results["runs"]
    n, versions = len(runs), " and ".join(results["api_versions"])
    misses = [(run["run"], missed(run["verdicts"])) for run in runs]
    busy = sum(len(run["not_idle"]) for run in runs)
    load = results["machine"]["loadavg_at_start"]
    caveats = [f"{busy} plan run(s) shared the machine"] if busy else []
    if load is not None and load > IDLE_LOAD:
        caveats.append(f"the load average was {load} when the benchmark started")
    caveat = f" (warning: not idle: {'; '.join(caveats)})" if caveats else ""
    if n < results["runs_asked"]:
        return f"incomplete: {n} of {results['runs_asked']} runs finished{caveat}"
    if not any(m for _, m in misses):
        return f"every target met in all {n} consecutive run(s), {versions}{caveat}"
    shown = "; ".join(f"run {i}: {', '.join(m)}" for i, m in misses if m)
    return f"NOT every target met in all {n} consecutive run(s): missed {shown}{caveat}"


def runs_summary(results: Figures) -> str:
    """One line per run and version with the ratios the targets judge."""
    head = (
        f"{'run':>3} {'version':<8} {'plan api x':>10} {'plan wall x':>11} "
        f"{'apply writes x':>14}  targets"
    )
    lines = [head, "-" * len(head)]
    for run in results["runs"]:
        for version, figures in run["versions"].items():
            plan, apply = figures["commands"].get(PLAN), figures["commands"].get(APPLY)
            misses = [t for t, _, met in run["verdicts"][version] if not met]
            lines.append(
                f"{run['run']:>3} {version:<8} "
                f"{_num(plan and plan['api_ratio_to_floor'], 10)} "
                f"{_num(plan and plan['ratio_to_floor'], 11)} "
                f"{_num(apply and apply['api_ratio_to_floor'], 14)}  "
                + ("all met" if not misses else f"{len(misses)} missed")
            )
    return "\n".join(line.rstrip() for line in lines)


def final_report(results: Figures) -> str:
    return "\n".join(["", "== all runs", runs_summary(results), "", closing_line(results)])


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python benchmarks/fleet_report.py FIGURES.json")
    results = json.loads(Path(sys.argv[1]).read_text())
    print(header(results))
    for run in results["runs"]:  # judged again: by this module's rules, not the saved ones
        run["verdicts"] = {v: verdicts(f, run.get("micro")) for v, f in run["versions"].items()}
        run["not_idle"] = not_idle(run["versions"])
        print()
        print(run_report(results, run))
    print(final_report(results))


if __name__ == "__main__":
    main()
