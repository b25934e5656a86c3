"""Stop means stop: a failed write, SIGINT and SIGTERM, a first-attempt 409, a key
without the scope. The real CLI against a sandbox subprocess; the sandbox's
write gate (`hold_writes_after`, `refuse_writes_after`) makes each moment exact,
so nothing here depends on timing.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliProcess, run_cli, wait_until
from tests.support.replay import duplicate_targets
from tests.support.sandbox import SandboxProcess, api_writes, sandbox_process

#: These tests are about stopping, the same in either version; the demo facts they use
#: are the 2026-06 demo's (the key-scope test has a 2026-10 twin at the end).
API_VERSION = "2026-06"
SCHEDULER = "+14155550003"  # demo organisation: blacklist, no rules
SUPPORT = "+18335794607"  # demo organisation: has rules, one of them stale


def allow_manifest(path: Path, count: int) -> Path:
    """`count` allow rules on the scheduler number: `count` independent creates."""
    targets = ", ".join(f'"+1555010{i:04d}"' for i in range(count))
    path.write_text(f'version: 1\nnumbers:\n  "{SCHEDULER}":\n    allow: [{targets}]\n')
    return path


def committed_posts(log: list[dict[str, Any]]) -> list[str]:
    return [e["body"]["match_target"] for e in log if e["method"] == "POST" and e["status"] == 201]


def converges(box: SandboxProcess, manifest: Path) -> None:
    """Running apply again finishes the job, and nothing is left to do."""
    again = run_cli(["apply", manifest, "--auto-approve"], box=box)
    assert again.returncode == 0, again.stderr
    assert run_cli(["plan", manifest, "--detailed-exitcode"], box=box).returncode == 0
    assert duplicate_targets(box.get_state()) == []


def test_a_403_at_write_k_is_followed_only_by_the_writes_in_flight(tmp_path: Path) -> None:
    """Findings 2 and 4: after the first failure every queued write started anyway,
    and the report's header counted only the listed part."""
    k, total, concurrency = 50, 200, 8
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = allow_manifest(tmp_path / "m.yaml", total)
        box.set_faults(refuse_writes_after=k)
        box.clear_requests()
        result = run_cli(
            ["--concurrency", str(concurrency), "apply", manifest, "--auto-approve"], box=box
        )
        assert result.returncode == 1, result.stderr
        writes = api_writes(box.requests())
        refused = [w for w in writes if w["status"] == 403]
        assert len(committed_posts(writes)) == k
        # Only the writes already in flight when the first 403 came back: at most one
        # per slot. Before the fix, all 150 writes after the k-th were sent.
        assert 1 <= len(refused) <= concurrency
        assert len(writes) <= k + concurrency
        assert f"{k} of {total} writes made" in result.stderr
        assert f"done ({k}):" in result.stderr
        assert f"not done ({total - k}):" in result.stderr  # the whole list, not the 20 shown
        assert f"... and {total - k - 20} more" in result.stderr
        assert "run apply again" in result.stderr
        box.set_faults(refuse_writes_after=None)
        converges(box, manifest)


def start_held_apply(
    box: SandboxProcess, manifest: Path, *, k: int, concurrency: int
) -> CliProcess:
    """Apply with the sandbox committing k writes and holding the next ones: once
    every slot holds a held write, the test knows exactly what is in flight."""
    box.set_faults(hold_writes_after=k)
    box.clear_requests()
    apply = CliProcess(
        ["--concurrency", str(concurrency), "apply", manifest, "--auto-approve"], box=box
    )
    wait_until(lambda: box.get_faults()["held"] == concurrency)
    return apply


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_apply_lets_the_writes_in_flight_finish_and_reports(
    tmp_path: Path, signum: int, code: int
) -> None:
    """Finding 3: Ctrl-C printed `Aborted.` and exit 1 with no report, SIGTERM
    exited 143 silently, and the writes in flight committed unreported."""
    k, total, concurrency = 5, 40, 4
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = allow_manifest(tmp_path / "m.yaml", total)
        apply = start_held_apply(box, manifest, k=k, concurrency=concurrency)
        apply.send_signal(signum)
        apply.wait_for("no new write starts; waiting for the 4 in flight")
        box.set_faults(hold_writes_after=None)  # held writes answer 503; apply retries them
        assert apply.finish() == code, apply.stderr
        made = k + concurrency  # nothing started after the signal; those in flight finished
        assert sorted(set(committed_posts(box.requests()))) == sorted(
            committed_posts(box.requests())
        )
        assert len(committed_posts(box.requests())) == made
        name = signal.Signals(signum).name
        assert f"apply interrupted by {name}: no write started after it" in apply.stderr
        assert f"{made} of {total} writes made" in apply.stderr
        assert f"done ({made}):" in apply.stderr and f"not done ({total - made}):" in apply.stderr
        assert "run apply again" in apply.stderr
        converges(box, manifest)


