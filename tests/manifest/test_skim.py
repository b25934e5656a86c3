"""Skimming is exact or silent: for a text that composes, `skim` gives what the
composer's data names (`loader._managing`), or None.

A name skimming got wrong could make a plan read the org-wide listing when it
would not have chosen it, so every case here is held against the composer.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkbox_sync.manifest.loader import _managing
from inkbox_sync.manifest.skim import normalized, skim
from inkbox_sync.manifest.yamlnodes import compose

ROOT = Path(__file__).resolve().parents[2]


def composed_names(text: str) -> tuple[list[str], list[str]] | None:
    """What the loader names for `text` once composed; None if it does not compose."""
    document, problems = compose("m.yaml", text, {"ENV": "prod"})
    if document is None or problems:
        return None
    return _managing(document.data)


def skimmed_names(text: str) -> tuple[list[str], list[str]] | None:
    found = skim(text)
    return None if found is None else normalized(*found)


def agrees(text: str) -> tuple[list[str], list[str]] | None:
    """The skimmed names, after checking them against the composer's."""
    skimmed = skimmed_names(text)
    composed = composed_names(text)
    if skimmed is not None and composed is not None:  # (a text that fails fails the load)
        assert skimmed == composed, text
    return skimmed


def test_the_fleet_and_example_files_skim_to_what_the_composer_names() -> None:
    files = [
        *sorted((ROOT / "examples").rglob("*.yaml")),
        *sorted((ROOT / "examples-2026-10").rglob("*.yaml")),
    ]
    assert files
    for path in files:
        text = path.read_text()
        assert skimmed_names(text) is not None, path  # written plainly: all skim
        assert agrees(text) == composed_names(text), path


PLAIN = """\
# yaml-language-server: $schema=../schemas/manifest.schema.json
version: 1
policies:
  vip:
    allow: ["+14155550100", '+14155550101']
numbers:
  "+14155550001":
    agent: support-bot
    incoming_call_webhook_url: https://hooks.example.com/x/${ENV:-prod}#frag
    allow:
      - "+14155550123"   # a comment
      - target: "+14155550124"
        note: "new partner: enable # later"
    block: []
  '+14155550002':
    incoming_call_action: auto_reject
  "+1 (415) 555-0003":
    use:
    - vip
  "+14155550004":
    allow: ~
  "+14155550005":
    allow: null   # null: not managed
    filter_mode: whitelist
  "+14155550006":
agents:
  helper-bot:
    outbound_filter_mode: blacklist
  quiet-bot:
    expect:
      delivered: ["+14155550100"]
"""


def test_a_plain_manifest_skims_to_exactly_the_composed_names() -> None:
    assert agrees(PLAIN) == (
        ["+14155550001", "+14155550003", "+14155550005"],
        ["helper-bot", "quiet-bot"],
    )


