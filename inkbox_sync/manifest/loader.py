"""Paths -> DesiredState: the thin edge that reads files and runs every check.

Each stage collects its problems and the next runs on what is still sound, so
one run reports every error in every file; only then, if there were any, one
`ManifestError` carries them all. There is never a partial result.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inkbox_sync.errors import Diagnostic, ManifestError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.files import OnNamed, ReadFile, read_manifests
from inkbox_sync.manifest.skim import MANAGING_KEYS, normalized, skim_texts
from inkbox_sync.manifest.yamlnodes import Document, compose
from inkbox_sync.model import DesiredPolicy, DesiredState

if TYPE_CHECKING:
    from inkbox_sync.manifest.structure import Checked


@dataclass(frozen=True, slots=True)
class ManifestSet:
    """Everything one load produced: the desired state and what it came from."""

    state: DesiredState
    files: tuple[str, ...]
    policy_names: tuple[str, ...]

    @property
    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "numbers": len(self.state.numbers),
            "agents": len(self.state.agents),
            "rules": _rule_rows(self.state),
            "policies": len(self.policy_names),
        }


def load_manifest_set(
    paths: Sequence[Path | str],
    env: Mapping[str, str] | None = None,
    *,
    on_named: OnNamed | None = None,
) -> ManifestSet:
    """Load, validate and merge the manifests at `paths` (files or directories).

    `env` is where `${VAR}` comes from (default: the process environment).
    `on_named`, if given, is told the holders of each file that manage their
    policy, before the file is validated: first those of every file that skims
    (`manifest.skim`), then those of each other file once it is composed. For a
    load that succeeds, together exactly the holders for which
    `planner.rules_wanted` of the result is true (a reader can start reading
    their rules meanwhile).
    Raises ManifestError with every diagnostic when anything is wrong.
    """
    return load_read(*read_manifests(paths), env, on_named=on_named)


def load_read(
    read: list[ReadFile],
    problems: list[Diagnostic],
    env: Mapping[str, str] | None = None,
    *,
    on_named: OnNamed | None = None,
    unnamed: Collection[str] | None = None,
) -> ManifestSet:
    """`load_manifest_set` of files already read, and the problems finding them
    (`files.read_manifests`). `unnamed`: the files whose holders `on_named` is to
    be told once composed, the caller having told those of the others (skimmed
    them); None: skim them here first."""
    environment = os.environ if env is None else env
    with gc_paused():
        if on_named is not None and unnamed is None:
            unnamed = skim_texts(read, on_named)
        return _load(read, problems, environment, on_named, unnamed or ())


def _load(
    read: list[ReadFile],
    walk_problems: list[Diagnostic],
    environment: Mapping[str, str],
    on_named: OnNamed | None,
    unnamed: Collection[str],
) -> ManifestSet:
    diagnostics = list(walk_problems)
    composed: list[tuple[Document | None, list[Diagnostic]]] = []
    for shown, text, found in read:
        document = None
        if text is not None:
            document, more = compose(shown, text, environment)
            found.extend(more)
        composed.append((document, found))
        if on_named is not None and shown in unnamed and document is not None and not found:
            on_named(*_managing(document.data))
    # Validating needs pydantic, imported only now: a plan's reads start on the
    # holders the files name while it loads (the first use costs ~0.1 s).
    from inkbox_sync.manifest.resolve import resolve
    from inkbox_sync.manifest.structure import check_document

    checked: list[Checked] = []
    for document, problems in composed:
        diagnostics.extend(problems)
        if document is None:
            continue
        result = check_document(document)
        diagnostics.extend(result.diagnostics)
        checked.append(result)
    resolved = resolve(checked)
    diagnostics.extend(resolved.diagnostics)
    if diagnostics:
        raise ManifestError(_unique(diagnostics))
    return ManifestSet(resolved.state, tuple(shown for shown, _, _ in read), resolved.policy_names)


def load_manifests(
    paths: Sequence[Path | str],
    env: Mapping[str, str] | None = None,
    *,
    on_named: OnNamed | None = None,
) -> DesiredState:
    """The desired state the manifests at `paths` declare; ManifestError if they are
    invalid. `on_named` as for `load_manifest_set`."""
    return load_manifest_set(paths, env, on_named=on_named).state


def _managing(data: object) -> tuple[list[str], list[str]]:
    """(numbers, agent handles) of a composed manifest whose entries manage their
    policy. Read from the composed data, before validation: for a file that then
    validates, an entry's keys are its validated fields, so these are the
    holders the loaded state manages; a file that does not validate fails the
    load, and then nothing named matters."""
    numbers: list[str] = []
    agents: list[str] = []
    if isinstance(data, dict):
        for section, out in (("numbers", numbers), ("agents", agents)):
            entries = data.get(section)
            if isinstance(entries, dict):
                out.extend(
                    key
                    for key, entry in entries.items()
                    if isinstance(entry, dict)
                    and any(entry.get(name) is not None for name in MANAGING_KEYS)
                )
    return normalized(numbers, agents)


def _rule_rows(state: DesiredState) -> int:
    """The rules apply would manage: one per target, two where a target's sides differ."""
    holders: list[DesiredPolicy] = [*state.numbers.values(), *state.agents.values()]
    return sum(
        len(h.rules) + sum(type(e) is tuple for e in h.rules.values())
        for h in holders
        if h.rules is not None
    )


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
