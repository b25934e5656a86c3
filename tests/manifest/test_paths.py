"""Which files a path argument names: directories, hidden entries, order, errors."""

from __future__ import annotations

from pathlib import Path

from tests.manifest.helpers import assert_error, errors, load_set, write

POLICY = "version: 1\npolicies:\n  {name}: {{}}\n"


def test_directory_reads_yaml_and_yml_sorted_skipping_hidden() -> None:
    write("m/b.yml", POLICY.format(name="b"))
    write("m/a.yaml", POLICY.format(name="a"))
    write("m/sub/c.yaml", POLICY.format(name="c"))
    write("m/notes.txt", "not yaml")
    write("m/.hidden.yaml", "this: [is not read")
    write("m/.github/workflows/ci.yml", "on: push\njobs: {}\n")
    write("m/sub/.cache/x.yaml", "nor: [this")
    assert load_set("m").files == ("m/a.yaml", "m/b.yml", "m/sub/c.yaml")


def test_explicit_files_are_always_read_and_only_once() -> None:
    write("m/.hidden.yaml", POLICY.format(name="h"))
    write("m/manifest.txt", POLICY.format(name="t"))
    write("m/a.yaml", POLICY.format(name="a"))
    loaded = load_set("m/.hidden.yaml", "m/manifest.txt", "m", "m/a.yaml")
    assert loaded.files == ("m/.hidden.yaml", "m/manifest.txt", "m/a.yaml")
    assert loaded.policy_names == ("a", "h", "t")


def test_missing_path_and_empty_directory_are_errors() -> None:
    Path("empty/.git").mkdir(parents=True)
    write("empty/.git/config.yaml", "x: 1\n")
    found = errors("nope.yaml", "empty")
    assert_error(found, "nope.yaml:1:1: no such file or directory")
    assert_error(found, "empty:1:1: no manifest files in this directory")


def test_absolute_paths_stay_absolute(tmp_path: Path) -> None:
    write("a.yaml", "version: 2\n")
    assert errors(tmp_path) == [
        f"{tmp_path}/a.yaml:1:10: version must be 1 (the only manifest format so far), not 2"
    ]
