"""A generated fleet for output tests and `benchmarks/apply_output.py`: N numbers, each
live with no rules, each asking for K new allow rules (K creates) and optionally a
routing change (one more write). Sandbox state in the 2026-06 shapes.

    manifests, state = fleet(tmp_path, numbers=250, rules=20)
    box.put_state(state)
    run_cli(["apply", manifests, "--auto-approve"], box=box)
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

_NS = uuid.UUID("5d1c2a8e-6b0f-4f7e-9c3a-14b000000000")


def number_of(n: int) -> str:
    return f"+1415{n:07d}"


def target_of(n: int, k: int) -> str:
    return f"+1646{n:04d}{k:03d}"


def fleet(
    root: Path,
    *,
    numbers: int,
    rules: int,
    routing: bool = False,
    whitelist: bool = False,
    files: int = 10,
) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    """Write the manifests under `root/manifests` (spread over `files` files) and
    return their directory and the live state that makes each number need
    `rules` creates (plus one routing write each with `routing`, and a flip of
    the live blacklist to whitelist with `whitelist`: a safety valve each)."""
    directory = root / "manifests"
    directory.mkdir(parents=True, exist_ok=True)
    per_file = -(-numbers // files)
    for f in range(files):
        lines = ["version: 1", "numbers:"]
        for n in range(f * per_file, min(numbers, (f + 1) * per_file)):
            lines.append(f'  "{number_of(n)}":')
            lines.append(f"    agent: bot-{n}")
            if routing:
                lines.append("    incoming_call_action: webhook")
                lines.append(f"    incoming_call_webhook_url: https://hooks.example.com/bot-{n}")
            if whitelist:
                lines.append("    filter_mode: whitelist")
            lines.append("    allow:")
            lines += [f'      - "{target_of(n, k)}"' for k in range(rules)]
        if len(lines) > 2:
            (directory / f"numbers-{f:03d}.yaml").write_text("\n".join(lines) + "\n")
    state: dict[str, list[dict[str, Any]]] = {"identities": [], "numbers": [], "rules": []}
    for n in range(numbers):
        identity = str(uuid.uuid5(_NS, f"bot-{n}"))
        state["identities"].append({"id": identity, "agent_handle": f"bot-{n}"})
        state["numbers"].append(
            {
                "id": str(uuid.uuid5(_NS, number_of(n))),
                "number": number_of(n),
                "agent_identity_id": identity,
            }
        )
    return directory, state
