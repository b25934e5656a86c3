"""Paths -> DesiredState: the thin edge that reads files and runs every check.

Each stage collects its problems and the next runs on what is still sound, so
one run reports every error in every file; only then, if there were any, one
`ManifestError` carries them all. There is never a partial result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inkbox_sync.errors import Diagnostic, ManifestError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.files import manifest_files, read_text
from inkbox_sync.manifest.resolve import resolve
from inkbox_sync.manifest.structure import Checked, check_document
from inkbox_sync.manifest.yamlnodes import compose
from inkbox_sync.model import DesiredPolicy, DesiredState


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
    paths: Sequence[Path | str], env: Mapping[str, str] | None = None
) -> ManifestSet:
    """Load, validate and merge the manifests at `paths` (files or directories).

    `env` is where `${VAR}` comes from (default: the process environment).
    Raises ManifestError with every diagnostic when anything is wrong.
    """
    environment = os.environ if env is None else env
    with gc_paused():
        return _load(paths, environment)


def _load(paths: Sequence[Path | str], environment: Mapping[str, str]) -> ManifestSet:
    files, diagnostics = manifest_files(paths)
    checked: list[Checked] = []
    for shown, path in files:
        text, problems = read_text(shown, path)
        diagnostics.extend(problems)
        if text is None:
            continue
        document, problems = compose(shown, text, environment)
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
    return ManifestSet(resolved.state, tuple(shown for shown, _ in files), resolved.policy_names)


def load_manifests(
    paths: Sequence[Path | str], env: Mapping[str, str] | None = None
) -> DesiredState:
    """The desired state the manifests at `paths` declare; ManifestError if they are invalid."""
    return load_manifest_set(paths, env).state


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
