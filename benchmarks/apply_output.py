"""What a person reads during a long apply: line counts and the head and tail of the
output of a generated fleet's apply, through pipes and on a terminal.

    python benchmarks/apply_output.py [--numbers 1000] [--rules 10] [--routing]
                                      [--latency-ms 0] [--concurrency 8] [--lines 12]

It generates `--numbers` numbers that each need `--rules` new allow rules (one
create each; `--routing` adds one routing write per number), starts
`inkbox-sync sandbox serve --api-version 2026-06` in its own process, and runs,
each from the same live state:

1. `plan` through a pipe;
2. `apply --auto-approve` through a pipe (stdout and stderr into one, as a CI log);
3. the same with `-v`;
4. `apply` on a pseudo-terminal, answering its prompt: how many lines come before
   the prompt, and what stays on the screen.

For each it prints the exit code, wall seconds, the lines printed, and the first
and last `--lines` of them. Nothing is asserted: the tests check the yardsticks
(tests/e2e/test_output.py); this shows them at full size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.cli import cli_env  # noqa: E402  (the repository's test helpers)
from tests.support.fleet import fleet  # noqa: E402
from tests.support.sandbox import sandbox_process  # noqa: E402
from tests.support.terminal import run_in_terminal  # noqa: E402

_ENTRY = "from inkbox_sync.cli.main import main; main()"


def piped(args: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        check=False,
    )
    return done.returncode, time.perf_counter() - started, done.stdout


def show(title: str, code: int, seconds: float, lines: list[str], keep: int) -> None:
    print(f"\n== {title}: exit {code}, {seconds:.1f} s, {len(lines)} lines")
    if len(lines) <= 2 * keep:
        print("\n".join(f"  | {line}" for line in lines))
        return
    print("\n".join(f"  | {line}" for line in lines[:keep]))
    print(f"  | ... ({len(lines) - 2 * keep} lines) ...")
    print("\n".join(f"  | {line}" for line in lines[-keep:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=10)
    parser.add_argument("--routing", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lines", type=int, default=12, help="head and tail lines shown")
    parser.add_argument("--no-terminal", action="store_true", help="skip the pty run")
    args = parser.parse_args()
    writes = args.numbers * (args.rules + int(args.routing))
    print(
        f"fleet: {args.numbers} numbers x {args.rules} creates"
        + (" + 1 routing write" if args.routing else "")
        + f" = {writes} writes; latency {args.latency_ms:g} ms, concurrency {args.concurrency}"
    )
    with tempfile.TemporaryDirectory(prefix="inkbox-output-") as tmp:
        manifests, state = fleet(
            Path(tmp), numbers=args.numbers, rules=args.rules, routing=args.routing
        )
        with sandbox_process(None, latency_ms=args.latency_ms or None) as box:
            env = cli_env(box, None)
            conc = ["--concurrency", str(args.concurrency)]
            runs = [
                ("plan, through a pipe", ["plan", str(manifests)]),
                (
                    "apply --auto-approve, through a pipe",
                    ["apply", str(manifests), "--auto-approve"],
                ),
                (
                    "apply --auto-approve -v, through a pipe",
                    ["-v", "apply", str(manifests), "--auto-approve"],
                ),
            ]
            for title, cli in runs:
                box.put_state(state)
                code, seconds, out = piped([*conc, *cli], env)
                show(title, code, seconds, out.splitlines(), args.lines)
            if not args.no_terminal:
                box.put_state(state)
                started = time.perf_counter()
                seen = run_in_terminal(
                    [*conc, "apply", str(manifests)],
                    box=box,
                    answers={"Make these": "y\n"},
                    timeout=3600,
                )
                seconds = time.perf_counter() - started
                before = seen.before("Make these").count("\n")
                redraws = seen.plain.count("\r")
                show(
                    f"apply on a terminal (the prompt after {before} lines; "
                    f"{redraws} redraws of the progress line)",
                    seen.code,
                    seconds,
                    seen.lines,
                    args.lines,
                )


if __name__ == "__main__":
    main()