@pytest.mark.parametrize(
    "text",
    [
        # a multi-line quoted scalar whose second line looks like an entry
        "numbers:\n  '+14155550001':\n    note: 'abc\n  \"+14155550002\":\n    allow: []\n  '\n",
        'numbers:\n  "+14155550001":\n    note: "abc\n      def"\n    allow: []\n',
        # a flow collection over two lines
        'numbers:\n  "+14155550001":\n    allow: ["+14155550100",\n      "+14155550101"]\n',
        # a block scalar
        'numbers:\n  "+14155550001":\n    description: |\n      allow: []\n    block: []\n',
        # anchors, aliases, tags, complex keys, directives, documents, tabs, CRs
        'numbers:\n  "+14155550001": &a\n    allow: []\n  "+14155550002": *a\n',
        'numbers:\n  "+14155550001":\n    allow: !!null\n',
        'numbers:\n  ? "+14155550001"\n  : allow: []\n',
        '%YAML 1.1\n---\nnumbers:\n  "+14155550001":\n    allow: []\n',
        'numbers:\n  "+14155550001":\n    allow: []\n---\nnumbers: {}\n',
        'numbers:\n  "+14155550001":\n\tallow: []\n',
        'numbers:\r\n  "+14155550001":\r\n    allow: []\r\n',
        # entries written on one line, or a section that is not a block mapping
        'numbers:\n  "+14155550001": {allow: []}\n',
        'numbers: {"+14155550001": {allow: []}}\n',
        # a value on the next line that may be null, or a plain scalar going on
        'numbers:\n  "+14155550001":\n    allow:\n      ~\n',
        'numbers:\n  "+14155550001":\n    allow: ~\n      x\n',
        # the whole document indented; line breaks only libyaml sees
        '  numbers:\n    "+14155550001":\n      allow: []\n',
        'numbers:\n  "+14155550001":\n    note: a # c\u2028    allow: [x]\n',
        # a space before the colon
        'numbers :\n  "+14155550001":\n    allow: []\n',
        'numbers:\n  "+14155550001":\n    allow : []\n',
        # a key whose spelling needs an escape to read
        'numbers:\n  "+1415555\\u00300001":\n    allow: []\n',
    ],
)
def test_what_skimming_cannot_be_sure_of_it_leaves_to_the_composer(text: str) -> None:
    assert skim(text) is None


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ('---\nnumbers:\n  "+14155550001":\n    allow: []\n', ["+14155550001"]),
        ('numbers:\n    "+14155550001":\n        allow:\n        - "+1"\n', ["+14155550001"]),
        ('numbers:\n  "+14155550001":\n    allow:\n    block: ~\n', []),  # both null
        ('numbers:\n  "+14155550001":\n    "allow": "x"\n', ["+14155550001"]),
        ('numbers:\n  "+14155550001":\n    note: x\n', []),
        ('numbers:\n  "+14155550001":\n    allow: # none yet\n', []),  # a comment is no value
        ('numbers:\n  "+14155550001":\n    allow:\n    -x: 1\n', []),  # `-x` is a key
        ('numbers:\n  "+14155550001":\n    allow:\n      - "+1"\n', ["+14155550001"]),
        ("numbers:\n", []),
        # a plain scalar over two lines: its second line is deeper than its key
        ('numbers:\n  "+14155550001":\n    note: a\n      b\n    allow: []\n', ["+14155550001"]),
    ],
)
def test_small_texts_skim_as_the_composer_reads_them(text: str, numbers: list[str]) -> None:
    assert composed_names(text) is not None
    skimmed = agrees(text)
    assert skimmed is not None and skimmed[0] == numbers


# Generated manifests: holders with any mix of keys and values, dumped by PyYAML
# in block or flow style, then edited by hand the way people do (comments,
# deeper indentation). Skimming must agree or say None, never differ.
_values = st.one_of(
    st.none(),
    st.sampled_from(["whitelist", "blacklist", "", "null", "~", "a: b", "x #y", "'q'"]),
    st.lists(st.sampled_from(["+14155550100", "vip", "x"]), max_size=3),
    st.lists(
        st.fixed_dictionaries(
            {"target": st.sampled_from(["+14155550100", "+1 415"])},
            optional={"note": st.text(max_size=8), "status": st.just("paused")},
        ),
        max_size=2,
    ),
)
_keys = st.sampled_from(
    [
        "allow",
        "block",
        "use",
        "filter_mode",
        "inbound_filter_mode",
        "expect",
        "agent",
        "note",
        "incoming_call_action",
    ]
)
_entry = st.one_of(st.none(), st.dictionaries(_keys, _values, max_size=4))
_numbers = st.dictionaries(
    st.sampled_from(["+14155550001", "+14155550002", "+1 (415) 555-0003", "nope"]),
    _entry,
    max_size=3,
)
_documents = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "numbers": _numbers,
        "agents": st.dictionaries(st.sampled_from(["a-bot", "b-bot"]), _entry, max_size=2),
        "notes": st.text(max_size=20),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=_documents,
    flow=st.sampled_from([False, None]),
    indent=st.sampled_from([2, 4]),
    comment=st.booleans(),
    width=st.sampled_from([20, 80]),
)
def test_generated_manifests_skim_exactly_or_not_at_all(
    document: dict[str, object], flow: bool | None, indent: int, comment: bool, width: int
) -> None:
    text = yaml.safe_dump(
        document, default_flow_style=flow, indent=indent, sort_keys=False, width=width
    )
    if comment:
        text = "# managed by hand\n" + text.replace("\n", "  # note\n", 1)
    agrees(text)
    agrees(text + "\n\n")
    agrees(textwrap.indent(text, "  "))  # the whole document indented


def test_generated_block_manifests_do_skim() -> None:
    # (that the property above is not met by saying None to everything)
    document = {
        "version": 1,
        "numbers": {"+14155550001": {"allow": ["+14155550100"], "note": "x"}},
    }
    text = yaml.safe_dump(document, default_flow_style=False, sort_keys=False)
    assert agrees(text) == (["+14155550001"], [])
