"""benchmarks/fleet_report.py: the `phases:` line's parser, the breakdown built from
it, and the verdict over consecutive runs (the benchmark itself is run by hand)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "fleet_report.py"
_SPEC = importlib.util.spec_from_file_location("fleet_report", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
report = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("fleet_report", report)
_SPEC.loader.exec_module(report)

PLAN_LINE = (
    "phases: imports 0.000-0.182, manifests 0.182-0.801, reads 0.190-1.512, "
    "planning 1.512-1.583, output 1.583-1.590"
)


def _entries(*triples: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"name": n, "start": s, "end": e} for n, s, e in triples]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            PLAN_LINE,
            _entries(
                ("imports", 0.0, 0.182),
                ("manifests", 0.182, 0.801),
                ("reads", 0.19, 1.512),
                ("planning", 1.512, 1.583),
                ("output", 1.583, 1.59),
            ),
        ),
        (  # among the other -v lines, names with spaces, apply's writes
            "  GET /api/v1/phone/numbers -> 200 21 ms\n"
            "phases: imports 0-0.2, live state reads 0.19-1.5, writes 1.6-27.25\n"
            "510 requests (GET 510) in 1.31s; 0 retries, 0 answered 429\n",
            _entries(
                ("imports", 0.0, 0.2), ("live state reads", 0.19, 1.5), ("writes", 1.6, 27.25)
            ),
        ),
        (  # the last line wins
            "phases: imports 0.0-1.0\n  phases: imports 0.0-0.5, output 0.5-0.6\n",
            _entries(("imports", 0.0, 0.5), ("output", 0.5, 0.6)),
        ),
        ("510 requests (GET 510) in 1.31s; 0 retries\n", None),  # no line: "-"
        ("phases: imports 0.000-0.182, manifests soon\n", None),  # malformed entry
        ("phases: reads 1.5-0.2\n", None),  # ends before it starts
        ("phases:\n", None),
    ],
)
def test_parse_phases(stderr: str, expected: list[dict[str, Any]] | None) -> None:
    assert report.parse_phases(stderr) == expected


def test_breakdown_of_a_plan() -> None:
    got = report.breakdown(2.0, 1.7, report.parse_phases(PLAN_LINE))
    assert got == {
        "startup_exit_s": 0.41,  # 2.0 wall - 1.590, the last end
        "phases_s": {
            "imports": 0.182,
            "manifests": 0.619,
            "reads": 1.322,
            "planning": 0.071,
            "output": 0.007,
        },
        "reads_overlap_manifests_s": 0.611,  # 0.190 to 0.801
        "outside_phases_s": 0.0,
        "cpu_s": 1.7,
    }


def test_breakdown_counts_time_in_no_phase_and_no_line_gives_none() -> None:
    got = report.breakdown(3.0, 1.0, _entries(("imports", 0.0, 0.5), ("reads", 1.0, 2.0)))
    assert got is not None
    assert (got["startup_exit_s"], got["outside_phases_s"]) == (1.0, 0.5)
    assert got["reads_overlap_manifests_s"] == 0.0  # no manifests phase
    assert report.breakdown(3.0, 1.0, None) is None


def _command(name: str, api_ratio: float, ratio: float, phases: str | None) -> dict[str, Any]:
    entries = report.parse_phases(phases) if phases else None
    return {
        "name": name,
        "wall_s": 2.0,
        "cpu_s": 1.5,
        "sandbox_cpu_s": 0.3,
        "api_s": 1.6,
        "ratio_to_floor": ratio,
        "api_ratio_to_floor": api_ratio,
        "total_requests": 502,
        "requests": {"GET": 502},
        "peak_rss_mb": 180.0,
        "rate_limited_429": 0,
        "exit_code": 0,
        "loadavg_before": 0.1,
        "breakdown": report.breakdown(2.0, 1.5, entries),
    }


def _version(api_ratio: float, phases: str | None = PLAN_LINE) -> dict[str, Any]:
    return {
        "commands": {
            report.PLAN: _command("plan (no change)", api_ratio, 1.45, phases),
            report.APPLY: _command("apply (10,000 creations)", 1.1, 1.15, None),
        }
    }


def test_breakdown_table_shows_each_version_and_a_dash_without_phases() -> None:
    table = report.breakdown_table({"2026-10": _version(1.2), "2026-06": _version(1.2, None)})
    rows = {line.split("|")[0].strip(): line for line in table.splitlines()}
    plan_cells = rows["manifests"].split("|")[1].split()
    assert plan_cells == ["0.62", "-"]  # 2026-10 printed the line, 2026-06 did not
    assert rows["start-up + exit"].split("|")[1].split() == ["0.41", "-"]


@pytest.mark.parametrize(
    ("ratios", "opening"),
    [
        ([1.2, 1.25, 1.1], "every target met in all 3 consecutive run(s)"),
        ([1.2, 1.35, 1.1], "NOT every target met in all 3 consecutive run(s): missed run 2"),
    ],
)
def test_closing_line_over_consecutive_runs(ratios: list[float], opening: str) -> None:
    runs = []
    for i, ratio in enumerate(ratios, 1):
        versions = {"2026-10": _version(1.2), "2026-06": _version(ratio)}
        verdicts = {v: report.verdicts(f, None) for v, f in versions.items()}
        runs.append({"run": i, "versions": versions, "verdicts": verdicts, "not_idle": []})
    results = {
        "runs": runs,
        "runs_asked": 3,
        "api_versions": ["2026-10", "2026-06"],
        "machine": {"loadavg_at_start": 0.1},
    }
    assert report.closing_line(results).startswith(opening)


def test_a_plan_that_shares_the_machine_is_flagged_not_one_after_our_own_load() -> None:
    ours = _version(1.2)  # the load average is the benchmark's own previous commands
    ours["commands"][report.PLAN].update(all_loadavg_before=[0.9, 1.4], all_others_cpu=[0.0, 0.01])
    shared = _version(1.2)
    shared["commands"][report.PLAN].update(all_loadavg_before=[0.2], all_others_cpu=[0.6])
    unknown = _version(1.2)  # no /proc/stat: the load average is all there is
    unknown["commands"][report.PLAN].update(all_loadavg_before=[0.7], all_others_cpu=[None])
    warnings = report.not_idle({"a": ours, "b": shared, "c": unknown})
    assert warnings == [
        "b plan (no change): other processes used 0.60 CPUs during it (> 0.25); "
        "load average 0.20 at its start",
        "c plan (no change): load average 0.70 at its start (> 0.5)",
    ]
