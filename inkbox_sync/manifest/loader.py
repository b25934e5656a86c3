"""Paths -> DesiredState: the thin edge that reads files and runs every check.

Each stage collects its problems and the next runs on what is still sound, so
one run reports every error in every file; only then, if there were any, one
`ManifestError` carries them all. There is never a partial result.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from inkbox_sync.errors import Diagnostic, ManifestError
from inkbox_sync.gcpause import gc_paused
from inkbox_sync.manifest.files import OnNamed, read_text
from inkbox_sync.manifest.forked import Forked
from inkbox_sync.manifest.normalize import normalize_e164
from inkbox_sync.manifest.resolve import resolve
from inkbox_sync.manifest.schema import HolderSpec, ManifestFile
from inkbox_sync.manifest.sharing import ChildResult, ManifestLoad, Names, OnNote
from inkbox_sync.manifest.structure import Checked, check_document
from inkbox_sync.manifest.yamlnodes import Document, compose
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
    paths: Sequence[Path | str],
    env: Mapping[str, str] | None = None,
    *,
    on_named: OnNamed | None = None,
) -> ManifestSet:
    """Load, validate and merge the manifests at `paths` (files or directories).

    `env` is where `${VAR}` comes from (default: the process environment).
    `on_named`, if given, is told each file's holders that manage their policy as
    soon as that file validates clean, before the others load: for a load that
    succeeds, together exactly the holders for which `planner.rules_wanted` of
    the result is true (a reader can start reading their rules meanwhile).
    Raises ManifestError with every diagnostic when anything is wrong.
    `sharing.ManifestLoad` is the same load, begun early and maybe shared.
    """
    return ManifestLoad(paths, env).finish(on_named)


def finish_load(
    files: Sequence[tuple[str, Path]],
    found: Sequence[Diagnostic],
    env: Mapping[str, str],
    on_named: OnNamed | None,
    own: int,
    child: Forked[tuple[str, Path], ChildResult] | None,
) -> ManifestSet:
    """`ManifestLoad.finish`: compose the first `own` files here, take the rest from
    `child` (or compose them here too), then validate and merge in file order."""
    with gc_paused():
        diagnostics = list(found)

        def note(names: Names) -> None:
            if on_named is not None:
                on_named(*names)

        if child is not None:
            child.listen(note)
        composed = [_compose(file, env, note) for file in files[:own]]
        rest = _from_child(child.results()) if child is not None else None
        if rest is None:  # no child, or it did not deliver: compose those here
            rest = [_compose(file, env, note) for file in files[own:]]
        checked: list[Checked] = []
        for document, problems, result in (*composed, *rest):
            diagnostics.extend(problems)
            if document is None:
                continue
            result = result if result is not None else check_document(document)
            diagnostics.extend(result.diagnostics)
            checked.append(result)
        resolved = resolve(checked)
        diagnostics.extend(resolved.diagnostics)
        if diagnostics:
            raise ManifestError(_unique(diagnostics))
        shown = tuple(name for name, _ in files)
        return ManifestSet(resolved.state, shown, resolved.policy_names)


#: One file read and composed: (its document or None, the problems reading and
#: composing it found, its Checked: None when it is still to be validated).
_Composed = tuple[Document | None, list[Diagnostic], Checked | None]


def _compose(file: tuple[str, Path], env: Mapping[str, str], note: OnNote | None) -> _Composed:
    """Read, compose and validate one file; `note` hears its holders that manage their
    policy when it validates clean."""
    shown, path = file
    text, problems = read_text(shown, path)
    if text is None:
        return None, problems, None
    document, more = compose(shown, text, env)
    problems.extend(more)
    if document is None:
        return None, problems, None
    result = check_document(document)
    clean = not problems and not result.diagnostics
    if note is not None and clean and result.manifest is not None:
        note(_managing(result.manifest))
    return document, problems, result


def compose_in_child(file: tuple[str, Path], env: Mapping[str, str], note: OnNote) -> ChildResult:
    """`_compose` in the forked child: the document goes back pickled as composed, and
    is validated again in the parent (a pydantic model costs more to send than to
    build; validating here is for `note` alone)."""
    shown, path = file
    text, problems = read_text(shown, path)
    if text is None:
        return None, problems
    document, more = compose(shown, text, env)
    problems.extend(more)
    if document is None:
        return None, problems
    sent = pickle.dumps(document, pickle.HIGHEST_PROTOCOL)
    result = check_document(document)
    if not problems and not result.diagnostics and result.manifest is not None:
        note(_managing(result.manifest))
    return sent, problems


def _from_child(results: list[ChildResult] | None) -> list[_Composed] | None:
    if results is None:
        return None
    try:
        return [(pickle.loads(doc) if doc else None, problems, None) for doc, problems in results]
    except Exception:  # a garbled answer: those files are composed here instead
        return None


def load_manifests(
    paths: Sequence[Path | str],
    env: Mapping[str, str] | None = None,
    *,
    on_named: OnNamed | None = None,
) -> DesiredState:
    """The desired state the manifests at `paths` declare; ManifestError if they are
    invalid. `on_named` as for `load_manifest_set`."""
    return load_manifest_set(paths, env, on_named=on_named).state


#: The keys of a holder's entry that manage its policy: the resolved holder then has
#: rules, a mode or an expectation, which is what `planner.rules_wanted` asks.
_POLICY_KEYS: Final = (
    "allow",
    "block",
    "use",
    "filter_mode",
    "inbound_filter_mode",
    "outbound_filter_mode",
    "expect",
)


def _managing(manifest: ManifestFile) -> tuple[list[str], list[str]]:
    """(numbers, agent handles) of `manifest` whose entries manage their policy."""

    def manages(spec: HolderSpec) -> bool:
        return any(getattr(spec, key) is not None for key in _POLICY_KEYS)

    numbers = [normalize_e164(raw) for raw, spec in manifest.numbers.items() if manages(spec)]
    agents = [handle for handle, spec in manifest.agents.items() if manages(spec)]
    return [n for n in numbers if n is not None], agents


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
