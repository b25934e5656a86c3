"""Loading in a forked child: the same result, names and errors as loading here.

The handoff is tested in this process. The child is tested from a fresh
interpreter (`run`): `ChildLoad` forks only a process with one thread, and
pytest's may have more.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.manifest.handoff import Decoder, encode
from inkbox_sync.model import DesiredState
from tests.manifest.helpers import write

ROOT = Path(__file__).resolve().parents[2]


def fleet(numbers: int = 30, rules: int = 40) -> str:
    lines = ["version: 1", "policies:", "  vip:", "    allow:"]
    lines += [f'      - "+1202555{i:04d}"' for i in range(5)]
    lines += ["numbers:"]
    for n in range(numbers):
        lines += [
            f'  "+1415000{n:04d}":',
            "    filter_mode: blacklist",
            "    use: [vip]",
            "    expect:",
            '      delivered: ["+12025550000"]',
            "    allow:",
        ]
        lines += [f'      - "+1300000{r:04d}"' for r in range(0, rules, 2)]
        lines += [
            "    block:",
            '      - {target: "+13009990000", direction: inbound, note: "a note"}',
        ]
        lines += [f'      - target: "+1300000{r:04d}"' for r in range(1, rules, 2)]
    lines += ["agents:", "  helper-bot:", "    outbound_filter_mode: whitelist", "    allow: []"]
    return "\n".join(lines) + "\n"


def round_trip(state: DesiredState, rules_per_chunk: int) -> DesiredState:
    decoder = Decoder()
    for chunk in encode(state, rules_per_chunk):
        decoder.add(chunk)
    return decoder.state()


@pytest.mark.parametrize("rules_per_chunk", [1, 7, 10_000])
def test_the_handoff_gives_back_an_equal_state_sharing_what_was_shared(
    rules_per_chunk: int,
) -> None:
    write("fleet.yaml", fleet())
    state = load_manifest_set(["fleet.yaml"], env={}).state
    back = round_trip(state, rules_per_chunk)
    assert back == state
    assert list(back.numbers) == list(state.numbers)  # in order
    assert back.key_locations == state.key_locations and back.key_locations
    first, second = (back.numbers[n].rules for n in ("+14150000000", "+14150000001"))
    assert first is not None and second is not None
    assert first["+12025550000"] is second["+12025550000"]  # the policy's rule, once


@pytest.mark.parametrize("examples", ["examples", "examples-2026-10"])
def test_the_examples_survive_the_handoff(examples: str) -> None:
    state = load_manifest_set([ROOT / examples], env={"ENV": "prod"}).state
    assert round_trip(state, 3) == state


def test_a_decoder_without_its_last_chunk_says_so() -> None:
    write("fleet.yaml", fleet(3, 4))
    chunks = list(encode(load_manifest_set(["fleet.yaml"], env={}).state, 2))
    decoder = Decoder()
    for chunk in chunks[:-1]:
        decoder.add(chunk)
    with pytest.raises(ValueError, match="missing"):
        decoder.state()


def run(script: str, cwd: Path) -> list[object]:
    """Run `script` in a fresh interpreter; what it printed, a JSON value a line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_child_loads_what_this_process_would_and_names_as_it_goes(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(fleet(20, 10))
    (tmp_path / "b.yaml").write_text(
        'version: 1\nnumbers:\n  "+14159990001": {allow: []}\n  "+14159990002":\n'
        "    incoming_call_action: auto_reject\n"
    )
    out = run(
        """
        import json, os
        from inkbox_sync.manifest import load_manifest_set
        from inkbox_sync.manifest.offload import ChildLoad
        child = ChildLoad.start(["."])
        print(json.dumps(child is not None))
        names = []
        state = child.result(lambda n, a: names.append([sorted(n), sorted(a)]))
        print(json.dumps(state == load_manifest_set(["."]).state))
        print(json.dumps(names))
        try:
            os.waitpid(child._pid, os.WNOHANG)
            print(json.dumps("not reaped"))
        except ChildProcessError:
            print(json.dumps("reaped"))
        """,
        tmp_path,
    )
    assert out[:2] == [True, True]
    numbers = {n for named, _ in out[2] for n in named}  # type: ignore[attr-defined]
    assert numbers == {f"+1415000{n:04d}" for n in range(20)} | {"+14159990001"}
    assert ["helper-bot"] in [agents for _, agents in out[2]]  # type: ignore[attr-defined]
    assert out[3] == "reaped"


def test_the_childs_manifest_errors_are_the_ones_this_process_finds(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        'version: 1\nnumbers:\n  "+14155550001":\n    allow: [x]\n    filter_mode: maybe\n'
    )
    (tmp_path / "b.yaml").write_text('version: 1\nnumbers:\n  "+14155550001": {allow: []}\n')
    out = run(
        """
        import json
        from inkbox_sync.errors import ManifestError
        from inkbox_sync.manifest import load_manifest_set
        from inkbox_sync.manifest.offload import ChildLoad

        def diagnostics(load):
            try:
                load()
            except ManifestError as exc:
                return [str(d) for d in exc.diagnostics]
            return None

        child = ChildLoad.start(["."])
        print(json.dumps(diagnostics(child.result)))
        print(json.dumps(diagnostics(lambda: load_manifest_set(["."]))))
        """,
        tmp_path,
    )
    assert out[0] == out[1]
    assert out[0] and len(out[0]) >= 3  # type: ignore[arg-type]


def test_a_child_that_dies_or_crashes_is_a_bug_shown_as_one(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(fleet(200, 50))
    out = run(
        """
        import json, os, signal
        from inkbox_sync.manifest import loader
        from inkbox_sync.manifest.offload import ChildLoad, LoaderCrashed

        child = ChildLoad.start(["."])
        os.kill(child._pid, signal.SIGKILL)
        try:
            child.result()
        except LoaderCrashed as exc:
            print(json.dumps(str(exc)))

        def broken(*args, **kwargs):
            raise KeyError("a bug in the loader")

        loader.load_read = broken  # the child forks with this
        child = ChildLoad.start(["."])
        try:
            child.result()
        except LoaderCrashed as exc:
            print(json.dumps(str(exc)))
        """,
        tmp_path,
    )
    assert out[0] == "the manifest loader ended early (killed by signal 9)"
    assert "Traceback" in out[1] and "KeyError: 'a bug in the loader'" in out[1]  # type: ignore[operator]


def test_leaving_the_block_ends_a_child_still_loading_and_threads_mean_no_fork(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(fleet(300, 60))
    out = run(
        """
        import json, os, threading
        from inkbox_sync.manifest import offload

        with offload.loading(["."]) as load:
            pass  # never waited for
        children = [p for p in os.listdir("/proc") if p.isdigit()
                    and open(f"/proc/{p}/stat").read().split()[3] == str(os.getpid())]
        print(json.dumps(children))

        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        print(json.dumps(offload.ChildLoad.start(["."]) is None))
        with offload.loading(["."]) as load:
            print(json.dumps(len(load(None).numbers)))  # loaded here, in a thread
        stop.set()
        """,
        tmp_path,
    )
    assert out == [[], True, 300]


def test_closing_from_another_thread_ends_a_wait_on_the_child_at_once(tmp_path: Path) -> None:
    # The command ending (a second Ctrl-C) while a worker thread waits for the child:
    # the child is killed first, so the worker sees the pipe's end instead of hanging.
    (tmp_path / "a.yaml").write_text(fleet(1000, 60))
    out = run(
        """
        import json, threading, time
        from inkbox_sync.manifest.offload import ChildLoad, LoaderCrashed

        child = ChildLoad.start(["."])
        seen = []

        def wait():
            try:
                child.result()
                seen.append("loaded")
            except LoaderCrashed as exc:
                seen.append(str(exc))

        worker = threading.Thread(target=wait)
        worker.start()
        time.sleep(0.05)
        began = time.monotonic()
        child.close()
        worker.join(10)
        print(json.dumps([seen, time.monotonic() - began < 2, worker.is_alive()]))
        """,
        tmp_path,
    )
    assert out == [[["the manifest loader ended early (killed by signal 9)"], True, False]]


def test_a_state_that_cannot_be_handed_over_is_shown_as_a_bug(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(fleet(2, 2))
    out = run(
        """
        import json
        from inkbox_sync.manifest import handoff
        from inkbox_sync.manifest.offload import ChildLoad, LoaderCrashed

        def unmarshallable(state, rules_per_chunk=10_000):
            raise ValueError("unmarshallable object")
            yield b""

        handoff.encode = unmarshallable  # the child forks with this
        try:
            ChildLoad.start(["."]).result()
        except LoaderCrashed as exc:
            print(json.dumps(str(exc)))
        """,
        tmp_path,
    )
    assert "ValueError: unmarshallable object" in out[0]  # type: ignore[operator]
