"""Benchmark: load and validate a 100,000-rule manifest (1,000 numbers x 100 rules).

Target (design section 5): under 3 s and under 500 MB peak memory.

    python benchmarks/load_manifest.py [--numbers 1000] [--rules 100] [--files 10] [--repeat 3]

The manifest is generated in a temporary directory: one file with two policies
(5 rules each) and the numbers spread over `--files` files; every number uses
both policies and has `rules - 10` rules of its own, half plain strings, half
mappings (a third of those paused, with a note), so each number ends up with
exactly `--rules` rules. Each run loads in a fresh child process so that the
peak memory reported (max RSS) is the load's alone, plus the interpreter.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICY_RULES = 5


def generate(root: Path, numbers: int, rules: int, files: int) -> None:
    """Write the benchmark manifests under `root`."""
    policies = ["version: 1", "policies:", "  vip:", "    allow:"]
    policies += [f'      - "+1202555{i:04d}"' for i in range(POLICY_RULES)]
    policies += ["  spammers:", "    block:"]
    policies += [f'      - "+1900555{i:04d}"' for i in range(POLICY_RULES)]
    (root / "policies.yaml").write_text("\n".join(policies) + "\n", encoding="utf-8")
    own = rules - 2 * POLICY_RULES
    per_file = -(-numbers // files)
    for f in range(files):
        lines = ["version: 1", "numbers:"]
        for n in range(f * per_file, min(numbers, (f + 1) * per_file)):
            lines += _number(n, own)
        (root / f"numbers-{f:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _number(n: int, own: int) -> list[str]:
    lines = [
        f'  "+1415{n:07d}":',
        f"    agent: bot-{n}",
        "    incoming_call_action: webhook",
        "    incoming_call_webhook_url: https://hooks.example.com/inkbox/${ENV:-prod}",
        "    filter_mode: blacklist",
        "    use: [vip, spammers]",
    ]
    for action, targets in (("allow", range(own // 2)), ("block", range(own // 2, own))):
        lines.append(f"    {action}:")
        for t in targets:
            # unique per (number, rule); never one of the policies' +1202555... / +1900555...
            target = f"+1{200 + n % 800:03d}{n // 800}{t:06d}"
            if t % 2:
                lines.append(f'      - "{target}"')
            else:
                lines.append(f'      - target: "{target}"')
                if t % 3 == 0:
                    lines.append("        status: paused")
                    lines.append(f"        note: staged caller {t}")
    return lines


def measure(root: Path) -> dict[str, float | int]:
    """Load `root` once in this process; seconds and max RSS in MB."""
    from inkbox_sync.manifest import load_manifest_set

    start = time.perf_counter()
    loaded = load_manifest_set([root], env={})
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, **loaded.summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="inkbox-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.numbers, args.rules, args.files)
        size = sum(p.stat().st_size for p in root.iterdir())
        print(f"manifest: {args.numbers} numbers x {args.rules} rules, {size / 1e6:.1f} MB of YAML")
        runs = []
        for _ in range(args.repeat):
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(root)],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(child.stdout))
        best = min(runs, key=lambda r: r["seconds"])
        print(
            f"loaded {best['files']} files, {best['numbers']} numbers, {best['rules']} rules "
            f"({best['policies']} policies)"
        )
        print(
            f"seconds: {best['seconds']:.2f} (best of {len(runs)}; all: "
            + ", ".join(f"{r['seconds']:.2f}" for r in runs)
            + ")"
        )
        print(
            f"peak memory: {max(r['peak_mb'] for r in runs):.0f} MB (max RSS of the loading process)"
        )
        ok = best["seconds"] < 3 and max(r["peak_mb"] for r in runs) < 500
        print("target (< 3 s, < 500 MB):", "met" if ok else "MISSED")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
