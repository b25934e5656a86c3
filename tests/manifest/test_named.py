"""The loader names, file by file, exactly the holders whose policy a plan reads.

`load_manifest_set(on_named=...)` lets `plan` start reading rules before the
last file is loaded; a name the plan would not read could start a read it
does not use, so what is named must be what `planner.rules_wanted` says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inkbox_sync.errors import ManifestError
from inkbox_sync.manifest import load_manifest_set
from inkbox_sync.planner import rules_wanted
from tests.manifest.helpers import write

ROOT = Path(__file__).resolve().parents[2]


def named_while_loading(*paths: str | Path) -> tuple[list[tuple[set[str], set[str]]], object]:
    calls: list[tuple[set[str], set[str]]] = []
    loaded = load_manifest_set(
        list(paths), env={}, on_named=lambda n, a: calls.append((set(n), set(a)))
    )
    return calls, loaded.state


@pytest.mark.parametrize("examples", ["examples", "examples-2026-10"])
def test_the_examples_name_what_the_plan_reads(examples: str) -> None:
    calls, state = named_while_loading(ROOT / examples)
    numbers = set().union(*(n for n, _ in calls))
    agents = set().union(*(a for _, a in calls))
    assert numbers == {k for k, v in state.numbers.items() if rules_wanted(v)}  # type: ignore[attr-defined]
    assert agents == {k for k, v in state.agents.items() if rules_wanted(v)}  # type: ignore[attr-defined]
    assert numbers  # the examples do manage policy


def test_each_key_that_manages_policy_names_its_holder_and_routing_does_not() -> None:
    write(
        "a.yaml",
        """
        version: 1
        policies:
          vip:
            allow: ["+12025550100"]
        numbers:
          "+1 (415) 555-0101": {allow: []}
          "+14155550102": {block: ["+12025550199"]}
          "+14155550103": {use: [vip]}
          "+14155550104": {filter_mode: whitelist}
          "+14155550105": {inbound_filter_mode: whitelist}
          "+14155550106": {expect: {delivered: ["+12025550100"]}}
          "+14155550107": {incoming_call_action: auto_reject}
        agents:
          helper-bot: {outbound_filter_mode: blacklist}
          quiet-bot: {}
        """,
    )
    write(
        "b.yaml",
        """
        version: 1
        numbers:
          "+14155550108": {agent: b-bot}
        """,
    )
    calls, state = named_while_loading("a.yaml", "b.yaml")
    assert calls == [
        (
            {f"+1415555010{i}" for i in range(1, 7)},  # normalised as the loader keys them
            {"helper-bot"},
        ),
        (set(), set()),
    ]
    assert {k for k, v in state.numbers.items() if rules_wanted(v)} == calls[0][0]  # type: ignore[attr-defined]


def test_a_file_with_errors_names_nothing() -> None:
    write("a.yaml", 'version: 1\nnumbers:\n  "+14155550101": {allow: [], allow: []}\n')
    write("b.yaml", 'version: 1\nnumbers:\n  "+14155550102": {allow: []}\n')
    calls: list[object] = []
    with pytest.raises(ManifestError):
        load_manifest_set(["a.yaml", "b.yaml"], env={}, on_named=lambda n, a: calls.append(set(n)))
    assert calls == [{"+14155550102"}]  # b.yaml's; the load fails, so names do not matter