def test_a_second_ctrl_c_stops_waiting_and_says_what_may_have_happened(tmp_path: Path) -> None:
    k, total, concurrency = 3, 30, 4
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = allow_manifest(tmp_path / "m.yaml", total)
        apply = start_held_apply(box, manifest, k=k, concurrency=concurrency)
        apply.send_signal(signal.SIGINT)
        apply.wait_for("press Ctrl-C again to stop waiting")
        apply.send_signal(signal.SIGINT)
        assert apply.finish() == 130, apply.stderr
        assert "abandoned and may or may not have been made" in apply.stderr
        assert f"in flight when abandoned: may or may not have been made ({concurrency}):" in (
            apply.stderr
        )
        assert f"{k} of {total} writes known made" in apply.stderr
        assert f"not done ({total - k - concurrency}):" in apply.stderr
        box.set_faults(hold_writes_after=None)  # the abandoned writes are refused, uncommitted
        wait_until(lambda: box.get_faults()["held"] == 0)
        assert len(committed_posts(box.requests())) == k
        converges(box, manifest)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_sigterm_at_the_confirmation_prompt_writes_nothing_and_exits_143(tmp_path: Path) -> None:
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = allow_manifest(tmp_path / "m.yaml", 3)
        box.clear_requests()
        controller, terminal = os.openpty()  # a terminal on stdin, so apply asks
        try:
            apply = CliProcess(["apply", manifest], box=box, stdin=terminal)
            apply.wait_for("Make these 3 writes?", stream="stdout")
            apply.send_signal(signal.SIGTERM)
            assert apply.finish() == 143, apply.stderr
        finally:
            os.close(controller)
            os.close(terminal)
        assert "interrupted by SIGTERM before the first write: nothing was written" in (
            apply.stderr
        )
        assert api_writes(box.requests()) == []


def test_a_409_on_the_first_attempt_is_a_conflict_not_an_adoption(tmp_path: Path) -> None:
    """Finding 7: a rule someone created between plan and apply was taken over.
    Only a create whose earlier attempt may have landed adopts the rule in its slot."""
    targets = ["+15550100001", "+15550100002"]
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = tmp_path / "m.yaml"
        manifest.write_text(
            f'version: 1\nnumbers:\n  "{SCHEDULER}":\n    allow: {json.dumps(targets)}\n'
        )
        # Apply has planned and its first create (of either target) is held, unanswered.
        apply = start_held_apply(box, manifest, k=0, concurrency=1)
        # Meanwhile someone else blocks both targets.
        state = box.get_state()
        number_id = next(n["id"] for n in state["numbers"] if n["number"] == SCHEDULER)
        state["rules"] += [
            {"phone_number_id": number_id, "action": "block", "match_target": t} for t in targets
        ]
        box.put_state(state)
        box.set_faults(hold_writes_after=None)  # the held create: 503, retried, 409
        assert apply.finish() == 1, apply.stderr

        posts = [e for e in box.requests() if e["method"] == "POST"]
        retried, first_try = posts[0]["body"]["match_target"], posts[-1]["body"]["match_target"]
        assert [e["status"] for e in posts] == [503, 409, 409] and retried != first_try
        # The retried create may have made that rule itself: adopted (one PATCH).
        patches = [e for e in box.requests() if e["method"] == "PATCH"]
        assert len(patches) == 1 and patches[0]["body"] == {"action": "allow", "status": "active"}
        # The first attempt's 409 is someone else's rule: left alone, named, not adopted.
        assert f"a rule for {first_try} on {SCHEDULER} already exists" in apply.stdout
        assert "not adopted" in apply.stderr
        rules = {r["match_target"]: r["action"] for r in box.get_state()["rules"]}
        assert (rules[retried], rules[first_try]) == ("allow", "block")


