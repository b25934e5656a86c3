"""SIGKILL a `sandbox serve --state FILE` in the middle of a burst of writes, restart
it, and find every write it acknowledged: for both API versions.

Writers record an operation only once its answer arrived. An operation sent
but unanswered when the process died may or may not have happened; the check
accepts either outcome for it, and nothing else.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from inkbox_sync.errors import ConfigError
from inkbox_sync.sandbox import SandboxOptions, SandboxServer
from inkbox_sync.sandbox.demo import demo_id
from inkbox_sync.sandbox.persistence import replay
from tests.support.sandbox import SandboxProcess, start_sandbox

NUMBERS = [demo_id("number", n) for n in ("+14155550003", "+14155550001", "+12125550100")]
SALES = demo_id("number", "+14155550001")  # its webhook URL is free to change (both demos)
HANDLES = ["scheduler-bot", "research-bot", "billing-bot"]  # 2026-10: research-bot has no number
ACKS_BEFORE_KILL = 400


@dataclass
class Tracked:
    owner: str  # the rule's number (2026-06) or identity (2026-10)
    states: set[str]  # what the restarted sandbox may show: one state, two if an op was unanswered


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: dict[str, Tracked] = field(default_factory=dict)
    acks: int = 0
    hook_acked: int = -1  # highest webhook URL counter acknowledged
    hook_pending: int | None = None
    mode_acked: int = -1  # 2026-10: highest identity mode counter acknowledged
    mode_pending: int | None = None

    def ack(self) -> None:
        with self.lock:
            self.acks += 1


@dataclass(frozen=True)
class Burst:
    """What a rule writer does in one API version: create a rule (in state `created`),
    `second` every second one (then in state `seconded`), delete every third one."""

    owners: list[tuple[str, str]]  # (the rules' owner id, their collection's URL)
    create: dict[str, str]  # the create body's fields beyond action, match type and target
    created: str
    second: Callable[[httpx.Client, str, str, dict[str, str]], httpx.Response]
    seconded: str


BURSTS = {
    # 2026-06: pause the rule.
    "2026-06": Burst(
        [(n, f"/phone/numbers/{n}/contact-rules") for n in NUMBERS],
        {},
        "active",
        lambda api, url, rule_id, body: api.patch(f"{url}/{rule_id}", json={"status": "paused"}),
        "paused",
    ),
    # 2026-10: create the other direction, which extends the rule (a consolidation).
    "2026-10": Burst(
        [(demo_id("identity", h), f"/identities/{h}/phone-contact-rules") for h in HANDLES],
        {"direction": "inbound"},
        "inbound",
        lambda api, url, rule_id, body: api.post(url, json={**body, "direction": "outbound"}),
        "both",
    ),
}


def rule_writer(
    box: SandboxProcess, burst: Burst, worker: int, ledger: Ledger, stop: threading.Event
) -> None:
    with httpx.Client(base_url=box.api_url, headers=box.headers(), trust_env=False) as api:
        for i in range(100_000):
            if stop.is_set():
                return
            owner, url = burst.owners[i % len(burst.owners)]
            body = {
                "action": "allow",
                "match_type": "exact_number",
                "match_target": f"+1556{worker:02d}{i:06d}",
            }
            try:
                created = api.post(url, json={**body, **burst.create})
                assert created.status_code == 201, created.text
                rule_id = created.json()["id"]
                tracked = ledger.rules[rule_id] = Tracked(owner, {burst.created})
                ledger.ack()
                for op, after in (("second", burst.seconded), ("delete", "deleted")):
                    if (op == "second" and i % 2) or (op == "delete" and i % 3):
                        continue
                    tracked.states = tracked.states | {after}  # in flight: either
                    if op == "second":
                        answer = burst.second(api, url, rule_id, body)
                        assert answer.status_code in (200, 201), answer.text
                        assert answer.json()["id"] == rule_id  # 2026-10: the id of the merge
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


def mode_writer(box: SandboxProcess, ledger: Ledger, stop: threading.Event) -> None:
    """2026-10: flip sales-bot's outbound mode (one write of the identity and its number)."""
    with httpx.Client(base_url=box.api_url, headers=box.headers(), trust_env=False) as api:
        for counter in range(100_000):
            if stop.is_set():
                return
            ledger.mode_pending = counter
            try:
                answer = api.patch(
                    "/identities/sales-bot",
                    json={"phone_outbound_filter_mode": ("blacklist", "whitelist")[counter % 2]},
                )
            except httpx.TransportError:
                return
            assert answer.status_code == 200, answer.text
            ledger.mode_acked, ledger.mode_pending = counter, None
            ledger.ack()


