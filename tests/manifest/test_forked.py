"""A load that shares its composing with a forked child gives what a load alone gives.

`ManifestLoad(share=True)` forks (on Linux, from a process with one thread)
and composes the later files in the child; the result, the diagnostics and
their order, and the holders named while loading must not depend on it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inkbox_sync.errors import ManifestError
from inkbox_sync.manifest import ManifestLoad, load_manifest_set
from inkbox_sync.manifest.forked import Forked
from inkbox_sync.planner import rules_wanted

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the load is shared only on Linux"
)


def fleet(root: Path, files: int = 4, numbers: int = 60, rules: int = 40) -> list[Path]:
    """Manifests big enough to be shared out (ManifestLoad.SHARE_FROM_BYTES)."""
    written = []
    for f in range(files):
        lines = ["version: 1", "numbers:"]
        for n in range(f * numbers, (f + 1) * numbers):
            lines += [f'  "+1415{n:07d}":', "    filter_mode: whitelist", "    allow:"]
            lines += [
                f'      - {{target: "+1202{r:07d}", note: "caller {r} of a long fleet list"}}'
                for r in range(rules)
            ]
        path = root / f"numbers-{f}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    assert sum(p.stat().st_size for p in written) >= ManifestLoad.SHARE_FROM_BYTES
    return written


def loaded(paths: list[Path], share: bool) -> tuple[object, list[set[str]], bool]:
    names: list[set[str]] = []
    load = ManifestLoad(paths, env={}, share=share)
    shared = load._child is not None
    try:
        result = load.finish(lambda numbers, agents: names.append(set(numbers)))
    finally:
        load.close()
    return result, names, shared


def test_a_shared_load_gives_the_same_state_and_names(tmp_path: Path) -> None:
    paths = fleet(tmp_path)
    alone, alone_names, shared = loaded(paths, share=False)
    together, together_names, shared = loaded(paths, share=True)
    assert shared  # the child did the later files
    assert together == alone
    every = set().union(*together_names)
    assert every == set().union(*alone_names)
    assert every == {n for n, d in together.state.numbers.items() if rules_wanted(d)}  # type: ignore[attr-defined]


def test_errors_in_the_childs_files_are_reported_in_file_order(tmp_path: Path) -> None:
    paths = fleet(tmp_path)
    for path, bad in ((paths[0], "sometimes"), (paths[-1], "maybe")):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("filter_mode: whitelist", f"filter_mode: {bad}", 1))
    found = []
    for share in (False, True):
        load = ManifestLoad(paths, env={}, share=share)
        with pytest.raises(ManifestError) as caught:
            load.finish()
        found.append([str(d) for d in caught.value.diagnostics])
    assert found[0] == found[1]
    assert [d.split(":")[0] for d in found[1]] == [str(paths[0]), str(paths[-1])]


def test_a_child_that_dies_is_replaced_by_doing_the_work_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = fleet(tmp_path)

    def die(*args: object) -> None:
        os._exit(3)  # in the child: no answer arrives

    monkeypatch.setattr("inkbox_sync.manifest.loader.compose_in_child", die)
    result, names, shared = loaded(paths, share=True)
    assert shared
    assert result == load_manifest_set(paths, env={})
    assert len(set().union(*names)) == 4 * 60


def test_forked_streams_notes_then_results_and_close_stops_a_child() -> None:
    def square(item: int, note: Callable[[object], None]) -> int:
        note(item * 10)
        return item * item

    forked = Forked.start([1, 2, 3], square)
    assert forked is not None
    notes: list[object] = []
    forked.listen(notes.append)
    assert forked.results() == [1, 4, 9]
    assert notes == [10, 20, 30]
    slow = Forked.start([1], lambda item, note: time.sleep(60))
    assert slow is not None
    slow.close()  # killed and reaped, not waited for (else this test takes a minute)
    assert slow.results() is None


def test_no_child_from_a_process_with_threads() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert Forked.start([1], lambda item, note: item) is None
    finally:
        stop.set()
        other.join()