def test_a_key_without_the_scope_is_refused_before_any_write(tmp_path: Path) -> None:
    agent = {"INKBOX_API_KEY": "agent-key-7e2f"}
    with sandbox_process(
        tmp_path / "org.json", api_version=API_VERSION, agent_key=agent["INKBOX_API_KEY"]
    ) as box:
        stale = tmp_path / "stale.yaml"  # deletes the support number's stale rule: admin-only
        stale.write_text(
            f'version: 1\nnumbers:\n  "{SUPPORT}":\n    block: ["+18005550199"]\n'
            '    allow: ["+14155550100", "+14155550124"]\n'
        )
        box.clear_requests()
        refused = run_cli(["apply", stale, "--auto-approve"], box=box, env=agent)
        assert refused.returncode == 1, refused.stderr
        assert "the API key is agent-scoped (api_key.agent_scoped.claimed)" in refused.stderr
        assert "Nothing was written" in refused.stderr
        log = box.requests()
        assert api_writes(log) == [] and any(e["path"] == "/api/whoami" for e in log)

        # Creates and routing are open to an agent key: the same check lets them through.
        creates = allow_manifest(tmp_path / "creates.yaml", 3)
        done = run_cli(["apply", creates, "--auto-approve"], box=box, env=agent)
        assert done.returncode == 0, done.stderr
        assert len(committed_posts(box.requests())) == 3


def test_on_2026_10_every_rule_write_needs_an_admin_key_and_routing_does_not(
    tmp_path: Path,
) -> None:
    """The same whoami check against 2026-10, where creating a rule is admin-only too.
    The agent key belongs to support-bot (the demo's first identity) and sees only it."""
    agent = {"INKBOX_API_KEY": "agent-key-10c3"}
    with sandbox_process(tmp_path / "org.json", agent_key=agent["INKBOX_API_KEY"]) as box:
        creates = tmp_path / "creates.yaml"
        creates.write_text(
            f'version: 1\nnumbers:\n  "{SUPPORT}":\n    unmanaged_rules: keep\n'
            '    allow: ["+15550100001"]\n'
        )
        box.clear_requests()
        refused = run_cli(["apply", creates, "--auto-approve"], box=box, env=agent)
        assert refused.returncode == 1, refused.stderr
        assert "the API key is agent-scoped (api_key.agent_scoped.claimed)" in refused.stderr
        assert "create allow +15550100001" in refused.stderr
        assert api_writes(box.requests()) == []

        routing = tmp_path / "routing.yaml"
        routing.write_text(
            f'version: 1\nnumbers:\n  "{SUPPORT}":\n    incoming_call_action: auto_reject\n'
        )
        done = run_cli(["apply", routing, "--auto-approve"], box=box, env=agent)
        assert done.returncode == 0, done.stderr
        assert [w["method"] for w in api_writes(box.requests())] == ["PATCH"]


def test_a_write_held_back_by_the_rate_limit_is_not_sent_after_a_failure(
    tmp_path: Path,
) -> None:
    """Review of finding 2: the stop flag was checked when a write took its slot,
    and the client then held it on the rate limit; after a failure meanwhile, it
    was sent all the same once the window reopened. At 4 requests a second the
    writes of one window are the most that can be in flight when the 403 comes
    back; the rest wait for a later window and must never be sent."""
    k, total, concurrency, rate = 2, 40, 8, 4
    with sandbox_process(tmp_path / "org.json", api_version=API_VERSION) as box:
        manifest = allow_manifest(tmp_path / "m.yaml", total)
        box.set_faults(refuse_writes_after=k)
        box.clear_requests()
        box.set_faults(rate_limit=rate)
        result = run_cli(
            ["--concurrency", str(concurrency), "apply", manifest, "--auto-approve"], box=box
        )
        assert result.returncode == 1, result.stderr
        # A 429 is the rate limiter's answer: it never reached the API.
        writes = [w for w in api_writes(box.requests()) if w["status"] != 429]
        assert len(committed_posts(writes)) == k
        assert 1 <= len([w for w in writes if w["status"] == 403]) <= rate
        # Before the fix every slot's write went out: k + concurrency and more.
        assert len(writes) <= k + rate, [w["status"] for w in writes]
        assert f"{k} of {total} writes made" in result.stderr
        box.set_faults(rate_limit=10_000, refuse_writes_after=None)
        converges(box, manifest)
