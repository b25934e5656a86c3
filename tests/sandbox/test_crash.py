"""SIGKILL a `sandbox serve --state FILE` in the middle of a burst of writes, restart
it, and find every write it acknowledged.

Writers record an operation only once its answer arrived. An operation sent
but unanswered when the process died may or may not have happened; the check
accepts either outcome for it, and nothing else.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from tests.support.sandbox import SandboxProcess, start_sandbox

NUMBERS = [demo_id("number", n) for n in ("+14155550003", "+14155550001", "+12125550100")]
SALES = demo_id("number", "+14155550001")  # auto_accept: its webhook URL is free to change
ACKS_BEFORE_KILL = 400


@dataclass
class Tracked:
    number_id: str
    states: set[str]  # what the restarted sandbox may show: one state, two if an op was unanswered


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: dict[str, Tracked] = field(default_factory=dict)
    acks: int = 0
    hook_acked: int = -1  # highest webhook URL counter acknowledged
    hook_pending: int | None = None

    def ack(self) -> None:
        with self.lock:
            self.acks += 1


def rule_writer(box: SandboxProcess, worker: int, ledger: Ledger, stop: threading.Event) -> None:
    """Create a rule, pause every second one, delete every third one."""
    with httpx.Client(base_url=box.api_url, headers=box.headers(), trust_env=False) as api:
        for i in range(100_000):
            if stop.is_set():
                return
            number_id = NUMBERS[i % len(NUMBERS)]
            url = f"/phone/numbers/{number_id}/contact-rules"
            body = {
                "action": "allow",
                "match_type": "exact_number",
                "match_target": f"+1556{worker:02d}{i:06d}",
            }
            try:
                created = api.post(url, json=body)
                assert created.status_code == 201, created.text
                rule_id = created.json()["id"]
                tracked = ledger.rules[rule_id] = Tracked(number_id, {"active"})
                ledger.ack()
                for op, after in (("pause", "paused"), ("delete", "deleted")):
                    if (op == "pause" and i % 2) or (op == "delete" and i % 3):
                        continue
                    tracked.states = tracked.states | {after}  # in flight: either
                    if op == "pause":
                        answer = api.patch(f"{url}/{rule_id}", json={"status": "paused"})
                        assert answer.status_code == 200, answer.text
                    else:
                        answer = api.delete(f"{url}/{rule_id}")
                        assert answer.status_code == 204, answer.text
                    tracked.states = {after}
                    ledger.ack()
            except httpx.TransportError:
                return  # the sandbox died under us


def number_writer(box: SandboxProcess, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(base_url=box.api_url, headers=box.headers(), trust_env=False) as api:
        for counter in range(100_000):
            if stop.is_set():
                return
            ledger.hook_pending = counter
            try:
                answer = api.patch(
                    f"/phone/numbers/{SALES}",
                    json={"incoming_call_webhook_url": f"https://hooks.example.com/{counter}"},
                )
            except httpx.TransportError:
                return
            assert answer.status_code == 200, answer.text
            ledger.hook_acked, ledger.hook_pending = counter, None
            ledger.ack()


@pytest.mark.parametrize("journal_limit", [None, 3_000], ids=["journal", "compacting"])
def test_sigkill_mid_burst_loses_no_acknowledged_write(
    tmp_path: Path, journal_limit: int | None
) -> None:
    state = tmp_path / "state.json"
    extra = ["--journal-limit", str(journal_limit)] if journal_limit else []
    box = start_sandbox(state, extra_args=extra)
    ledger = Ledger()
    stop = threading.Event()
    writers = [threading.Thread(target=rule_writer, args=(box, w, ledger, stop)) for w in range(8)]
    writers.append(threading.Thread(target=number_writer, args=(box, ledger, stop)))
    try:
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while ledger.acks < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.005)
        box.kill()  # SIGKILL while the writers are still going
    finally:
        stop.set()
        box.kill()
        for writer in writers:
            writer.join()
    assert ledger.acks >= ACKS_BEFORE_KILL

    restarted = start_sandbox(state)
    try:
        survived = {r["id"]: r for r in restarted.get_state()["rules"]}
        sales = next(n for n in restarted.get_state()["numbers"] if n["id"] == SALES)
    finally:
        restarted.stop()

    for rule_id, tracked in ledger.rules.items():
        rule = survived.get(rule_id)
        seen = "deleted" if rule is None else rule["status"]
        assert seen in tracked.states, (
            f"rule {rule_id}: restarted as {seen}, acknowledged {tracked.states}"
        )
        if rule is not None:
            assert rule["phone_number_id"] == tracked.number_id
    allowed = {
        f"https://hooks.example.com/{n}"
        for n in (ledger.hook_acked, ledger.hook_pending)
        if n is not None
    }
    assert ledger.hook_acked >= 0
    assert sales["incoming_call_webhook_url"] in allowed


def test_sigterm_saves_one_complete_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    box = start_sandbox(state)
    with httpx.Client(base_url=box.api_url, headers=box.headers(), trust_env=False) as api:
        answer = api.patch(f"/phone/numbers/{SALES}", json={"filter_mode": "whitelist"})
        assert answer.status_code == 200
    assert box.stop() == 0
    assert "state saved" in box.stderr_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    saved = json.loads(state.read_text())
    assert next(n for n in saved["numbers"] if n["id"] == SALES)["filter_mode"] == "whitelist"


def test_a_busy_port_is_a_config_error() -> None:
    with (
        SandboxServer(SandboxOptions(api_version="2026-06")) as first,
        pytest.raises(ConfigError, match="cannot listen"),
    ):
        SandboxServer(SandboxOptions(api_version="2026-06", port=first.port)).start()