def burst_and_kill(
    box: SandboxProcess, writers: list[Callable[[threading.Event], None]], ledger: Ledger
) -> None:
    """Run the writers until the sandbox acknowledged ACKS_BEFORE_KILL writes, then SIGKILL it.
    A writer's failed assertion (an unexpected answer) fails the test: in a thread it
    would only end that writer, and the others would still reach the count."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def run(writer: Callable[[threading.Event], None]) -> None:
        try:
            writer(stop)
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while ledger.acks < ACKS_BEFORE_KILL and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.005)
        box.kill()  # SIGKILL while the writers are still going
    finally:
        stop.set()
        box.kill()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    assert ledger.acks >= ACKS_BEFORE_KILL


def check_rules(
    ledger: Ledger, survived: dict[str, dict[str, object]], state: str, owner: str
) -> None:
    """Each tracked rule restarted in a state it was acknowledged in (field `state`)."""
    for rule_id, tracked in ledger.rules.items():
        rule = survived.get(rule_id)
        seen = "deleted" if rule is None else rule[state]
        assert seen in tracked.states, (
            f"rule {rule_id}: restarted as {seen}, acknowledged {tracked.states}"
        )
        if rule is not None:
            assert rule[owner] == tracked.owner


def check_hook(ledger: Ledger, sales: dict[str, object]) -> None:
    allowed = {
        f"https://hooks.example.com/{n}"
        for n in (ledger.hook_acked, ledger.hook_pending)
        if n is not None
    }
    assert ledger.hook_acked >= 0
    assert sales["incoming_call_webhook_url"] in allowed


@pytest.mark.parametrize("journal_limit", [None, 3_000], ids=["journal", "compacting"])
def test_sigkill_mid_burst_loses_no_acknowledged_write(
    tmp_path: Path, journal_limit: int | None
) -> None:
    state = tmp_path / "state.json"
    extra = ["--journal-limit", str(journal_limit)] if journal_limit else []
    box = start_sandbox(state, api_version="2026-06", extra_args=extra)
    ledger = Ledger()
    writers = [functools.partial(rule_writer, box, BURSTS["2026-06"], w, ledger) for w in range(8)]
    burst_and_kill(box, [*writers, functools.partial(number_writer, box, ledger)], ledger)

    restarted = start_sandbox(state, api_version="2026-06")
    try:
        survived = {r["id"]: r for r in restarted.get_state()["rules"]}
        sales = next(n for n in restarted.get_state()["numbers"] if n["id"] == SALES)
    finally:
        restarted.stop()
    check_rules(ledger, survived, "status", "phone_number_id")
    check_hook(ledger, sales)


@pytest.mark.parametrize("journal_limit", [None, 3_000], ids=["journal", "compacting"])
def test_a_sigkilled_2026_10_sandbox_keeps_every_acknowledged_write(
    tmp_path: Path, journal_limit: int | None
) -> None:
    state = tmp_path / "state.json"
    extra = ["--journal-limit", str(journal_limit)] if journal_limit else []
    box = start_sandbox(state, api_version="2026-10", extra_args=extra)
    ledger = Ledger()
    writers = [functools.partial(rule_writer, box, BURSTS["2026-10"], w, ledger) for w in range(6)]
    writers += [
        functools.partial(number_writer, box, ledger),
        functools.partial(mode_writer, box, ledger),
    ]
    burst_and_kill(box, writers, ledger)
    # What a restart replays, before it recomputes anything: the mode write stored the
    # identity and its number's mirror as one record, so they agree.
    journal = state.with_name("state.json.journal")
    lines = journal.read_bytes().splitlines(keepends=True) if journal.exists() else []
    raw = replay(json.loads(state.read_bytes()), lines, "journal")
    sales_bot = next(i for i in raw["identities"] if i["agent_handle"] == "sales-bot")
    mirror = next(n for n in raw["numbers"] if n["agent_identity_id"] == sales_bot["id"])
    assert mirror["outbound_filter_mode"] == sales_bot["phone_outbound_filter_mode"]

    restarted = start_sandbox(state, api_version="2026-10")  # the state must load: invariants hold
    try:
        document = restarted.get_state()
    finally:
        restarted.stop()
    check_rules(ledger, {r["id"]: r for r in document["rules"]}, "direction", "agent_identity_id")
    check_hook(ledger, next(n for n in document["numbers"] if n["id"] == SALES))
    identity = next(i for i in document["identities"] if i["agent_handle"] == "sales-bot")
    allowed = {
        ("blacklist", "whitelist")[n % 2]
        for n in (ledger.mode_acked, ledger.mode_pending)
        if n is not None
    }
    assert ledger.mode_acked >= 0
    assert identity["phone_outbound_filter_mode"] in allowed


def test_sigterm_saves_one_complete_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    box = start_sandbox(state, api_version="2026-06")
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
